// libnghttp2 (Debian libnghttp2-dev, 1.52): the HTTP/2 framing, HPACK and flow control behind
// Sources/HTTP2. Only HTTP2 imports this module.
#include <nghttp2/nghttp2.h>
