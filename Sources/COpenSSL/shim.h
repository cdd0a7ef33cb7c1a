// OpenSSL 3 (Debian libssl-dev): TLS interception (terminatingTLS/originatingTLS) and HTTPS
// clients. What Swift cannot import (function-like macros such as SSL_set_tlsext_host_name,
// SSL_CTX_set_min_proto_version) is wrapped below as static inline functions named sluice_*.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/evp.h>

static inline long sluice_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long sluice_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long sluice_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long sluice_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline const char *sluice_SSL_get_servername(const SSL *ssl) {
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}
static inline int sluice_BIO_get_ktls_send(SSL *ssl) { return BIO_get_ktls_send(SSL_get_wbio(ssl)); }
static inline int sluice_BIO_get_ktls_recv(SSL *ssl) { return BIO_get_ktls_recv(SSL_get_rbio(ssl)); }
/// The server side's ALPN choice: h2 when the client offers it, else http/1.1, else no ALPN;
/// http/1.1 only when the connection was marked with sluice_SSL_select_http1_only (its
/// upstream speaks no h2: Sources/Proxy/TLS/TLSAcceptor.swift). A marked connection whose
/// client offers no http/1.1 (only h2, as nghttp) fails the handshake with the
/// no_application_protocol alert (RFC 7301 3.2; the handshake error's reason is
/// SSL_R_NO_APPLICATION_PROTOCOL, which TLSPeer reports as ENOPROTOOPT).
static inline int sluice_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                     const unsigned char *in, unsigned int inlen, void *arg) {
    (void)arg;
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char http1[] = "\x08http/1.1";
    int only1 = SSL_get_ex_data(ssl, 0) != NULL;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, only1 ? http1 : both,
                              only1 ? sizeof(http1) - 1 : sizeof(both) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
        return only1 ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}
static inline void sluice_SSL_CTX_offer_h2_and_http1(SSL_CTX *ctx) {
    SSL_CTX_set_alpn_select_cb(ctx, sluice_alpn_select, NULL);
}
/// Marks a server connection so that ALPN never selects h2 (application data slot 0).
static inline void sluice_SSL_select_http1_only(SSL *ssl) { SSL_set_ex_data(ssl, 0, (void *)1); }
/// Kernel TLS offload (used only when the kernel's tls module and the cipher allow it).
static inline uint64_t sluice_SSL_OP_ENABLE_KTLS(void) { return SSL_OP_ENABLE_KTLS; }
/// A peer's EOF without close_notify reads as an orderly end (OpenSSL 3 otherwise fails the read:
/// bodies that end with the connection need the EOF).
static inline uint64_t sluice_SSL_OP_IGNORE_UNEXPECTED_EOF(void) { return SSL_OP_IGNORE_UNEXPECTED_EOF; }
