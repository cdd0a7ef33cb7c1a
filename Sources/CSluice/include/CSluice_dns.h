// Datagram shims for the transparent DNS proxy (Sources/Proxy/DNS*.swift): recvmmsg with the
// IP_ORIGDSTADDR control message, sendto, and the sockets the steering recipe needs
// (docs: /work/shared/reference/steering-recipe.md, "DNS over UDP"). IPv4 only, like the rest of
// the datapath. Return values: a count or descriptor on success, a negative errno on failure.
#ifndef CSLUICE_DNS_H
#define CSLUICE_DNS_H
#include <stddef.h>
#include <stdint.h>

/// One datagram of CSluice_udp_recv4_batch: the sender's address and port; when the socket has
/// IP_RECVORIGDSTADDR, the address and port it was sent to (IP_ORIGDSTADDR cmsg; both 0 when the
/// message carries none); the bytes stored; truncated = 1 when it did not fit (MSG_TRUNC).
/// Called by DNSUDPListener and DNSForwarder on their loop thread.
typedef struct {
    uint32_t src_addr_be;
    uint32_t orig_addr_be;
    uint16_t src_port;
    uint16_t orig_port;
    int32_t length;
    int32_t truncated;
} CSluice_udp_datagram;

/// Most datagrams one CSluice_udp_recv4_batch call takes.
#define CSLUICE_UDP_BATCH_MAX 64

/// recvmmsg(MSG_DONTWAIT) of up to count (<= CSLUICE_UDP_BATCH_MAX) datagrams, the i-th into
/// buf + i * slot (slot bytes each), described in out[i]. Returns how many were received (>= 1),
/// or -errno when none was (-EAGAIN when the queue is empty).
int CSluice_udp_recv4_batch(int fd, void *buf, size_t slot, CSluice_udp_datagram *out, int count);

/// One datagram for CSluice_udp_send4_batch: its bytes and where it goes.
typedef struct {
    const void *base;
    uint32_t length;
    uint32_t addr_be;
    uint16_t port;
} CSluice_udp_out;

/// sendmmsg(MSG_DONTWAIT | MSG_NOSIGNAL) of up to count (<= CSLUICE_UDP_BATCH_MAX) datagrams on
/// one socket. Returns how many were sent from the first (>= 1), or -errno when the first failed.
int CSluice_udp_send4_batch(int fd, const CSluice_udp_out *msgs, int count);

/// CSluice_udp_send4_batch with SO_MARK marks[i] on the i-th datagram (an SOL_SOCKET/SO_MARK
/// control message each; needs CAP_NET_ADMIN or CAP_NET_RAW): the DNS forwarder's queries of one
/// round, each marked with its client's identity, in one sendmmsg. Same return values.
int CSluice_udp_send4_batch_mark(int fd, const CSluice_udp_out *msgs, const uint32_t *marks, int count);

/// sendto(MSG_DONTWAIT | MSG_NOSIGNAL) of one datagram to addr:port. Returns bytes or -errno.
int CSluice_udp_send4(int fd, const void *buf, size_t len, uint32_t addr_be, uint16_t port);

/// sendmsg of one datagram to addr_be:port with SO_MARK `mark` for this datagram only (an
/// SOL_SOCKET/SO_MARK control message; needs CAP_NET_ADMIN or CAP_NET_RAW). Returns the bytes
/// sent or -errno. The DNS forwarder shares one socket among clients and marks each query with
/// its client's identity this way.
int CSluice_udp_send4_mark(int fd, const void *buf, size_t len, uint32_t addr_be, uint16_t port, uint32_t mark);

/// A non-blocking UDP socket for answering from a non-local address: IP_TRANSPARENT and
/// SO_REUSEADDR (every worker binds the same original destination), bound to addr:port.
/// Nothing is read from it. Returns the fd or -errno.
int CSluice_udp_reply_socket4(uint32_t addr_be, uint16_t port);

/// A non-blocking, unbound UDP socket with SO_MARK mark (0 = none) for upstream queries; the
/// kernel picks the source port at the first sendto. Returns the fd or -errno.
int CSluice_udp_upstream_socket4(uint32_t mark);
/// getsockname of an IPv4 socket: its bound address and port. Returns 0 or -errno.
int CSluice_sock_local4(int fd, uint32_t *addr_be, uint16_t *port);
/// getrandom(2) with flags 0 (the kernel CSPRNG) until `len` bytes are filled. Returns 0 or -errno.
int CSluice_getrandom(void *buf, size_t len);
#endif
