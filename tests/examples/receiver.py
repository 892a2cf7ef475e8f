"""A loopback HTTP receiver for the webhook hook's tests (tests/examples/run.sh,
tests/e2e/run): answers every POST with STATUS (default 204) and appends one JSON
line per request (path, headers, body) to OUT; writes its port to PORTFILE.

Usage: python3 receiver.py OUT PORTFILE [STATUS]"""
import http.server
import json
import sys

out, portfile = sys.argv[1], sys.argv[2]
status = int(sys.argv[3]) if len(sys.argv) > 3 else 204


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(out, "a") as f:
            f.write(json.dumps({"path": self.path, "headers": dict(self.headers),
                                "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_port))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
