#define _GNU_SOURCE
#include "CSluice_io.h"
#include "shim_util.h"
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int CSluice_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int CSluice_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int CSluice_epoll_wait(int epfd, CSluice_epoll_event *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    CSLUICE_RETRY_EINTR(n, epoll_wait(epfd, evs, max, timeout_ms));
    for (int i = 0; i < n; i++) {
        out[i].events = evs[i].events;
        out[i].data = evs[i].data.u64;
    }
    return n;
}

int CSluice_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int CSluice_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int CSluice_eventfd_drain(int fd) {
    uint64_t v;
    return (int)read(fd, &v, sizeof v);
}

int CSluice_tcp_listen4(uint32_t addr_be, uint16_t port, int backlog, int transparent, int reuseport) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) goto fail;
    if (reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0) goto fail;
    if (transparent && set_int(fd, SOL_IP, IP_TRANSPARENT, 1) < 0) goto fail;
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    if (bind4(fd, addr_be, port) < 0 || listen(fd, backlog) < 0) goto fail;
    return fd;
fail:
    return close_failed(fd);
}

int CSluice_udp_bind4(uint32_t addr_be, uint16_t port, int transparent, int reuseport, int reuseaddr) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (reuseaddr && set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) goto fail;
    if (reuseport && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0) goto fail;
    if (transparent) {
        if (set_int(fd, SOL_IP, IP_TRANSPARENT, 1) < 0) goto fail;
        if (set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) < 0) goto fail;
    }
    if (bind4(fd, addr_be, port) < 0) goto fail;
    return fd;
fail:
    return close_failed(fd);
}

int CSluice_tcp_defer_accept(int fd, int seconds) {
    return set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, seconds) < 0 ? -errno : 0;
}

int CSluice_accept4(int lfd, uint32_t *peer_addr_be, uint16_t *peer_port, uint32_t *local_addr_be,
                    uint16_t *local_port) {
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    int fd;
    CSLUICE_RETRY_EINTR(fd, accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (fd < 0) return -errno;
    *peer_addr_be = peer.sin_addr.s_addr;
    *peer_port = ntohs(peer.sin_port);
    struct sockaddr_in local;
    len = sizeof local;
    if (getsockname(fd, (struct sockaddr *)&local, &len) < 0) return close_failed(fd);
    *local_addr_be = local.sin_addr.s_addr;
    *local_port = ntohs(local.sin_port);
    /* TCP_NODELAY needs no setsockopt here: accepted sockets inherit it from the listener
     * (CSluice_tcp_listen4 sets it; SocketTests checks the inheritance). */
    return fd;
}

int CSluice_tcp_connect4(uint32_t addr_be, uint16_t port, uint32_t mark) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (mark && set_int(fd, SOL_SOCKET, SO_MARK, (int)mark) < 0) goto fail;
    set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    struct sockaddr_in sa = sockaddr4(addr_be, port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) goto fail;
    return fd;
fail:
    return close_failed(fd);
}

int CSluice_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

int CSluice_set_nodelay(int fd) { return set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1); }

int CSluice_setns_net(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = setns(fd, CLONE_NEWNET);
    int e = errno;
    close(fd);
    return r < 0 ? -e : 0;
}

uint64_t CSluice_monotonic_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

uint64_t CSluice_monotonic_coarse_ns(void) { return clock_ns(CLOCK_MONOTONIC_COARSE); }

uint64_t CSluice_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

int CSluice_http_date(int64_t t, char *out) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char *p = out;
    memcpy(p, days[tm.tm_wday], 3); p += 3;
    *p++ = ','; *p++ = ' ';
    *p++ = (char)('0' + tm.tm_mday / 10); *p++ = (char)('0' + tm.tm_mday % 10); *p++ = ' ';
    memcpy(p, months[tm.tm_mon], 3); p += 3; *p++ = ' ';
    int y = tm.tm_year + 1900;
    *p++ = (char)('0' + (y / 1000) % 10); *p++ = (char)('0' + (y / 100) % 10);
    *p++ = (char)('0' + (y / 10) % 10); *p++ = (char)('0' + y % 10); *p++ = ' ';
    *p++ = (char)('0' + tm.tm_hour / 10); *p++ = (char)('0' + tm.tm_hour % 10); *p++ = ':';
    *p++ = (char)('0' + tm.tm_min / 10); *p++ = (char)('0' + tm.tm_min % 10); *p++ = ':';
    *p++ = (char)('0' + tm.tm_sec / 10); *p++ = (char)('0' + tm.tm_sec % 10);
    memcpy(p, " GMT", 4); p += 4;
    *p = 0;
    return (int)(p - out);
}

int CSluice_pin_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
}

int CSluice_name_thread(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    int r = pthread_setname_np(pthread_self(), buf);
    return r == 0 ? 0 : -r;
}

int CSluice_release_free_memory(void) { return malloc_trim(0); }

int CSluice_pipe(int fds[2], int size) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) return -errno;
    if (size > 0) (void)fcntl(fds[1], F_SETPIPE_SZ, size);
    int capacity = fcntl(fds[1], F_GETPIPE_SZ);
    if (capacity < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return -e;
    }
    return capacity;
}

ssize_t CSluice_splice(int fd_in, int fd_out, size_t len, int more) {
    ssize_t n;
    unsigned int flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0);
    CSLUICE_RETRY_EINTR(n, splice(fd_in, NULL, fd_out, NULL, len, flags));
    return n < 0 ? -errno : n;
}
