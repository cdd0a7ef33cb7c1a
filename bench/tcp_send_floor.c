// The kernel's floor for a follow stream (issue 17): CPU time of the SENDING process per
// `msg` bytes written over loopback TCP to a reader that keeps up, with writes of `write`
// bytes (the observer writes batches of many framed responses). Nothing is encoded: this is
// what sending the bytes costs by itself, the part of a follow client no encoder can remove.
//   cc -O2 -o /tmp/tcp_send_floor bench/tcp_send_floor.c
//   /tmp/tcp_send_floor [total_MB=512] [write=262144] [msg=958] [cpu=-1: pin both to this core]
// Prints: ns of sender CPU (its thread's CPU clock: user + system, softirq work done in its
// context included) per `msg` bytes, and the reader's.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(int argc, char **argv) {
    long total = (argc > 1 ? atol(argv[1]) : 512) << 20;
    long chunk = argc > 2 ? atol(argv[2]) : 262144;
    long msg = argc > 3 ? atol(argv[3]) : 958;
    int cpu = argc > 4 ? atoi(argv[4]) : -1;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 1) || getsockname(ls, (struct sockaddr *)&a, &al)) {
        perror("listen");
        return 1;
    }
    int pipefd[2];
    if (pipe(pipefd)) return 1;
    pid_t child = fork();
    if (child == 0) {  // the reader: drains everything, reports its own CPU
        pin(cpu);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&a, sizeof a)) {
            perror("connect");
            _exit(1);
        }
        static char buf[1 << 18];
        double start = cpu_ns();
        long got = 0;
        ssize_t n;
        while ((n = read(s, buf, sizeof buf)) > 0) got += n;
        double ns = cpu_ns() - start;
        dprintf(pipefd[1], "%ld %.0f\n", got, ns);
        _exit(0);
    }
    pin(cpu);
    int s = accept(ls, NULL, NULL);
    char *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    double start = cpu_ns();
    long sent = 0;
    while (sent < total) {
        ssize_t n = write(s, buf, chunk);
        if (n <= 0) {
            perror("write");
            return 1;
        }
        sent += n;
    }
    double ns = cpu_ns() - start;
    close(s);
    long got = 0;
    double reader = 0;
    FILE *f = fdopen(pipefd[0], "r");
    if (fscanf(f, "%ld %lf", &got, &reader) != 2) return 1;
    waitpid(child, NULL, 0);
    printf(
        "tcp loopback, writes of %ld bytes, %ld MB: sender %.0f ns CPU per %ld bytes (%.2f ns/byte), reader %.0f ns per %ld bytes; read %ld of %ld\n",
        chunk, total >> 20, ns / sent * msg, msg, ns / sent, reader / got * msg, msg, got, sent);
    return got == sent ? 0 : 1;
}
