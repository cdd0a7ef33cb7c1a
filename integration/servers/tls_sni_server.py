"""A TLS server for the SNI scenario (integration/scenarios/70_tls_sni.sh): answers every request
with `200 ok <SNI>` over HTTP/1.1 and logs one line per completed handshake, `handshake sni=NAME`
(`sni=-` without SNI), so the scenario can show that a denied name never reached it.

    tls_sni_server.py --listen 0.0.0.0:8443 --cert tls.crt --key tls.key
"""
import argparse
import socket
import ssl
import sys
import threading


def serve(conn, context):
    seen = {}

    def remember(sock, name, ctx):
        seen["sni"] = name

    context.sni_callback = remember
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            print(f"handshake sni={seen.get('sni') or '-'}", flush=True)
            tls.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                data += chunk
            body = f"ok {seen.get('sni') or '-'}\n".encode()
            tls.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode() + body)
    except (OSError, ssl.SSLError) as error:
        print(f"failed {type(error).__name__}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(64)
    print(f"listening on {args.listen}", flush=True)
    while True:
        conn, _ = listener.accept()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        threading.Thread(target=serve, args=(conn, context), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
