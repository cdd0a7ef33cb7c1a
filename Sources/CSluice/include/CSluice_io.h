// I/O shims for SluiceIO: epoll with an unpacked event struct, socket options Glibc does not
// export to Swift, and a few syscall wrappers. Each keeps its C name behind CSluice_.
#ifndef CSLUICE_IO_H
#define CSLUICE_IO_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

/// epoll_event is packed on x86_64 and its data member is a union: Swift gets this plain copy.
typedef struct {
    uint32_t events;
    uint64_t data;
} CSluice_epoll_event;

enum {
    CSluice_EPOLLIN = 0x001,
    CSluice_EPOLLOUT = 0x004,
    CSluice_EPOLLERR = 0x008,
    CSluice_EPOLLHUP = 0x010,
    CSluice_EPOLLRDHUP = 0x2000,
};
/// EPOLLET (1u << 31) does not fit a C enum that Swift imports as Int32.
static const uint32_t CSluice_EPOLLET_BIT = 1u << 31;
static const int CSluice_EPOLL_CTL_ADD = 1;
static const int CSluice_EPOLL_CTL_DEL = 2;
static const int CSluice_EPOLL_CTL_MOD = 3;

int CSluice_epoll_create(void);
/// epoll_ctl(op, fd) with the given events and 64-bit user data.
int CSluice_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait into `out` (max entries); returns count or -1 with errno.
int CSluice_epoll_wait(int epfd, CSluice_epoll_event *out, int max, int timeout_ms);

int CSluice_eventfd(void);
int CSluice_eventfd_signal(int fd);
int CSluice_eventfd_drain(int fd);

/// A non-blocking, close-on-exec TCP listener on addr:port (IPv4, network-order addr).
/// transparent: IP_TRANSPARENT; reuseport: SO_REUSEPORT. Returns fd or -errno.
int CSluice_tcp_listen4(uint32_t addr_be, uint16_t port, int backlog, int transparent, int reuseport);
/// A non-blocking UDP socket bound to addr:port. transparent also sets IP_RECVORIGDSTADDR.
int CSluice_udp_bind4(uint32_t addr_be, uint16_t port, int transparent, int reuseport, int reuseaddr);
/// TCP_DEFER_ACCEPT: accept(2) returns a connection only once its first bytes arrived (or, after
/// `seconds`, once the client acks a retransmitted SYN-ACK). 0 or -errno.
int CSluice_tcp_defer_accept(int fd, int seconds);

/// accept4(SOCK_NONBLOCK|SOCK_CLOEXEC); fills peer and local (getsockname) IPv4 addresses.
int CSluice_accept4(int lfd, uint32_t *peer_addr_be, uint16_t *peer_port, uint32_t *local_addr_be,
                    uint16_t *local_port);
/// Non-blocking TCP connect to addr:port with SO_MARK mark (0 = none) and TCP_NODELAY.
/// Returns fd (connect may be in progress) or -errno.
int CSluice_tcp_connect4(uint32_t addr_be, uint16_t port, uint32_t mark);
/// pipe2(O_NONBLOCK|O_CLOEXEC) into fds (fds[0] the read end) and F_SETPIPE_SZ(size) when size > 0
/// (a refused size keeps the default). Returns the pipe's capacity in bytes or -errno.
int CSluice_pipe(int fds[2], int size);
/// splice(2) of up to len bytes from fd_in to fd_out (one of them a pipe), SPLICE_F_MOVE |
/// SPLICE_F_NONBLOCK, EINTR retried; `more` adds SPLICE_F_MORE (more bytes follow: a socket
/// destination sends full segments and holds a partial one back). Returns the bytes moved, 0 at
/// the input's EOF, or -errno.
ssize_t CSluice_splice(int fd_in, int fd_out, size_t len, int more);
/// getsockopt(SO_ERROR).
int CSluice_socket_error(int fd);
int CSluice_set_nodelay(int fd);
/// setns(CLONE_NEWNET) into the namespace at path. 0 or -errno.
int CSluice_setns_net(const char *path);
/// Monotonic clock in nanoseconds (same clock as bpf_ktime_get_ns).
uint64_t CSluice_monotonic_ns(void);
/// Coarse monotonic clock in nanoseconds (cheap; ~1-4 ms resolution).
uint64_t CSluice_monotonic_coarse_ns(void);
/// Realtime clock in nanoseconds since the epoch.
uint64_t CSluice_realtime_ns(void);
/// Writes an IMF-fixdate (RFC 9110 5.6.7) for unix time t into out (29 bytes + NUL). Returns 29.
int CSluice_http_date(int64_t t, char *out);
/// The calling thread's pinned CPU mask to cpu (sched_setaffinity). 0 or -errno.
int CSluice_pin_thread(int cpu);
/// Names the calling thread (pthread_setname_np; the kernel keeps 15 bytes). 0 or -errno.
int CSluice_name_thread(const char *name);
/// Returns the heap's free pages to the kernel (malloc_trim(0)); 1 if any were released.
int CSluice_release_free_memory(void);
#endif
