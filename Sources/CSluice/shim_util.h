// Helpers shared by the C shims (io_shims.c, dns_shims.c): one copy of the IPv4 socket
// plumbing every shim repeats. Internal to CSluice (not in include/, so Swift never sees it).
#ifndef CSLUICE_SHIM_UTIL_H
#define CSLUICE_SHIM_UTIL_H

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/// Repeats `call` (assigned to `n`) while it fails with EINTR.
#define CSLUICE_RETRY_EINTR(n, call) \
    do {                             \
        (n) = (call);                \
    } while ((n) < 0 && errno == EINTR)

static inline int set_int(int fd, int level, int opt, int v) { return setsockopt(fd, level, opt, &v, sizeof v); }

/// The IPv4 socket address addr_be:port (address in network order, port in host order).
static inline struct sockaddr_in sockaddr4(uint32_t addr_be, uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = addr_be;
    return sa;
}

/// Binds fd to addr_be:port; 0 or -1 with errno set.
static inline int bind4(int fd, uint32_t addr_be, uint16_t port) {
    struct sockaddr_in sa = sockaddr4(addr_be, port);
    return bind(fd, (struct sockaddr *)&sa, sizeof sa);
}

/// Closes fd after a failed step and returns that step's -errno.
static inline int close_failed(int fd) {
    int e = errno;
    close(fd);
    return -e;
}

/// A clock's reading in nanoseconds.
static inline uint64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
