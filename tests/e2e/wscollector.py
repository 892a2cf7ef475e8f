#!/usr/bin/env python3
"""A minimal WebSocket collector (RFC 6455 server), Python standard library
only, for the end-to-end test of ssi-broadcaster-push.service.

Listens on 127.0.0.1:PORT, accepts one connection at a time, and prints one
line per event on stdout (flushed at once): '#connected PATH' for every
accepted upgrade, every text message as it came, '#closed CODE' when the
agent closes. Pings are answered with pongs, as any WebSocket server does
(the agent counts on them). Stops after --seconds.
"""

import argparse
import base64
import hashlib
import socket
import struct
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def send_frame(sock, opcode, payload):
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    sock.sendall(head + payload)


def serve(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            return
        head += chunk
    lines = head.split(b"\r\n")
    path = lines[0].split(b" ")[1].decode()
    key = b""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    say("#connected " + path)
    message = b""
    while True:
        b0, b1 = recv_exact(conn, 2)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", recv_exact(conn, 2))[0]
        elif n == 127:
            n = struct.unpack("!Q", recv_exact(conn, 8))[0]
        mask = recv_exact(conn, 4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(recv_exact(conn, n)))
        if opcode == 9:
            send_frame(conn, 10, data)
        elif opcode == 8:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
            say("#closed %d" % code)
            send_frame(conn, 8, data[:2])
            return
        elif opcode in (0, 1):
            message += data
            if b0 & 0x80:
                say(message.decode(errors="replace"))
                message = b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    end = time.monotonic() + args.seconds
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(4)
    say("#listening")
    while time.monotonic() < end:
        srv.settimeout(max(0.1, end - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        conn.settimeout(max(0.1, end - time.monotonic()))
        try:
            serve(conn)
        except (EOFError, OSError):
            say("#gone")
        finally:
            conn.close()


if __name__ == "__main__":
    main()
