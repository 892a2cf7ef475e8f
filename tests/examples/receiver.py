"""A loopback HTTP receiver for the webhook hook's tests (tests/examples/run.sh,
tests/e2e/run, tests/hooks.sh): appends one JSON line per request (path,
headers, body) to OUT and writes its port to PORTFILE. Answers every POST with
STATUS (default 204); or, with `json`, like Slack and Discord: 400 to a body
that is not valid JSON (the line then has "invalid": the raw body) and 204 to
one that is (the line then has "json": the parsed body).

Usage: python3 receiver.py OUT PORTFILE [STATUS | json]"""
import http.server
import json
import os
import sys

out, portfile = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "204"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        record = {"path": self.path, "headers": dict(self.headers),
                  "body": raw.decode("utf-8", "replace")}
        if mode == "json":
            try:
                # strict: control characters inside strings are errors, as RFC 8259 says
                record["json"] = json.loads(raw.decode("utf-8"), strict=True)
                status = 204
            except ValueError:
                record["invalid"] = raw.decode("utf-8", "backslashreplace")
                status = 400
        else:
            status = int(mode)
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
