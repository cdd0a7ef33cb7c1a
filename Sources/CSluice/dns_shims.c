#define _GNU_SOURCE
#include "CSluice_dns.h"
#include "shim_util.h"
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

int CSluice_udp_recv4_batch(int fd, void *buf, size_t slot, CSluice_udp_datagram *out, int count) {
    if (count > CSLUICE_UDP_BATCH_MAX) count = CSLUICE_UDP_BATCH_MAX;
    if (count < 1) return -EINVAL;
    struct mmsghdr msgs[CSLUICE_UDP_BATCH_MAX];
    struct iovec iovs[CSLUICE_UDP_BATCH_MAX];
    struct sockaddr_in peers[CSLUICE_UDP_BATCH_MAX];
    char controls[CSLUICE_UDP_BATCH_MAX][CMSG_SPACE(sizeof(struct sockaddr_in))];
    for (int i = 0; i < count; i++) {
        iovs[i].iov_base = (char *)buf + (size_t)i * slot;
        iovs[i].iov_len = slot;
        memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
        msgs[i].msg_hdr.msg_name = &peers[i];
        msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = controls[i];
        msgs[i].msg_hdr.msg_controllen = sizeof controls[i];
        msgs[i].msg_len = 0;
    }
    int n;
    CSLUICE_RETRY_EINTR(n, recvmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT, NULL));
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        struct msghdr *msg = &msgs[i].msg_hdr;
        out[i].src_addr_be = peers[i].sin_addr.s_addr;
        out[i].src_port = ntohs(peers[i].sin_port);
        out[i].orig_addr_be = 0;
        out[i].orig_port = 0;
        out[i].length = (int32_t)msgs[i].msg_len;
        out[i].truncated = (msg->msg_flags & MSG_TRUNC) ? 1 : 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
            if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR &&
                c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) {
                struct sockaddr_in orig;
                memcpy(&orig, CMSG_DATA(c), sizeof orig);
                out[i].orig_addr_be = orig.sin_addr.s_addr;
                out[i].orig_port = ntohs(orig.sin_port);
            }
        }
    }
    return n;
}

int CSluice_udp_send4_batch(int fd, const CSluice_udp_out *msgs, int count) {
    if (count > CSLUICE_UDP_BATCH_MAX) count = CSLUICE_UDP_BATCH_MAX;
    if (count < 1) return -EINVAL;
    struct mmsghdr out[CSLUICE_UDP_BATCH_MAX];
    struct iovec iovs[CSLUICE_UDP_BATCH_MAX];
    struct sockaddr_in peers[CSLUICE_UDP_BATCH_MAX];
    for (int i = 0; i < count; i++) {
        peers[i] = sockaddr4(msgs[i].addr_be, msgs[i].port);
        iovs[i].iov_base = (void *)msgs[i].base;
        iovs[i].iov_len = msgs[i].length;
        memset(&out[i], 0, sizeof out[i]);
        out[i].msg_hdr.msg_name = &peers[i];
        out[i].msg_hdr.msg_namelen = sizeof peers[i];
        out[i].msg_hdr.msg_iov = &iovs[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    int n;
    CSLUICE_RETRY_EINTR(n, sendmmsg(fd, out, (unsigned)count, MSG_DONTWAIT | MSG_NOSIGNAL));
    return n < 0 ? -errno : n;
}

int CSluice_udp_send4_batch_mark(int fd, const CSluice_udp_out *msgs, const uint32_t *marks, int count) {
    if (count > CSLUICE_UDP_BATCH_MAX) count = CSLUICE_UDP_BATCH_MAX;
    if (count < 1) return -EINVAL;
    struct mmsghdr out[CSLUICE_UDP_BATCH_MAX];
    struct iovec iovs[CSLUICE_UDP_BATCH_MAX];
    struct sockaddr_in peers[CSLUICE_UDP_BATCH_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } controls[CSLUICE_UDP_BATCH_MAX];
    for (int i = 0; i < count; i++) {
        peers[i] = sockaddr4(msgs[i].addr_be, msgs[i].port);
        iovs[i].iov_base = (void *)msgs[i].base;
        iovs[i].iov_len = msgs[i].length;
        memset(&out[i], 0, sizeof out[i]);
        memset(&controls[i], 0, sizeof controls[i]);
        struct msghdr *msg = &out[i].msg_hdr;
        msg->msg_name = &peers[i];
        msg->msg_namelen = sizeof peers[i];
        msg->msg_iov = &iovs[i];
        msg->msg_iovlen = 1;
        msg->msg_control = controls[i].buf;
        msg->msg_controllen = sizeof controls[i].buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SO_MARK;
        c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
        memcpy(CMSG_DATA(c), &marks[i], sizeof marks[i]);
    }
    int n;
    CSLUICE_RETRY_EINTR(n, sendmmsg(fd, out, (unsigned)count, MSG_DONTWAIT | MSG_NOSIGNAL));
    return n < 0 ? -errno : n;
}

int CSluice_udp_send4(int fd, const void *buf, size_t len, uint32_t addr_be, uint16_t port) {
    struct sockaddr_in sa = sockaddr4(addr_be, port);
    ssize_t n;
    CSLUICE_RETRY_EINTR(n, sendto(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa));
    return n < 0 ? -errno : (int)n;
}

int CSluice_udp_send4_mark(int fd, const void *buf, size_t len, uint32_t addr_be, uint16_t port, uint32_t mark) {
    struct sockaddr_in sa = sockaddr4(addr_be, port);
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {
        .msg_name = &sa,
        .msg_namelen = sizeof sa,
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = control.buf,
        .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SO_MARK;
    c->cmsg_len = CMSG_LEN(sizeof(uint32_t));
    memcpy(CMSG_DATA(c), &mark, sizeof mark);
    ssize_t n;
    CSLUICE_RETRY_EINTR(n, sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL));
    return n < 0 ? -errno : (int)n;
}

int CSluice_udp_reply_socket4(uint32_t addr_be, uint16_t port) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0) goto fail;
    if (set_int(fd, SOL_IP, IP_TRANSPARENT, 1) < 0) goto fail;
    /* Nothing is read from this socket: keep its receive queue small. */
    set_int(fd, SOL_SOCKET, SO_RCVBUF, 1024);
    if (bind4(fd, addr_be, port) < 0) goto fail;
    return fd;
fail:
    return close_failed(fd);
}

int CSluice_udp_upstream_socket4(uint32_t mark) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (mark && set_int(fd, SOL_SOCKET, SO_MARK, (int)mark) < 0) return close_failed(fd);
    /* Many queries in flight share this socket: room for bursts of answers. */
    set_int(fd, SOL_SOCKET, SO_RCVBUF, 4 << 20);
    return fd;
}

int CSluice_sock_local4(int fd, uint32_t *addr_be, uint16_t *port) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return -errno;
    *addr_be = sa.sin_addr.s_addr;
    *port = ntohs(sa.sin_port);
    return 0;
}

int CSluice_getrandom(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}
