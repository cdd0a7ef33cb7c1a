// OpenSSL 3 (Debian libssl-dev): TLS interception (terminatingTLS/originatingTLS) and HTTPS
// clients. What Swift cannot import (function-like macros such as SSL_set_tlsext_host_name,
// SSL_CTX_set_min_proto_version) is wrapped below as static inline functions named sluice_*.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>
