/* One `follow` client of the Observer gRPC API for bench/observer.sh (the default; the grpcio
 * client, bench/observer_follow.py, is FOLLOW_CLIENT=python). It sends GetFlows{follow: true} over
 * plaintext HTTP/2 (libnghttp2) and only counts gRPC messages: each DATA chunk is walked by the
 * 5-byte length prefixes, nothing is decoded or copied, so the client keeps up with the observer
 * on the load core. Its receive windows are 1 GiB (the stream's and the connection's), so the
 * observer's flow control never waits on it.
 * Usage: observer_follow ADDRESS:PORT OUTFILE. OUTFILE holds "responses=N bytes=B" (B: message
 * bytes without prefixes, as the Python client counts) once at start and again on SIGTERM/SIGINT;
 * OUTFILE.first is created when the first message has arrived. Exits 1 on a connection error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;
static int fd = -1;
static const char *outfile;
static unsigned long long responses, bytes;
/* the message being read: prefix bytes still missing, then payload bytes still to skip */
static unsigned char prefix[5];
static size_t prefix_have;
static uint64_t payload_left;
static int stream_closed;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void write_counts(const char *suffix) {
  FILE *f = fopen(outfile, "w");
  if (!f) { perror(outfile); exit(1); }
  fprintf(f, "responses=%llu bytes=%llu%s\n", responses, bytes, suffix);
  fclose(f);
}

static void message_done(void) {
  if (++responses == 1) {
    char path[4096];
    snprintf(path, sizeof path, "%s.first", outfile);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
  }
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data, size_t len,
                   void *user) {
  (void)s; (void)flags; (void)stream; (void)user;
  while (len > 0) {
    if (payload_left > 0) {
      size_t n = len < payload_left ? len : (size_t)payload_left;
      payload_left -= n; data += n; len -= n;
      if (payload_left == 0) message_done();
      continue;
    }
    size_t n = 5 - prefix_have;
    if (n > len) n = len;
    memcpy(prefix + prefix_have, data, n);
    prefix_have += n; data += n; len -= n;
    if (prefix_have == 5) {
      prefix_have = 0;
      payload_left = (uint64_t)prefix[1] << 24 | (uint64_t)prefix[2] << 16 | (uint64_t)prefix[3] << 8 | prefix[4];
      bytes += payload_left;
      if (payload_left == 0) message_done();
    }
  }
  return 0;
}

static int on_close(nghttp2_session *s, int32_t stream, uint32_t code, void *user) {
  (void)s; (void)stream; (void)user;
  fprintf(stderr, "observer_follow: stream closed (error code %u)\n", code);
  stream_closed = 1;
  return 0;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user) {
  (void)s; (void)flags; (void)user;
  for (;;) {
    ssize_t n = write(fd, data, len);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return NGHTTP2_ERR_WOULDBLOCK;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
}

/* the request body: GetFlowsRequest{follow (field 3) = true}, with its gRPC prefix */
static const uint8_t request_body[] = {0, 0, 0, 0, 2, 0x18, 0x01};
static size_t request_sent;

static ssize_t read_request(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t len, uint32_t *flags,
                            nghttp2_data_source *src, void *user) {
  (void)s; (void)stream; (void)src; (void)user;
  size_t n = sizeof request_body - request_sent;
  if (n > len) n = len;
  memcpy(buf, request_body + request_sent, n);
  request_sent += n;
  if (request_sent == sizeof request_body) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

#define HEADER(name, value) \
  { (uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, strlen(value), NGHTTP2_NV_FLAG_NONE }

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: observer_follow ADDRESS:PORT OUTFILE\n"); return 2; }
  outfile = argv[2];
  char host[256];
  const char *colon = strrchr(argv[1], ':');
  if (!colon || (size_t)(colon - argv[1]) >= sizeof host) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
  memcpy(host, argv[1], (size_t)(colon - argv[1]));
  host[colon - argv[1]] = 0;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }

  struct sigaction act = {.sa_handler = on_signal};
  sigaction(SIGTERM, &act, NULL);
  sigaction(SIGINT, &act, NULL);
  write_counts(" started");

  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 1; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  nghttp2_session_callbacks *cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, on_send);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
  nghttp2_session *session;
  nghttp2_session_client_new(&session, cbs, NULL);
  nghttp2_session_callbacks_del(cbs);

  const int32_t window = 1 << 30;
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window}};
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings, 1);
  nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0, window);
  nghttp2_nv headers[] = {
      HEADER(":method", "POST"), HEADER(":scheme", "http"), HEADER(":path", "/observer.Observer/GetFlows"),
      HEADER(":authority", argv[1]), HEADER("content-type", "application/grpc"), HEADER("te", "trailers"),
  };
  nghttp2_data_provider body = {.read_callback = read_request};
  if (nghttp2_submit_request(session, NULL, headers, sizeof headers / sizeof headers[0], &body, NULL) < 0) {
    fprintf(stderr, "submit_request failed\n");
    return 1;
  }

  static uint8_t buf[256 * 1024];
  int rc = 0;
  while (!stopping && !stream_closed) {
    if (nghttp2_session_send(session) != 0) { rc = 1; break; }
    struct pollfd p = {.fd = fd, .events = POLLIN | (nghttp2_session_want_write(session) ? POLLOUT : 0)};
    if (poll(&p, 1, 100) < 0) {
      if (errno == EINTR) continue;
      rc = 1; break;
    }
    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0) { fprintf(stderr, "observer_follow: connection closed\n"); rc = 1; break; }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      perror("read"); rc = 1; break;
    }
    if (nghttp2_session_mem_recv(session, buf, (size_t)n) < 0) { fprintf(stderr, "bad HTTP/2 input\n"); rc = 1; break; }
  }
  write_counts("");
  nghttp2_session_del(session);
  close(fd);
  return stopping ? 0 : rc;
}
