#!/usr/bin/env python3
"""A loopback model of a spliced 1 MiB response relay (no sandbox, no Sluice): an upstream thread
answers each request with a head and 1 MiB by sendfile, a relay process forwards the head plus the
first FIRST bytes through user space and splices the rest socket -> pipe -> socket (edge-triggered
epoll, fill only into an empty pipe, as Sluice), a client reads. Prints the relay's CPU seconds
per GiB for a pipe size and with or without SPLICE_F_MORE on drains that have more body to follow.

    taskset -c 1 python3 bench/bulk_relay_model.py PIPE_BYTES MORE(0|1) RESPONSES [FIRST]

docs/performance.md "Stop 17: the 1 MiB case (p19bulk2)" quotes it (loopback, MTU 64 KiB: the
effect through the sandbox's veths is smaller; bench/bulk.sh measures that).
"""
import os, socket, sys, threading, resource, select, fcntl, time
PIPE, MORE, N, SIZE = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), 1 << 20
FIRST = int(sys.argv[4]) if len(sys.argv) > 4 else 16384
path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "bulk_relay_model.blob")
if not os.path.exists(path) or os.path.getsize(path) != SIZE:
    open(path, "wb").write(os.urandom(SIZE))
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(); up_port = ls.getsockname()[1]
def upstream():
    c, _ = ls.accept(); f = os.open(path, os.O_RDONLY)
    while True:
        if not c.recv(100): return
        c.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % SIZE)
        off = 0
        while off < SIZE: off += os.sendfile(c.fileno(), f, off, SIZE - off)
threading.Thread(target=upstream, daemon=True).start()
rl = socket.socket(); rl.bind(("127.0.0.1", 0)); rl.listen(); rport = rl.getsockname()[1]
def client():
    c = socket.create_connection(("127.0.0.1", rport)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(1 << 20); mv = memoryview(buf)
    for _ in range(N):
        c.sendall(b"GET / HTTP/1.1\r\n\r\n"); got = 0; need = None; hdr = b""
        while need is None or got < need:
            k = c.recv_into(mv)
            if need is None:
                hdr += bytes(mv[:k]); i = hdr.find(b"\r\n\r\n")
                if i >= 0: need = SIZE; got = len(hdr) - i - 4
            else: got += k
    c.close()
# relay in a child process so its CPU is its own
pid = os.fork()
if pid == 0:
    cs, _ = rl.accept(); us = socket.create_connection(("127.0.0.1", up_port))
    for s in (cs, us): s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); s.setblocking(False)
    r, w = os.pipe2(os.O_NONBLOCK); fcntl.fcntl(w, 1031, PIPE)  # F_SETPIPE_SZ
    cap = fcntl.fcntl(w, 1032)
    ep = select.epoll(); ep.register(cs.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLET); ep.register(us.fileno(), select.EPOLLIN | select.EPOLLOUT | select.EPOLLET)
    F = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
    t0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(N):
        while True:  # request
            try: req = cs.recv(100); break
            except BlockingIOError: ep.poll()
        if not req: break
        us.send(req)
        while True:
            try: b = us.recv(FIRST); break
            except BlockingIOError: ep.poll()
        i = b.find(b"\r\n\r\n") + 4; remaining = SIZE - (len(b) - i)
        cs.sendall(b)  # small, fine
        inpipe = 0
        while remaining > 0 or inpipe > 0:
            if inpipe == 0:
                try:
                    k = os.splice(us.fileno(), w, min(cap, remaining), flags=F)
                    if k == 0: sys.exit("eof")
                    inpipe += k; remaining -= k
                except BlockingIOError:
                    ep.poll(); continue
            try:
                fl = F | (os.SPLICE_F_MORE if MORE and remaining > 0 else 0)
                inpipe -= os.splice(r, cs.fileno(), inpipe, flags=fl)
            except BlockingIOError:
                ep.poll()
    t1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (t1.ru_utime + t1.ru_stime) - (t0.ru_utime + t0.ru_stime)
    print(f"pipe={cap} more={MORE} first={FIRST} cpu_s_per_gib={cpu / (N * SIZE / (1 << 30)):.3f} (user {t1.ru_utime - t0.ru_utime:.2f} sys {t1.ru_stime - t0.ru_stime:.2f})")
    os._exit(0)
client(); os.waitpid(pid, 0)
