// Datagram shims for the transparent DNS proxy (Sources/Proxy/DNS*.swift): recvmsg with the
// IP_ORIGDSTADDR control message, sendto, and the sockets the steering recipe needs
// (docs: /work/shared/reference/steering-recipe.md, "DNS over UDP"). IPv4 only, like the rest of
// the datapath. Return values: a count or descriptor on success, a negative errno on failure.
#ifndef CSLUICE_DNS_H
#define CSLUICE_DNS_H
#include <stddef.h>
#include <stdint.h>

/// recvmsg(MSG_DONTWAIT) of one datagram into buf. Fills the sender's address and port and, when
/// the socket has IP_RECVORIGDSTADDR, the address and port it was sent to (IP_ORIGDSTADDR cmsg;
/// both 0 when the message carries none). *truncated is 1 when the datagram did not fit
/// (MSG_TRUNC). Returns the bytes stored, or -errno (-EAGAIN when the queue is empty).
/// Called by DNSUDPListener and DNSForwarder on their loop thread.
int CSluice_udp_recv4(int fd, void *buf, size_t len, uint32_t *src_addr_be, uint16_t *src_port,
                      uint32_t *orig_addr_be, uint16_t *orig_port, int *truncated);

/// sendto(MSG_DONTWAIT | MSG_NOSIGNAL) of one datagram to addr:port. Returns bytes or -errno.
int CSluice_udp_send4(int fd, const void *buf, size_t len, uint32_t addr_be, uint16_t port);

/// A non-blocking UDP socket for answering from a non-local address: IP_TRANSPARENT and
/// SO_REUSEADDR (every worker binds the same original destination), bound to addr:port.
/// Nothing is read from it. Returns the fd or -errno.
int CSluice_udp_reply_socket4(uint32_t addr_be, uint16_t port);

/// A non-blocking, unbound UDP socket with SO_MARK mark (0 = none) for upstream queries; the
/// kernel picks the source port at the first sendto. Returns the fd or -errno.
int CSluice_udp_upstream_socket4(uint32_t mark);
/// getsockname of an IPv4 socket: its bound address and port. Returns 0 or -errno.
int CSluice_sock_local4(int fd, uint32_t *addr_be, uint16_t *port);
#endif
