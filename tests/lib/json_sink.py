"""A loopback HTTP receiver that, like Slack's and Discord's, rejects a body
that is not valid JSON (HTTP 400) and accepts one that is (204), for the
webhook hook's tests (tests/hooks.sh). Appends one JSON line per request to
OUT: {"headers": …, "json": the parsed body} or {"headers": …, "invalid":
the raw body}; writes its port to PORTFILE.

Usage: python3 json_sink.py OUT PORTFILE"""
import http.server
import json
import os
import sys

out, portfile = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        record = {"path": self.path, "headers": dict(self.headers)}
        try:
            # strict: control characters inside strings are errors, as RFC 8259 says
            record["json"] = json.loads(raw.decode("utf-8"), strict=True)
            status = 204
        except ValueError:
            record["invalid"] = raw.decode("utf-8", "backslashreplace")
            status = 400
        with open(out, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
