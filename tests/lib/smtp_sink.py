"""A loopback SMTP receiver for the email hook's tests (tests/hooks.sh): takes
every message, and before it answers the final "250" appends one JSON line
(envelope sender, envelope recipients, the message) to OUT, so a client that
returned has its message recorded; writes its port to PORTFILE.

Usage: python3 smtp_sink.py OUT PORTFILE"""
import json
import os
import socketserver
import sys

out, portfile = sys.argv[1], sys.argv[2]


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 localhost smtp_sink")
        sender, rcpt = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.strip().upper()
            if verb.startswith(b"EHLO") or verb.startswith(b"HELO"):
                self.reply("250 localhost")
            elif verb.startswith(b"MAIL FROM:"):
                sender, rcpt = line.strip()[10:].decode("utf-8", "replace"), []
                self.reply("250 ok")
            elif verb.startswith(b"RCPT TO:"):
                rcpt.append(line.strip()[8:].decode("utf-8", "replace"))
                self.reply("250 ok")
            elif verb == b"DATA":
                self.reply("354 end with .")
                data = []
                while True:
                    d = self.rfile.readline()
                    if not d or d in (b".\r\n", b".\n"):
                        break
                    data.append(d[1:] if d.startswith(b"..") else d)
                with open(out, "a") as f:
                    f.write(json.dumps({"from": sender, "rcpt": rcpt,
                                        "data": b"".join(data).decode("utf-8", "replace")}) + "\n")
                    f.flush()
                    os.fsync(f.fileno())
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


server = Server(("127.0.0.1", 0), Session)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
