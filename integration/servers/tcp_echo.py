#!/usr/bin/env python3
"""Sandbox server kind `tcp`: accept connections and echo every byte back.

One thread per connection; the connection ends when the client closes its side.

Usage: tcp_echo.py --name NS/POD --listen HOST:PORT [--listen HOST:PORT ...]
"""
import argparse
import socket
import sys
import threading


def echo(conn):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            try:
                conn.sendall(data)
            except OSError:
                return


def serve(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def open_listener(value):
    host, _, port = value.rpartition(":")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host or "0.0.0.0", int(port)))
    listener.listen(128)
    return listener


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="unknown")
    parser.add_argument("--listen", action="append", required=True)
    args = parser.parse_args()
    listeners = [open_listener(item) for item in args.listen]
    for listener in listeners[1:]:
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
    sys.stderr.write("tcp echo %s listening on %s\n" % (args.name, ", ".join(args.listen)))
    sys.stderr.flush()
    serve(listeners[0])


if __name__ == "__main__":
    main()
