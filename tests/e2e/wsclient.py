#!/usr/bin/env python3
"""A minimal WebSocket client (RFC 6455), Python standard library only.

Connects to ws://HOST:PORT/PATH, retrying until the server accepts or
--connect-timeout passes, then prints every text message it receives on one
line of stdout (flushed at once, so a test can read the file as it grows),
answers pings, and stops after --seconds or when the server closes. Status
lines for the test log start with '#': '#connected', '#closed CODE REASON',
'#error WHAT'. Exit status: 0 when it connected, 1 otherwise.

The end-to-end suite runs it on the host inside the container's network
namespace (nsenter -n), so it reaches the container's 127.0.0.1.
"""

import argparse
import base64
import hashlib
import os
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed by the server")
        buf += chunk
    return buf


def send_frame(sock, opcode, payload=b""):
    # Client frames are always masked (RFC 6455, 5.3).
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 1 << 16:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(head + mask + masked)


def read_frame(sock):
    b0, b1 = recv_exact(sock, 2)
    fin, opcode = b0 & 0x80, b0 & 0x0F
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", recv_exact(sock, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", recv_exact(sock, 8))
    mask = recv_exact(sock, 4) if b1 & 0x80 else None
    payload = recv_exact(sock, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bool(fin), opcode, payload


def connect(url, origin, deadline):
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 80
    path = parts.path or "/"
    last = None
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=5)
            break
        except OSError as e:
            last = e
            if time.monotonic() > deadline:
                raise ConnectionError(f"cannot connect to {host}:{port}: {last}") from e
            time.sleep(0.1)
    key = base64.b64encode(os.urandom(16)).decode()
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    )
    if origin:
        request += f"Origin: {origin}\r\n"
    sock.sendall((request + "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError(f"handshake: server closed after {head!r}")
        head += chunk
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 101 " not in status + " ":
        raise ConnectionError(f"handshake refused: {status}")
    expected = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
    headers = {}
    for line in head.decode(errors="replace").split("\r\n")[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if headers.get("sec-websocket-accept") != expected:
        raise ConnectionError("handshake: wrong Sec-WebSocket-Accept")
    return sock


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=60, help="stop after this long")
    ap.add_argument("--connect-timeout", type=float, default=10)
    ap.add_argument("--origin", help="send this Origin header")
    args = ap.parse_args()

    start = time.monotonic()
    try:
        sock = connect(args.url, args.origin, start + args.connect_timeout)
    except (ConnectionError, OSError) as e:
        say(f"#error {e}")
        return 1
    say("#connected")
    end = start + args.seconds
    message, message_op = b"", None
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                send_frame(sock, 0x8, struct.pack("!H", 1000))
                say("#stopped")
                return 0
            sock.settimeout(left)
            try:
                fin, opcode, payload = read_frame(sock)
            except socket.timeout:
                continue
            if opcode == 0x9:
                send_frame(sock, 0xA, payload)
            elif opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                say(f"#closed {code} {payload[2:].decode(errors='replace')}")
                return 0
            elif opcode in (0x1, 0x2, 0x0):
                if opcode != 0x0:
                    message, message_op = b"", opcode
                message += payload
                if fin:
                    text = message.decode(errors="replace")
                    say(text if message_op == 0x1 else f"#binary {len(message)} bytes")
                    message = b""
    except (EOFError, OSError) as e:
        say(f"#error {e}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
