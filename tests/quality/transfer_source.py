"""A small transfer source for the tests: serves the files of a folder by the listing
protocol of docs/quality.md with IAGOS-style token auth. A file `NAME` with a marker
`.cut-NAME` beside it is cut off half-way once (the marker is removed), like a source that
dies mid-file.

Usage: python tests/quality/transfer_source.py PORT FOLDER SECRET
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

FOLDER = Path(sys.argv[2])
SECRET = sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def _authorised(self) -> bool:
        stamp = self.headers.get("X-Timestamp", "")
        expected = hashlib.sha256(f"{SECRET}:{stamp}".encode()).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        return fresh and self.headers.get("X-Token") == expected

    def do_GET(self) -> None:
        if not self._authorised():
            self.send_error(401, "bad token")
            return
        parts = urlsplit(self.path)
        if parts.path == "/files":
            after = parse_qs(parts.query).get("after", [""])[0]
            names = sorted(p.name for p in FOLDER.iterdir() if not p.name.startswith("."))
            files = [{"name": n, "url": f"data/{n}", "cursor": n} for n in names if n > after]
            body = json.dumps({"files": files}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        name = unquote(parts.path.removeprefix("/data/"))
        path = FOLDER / name
        if "/" in name or not path.is_file():
            self.send_error(404)
            return
        content = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        marker = FOLDER / f".cut-{name}"
        if marker.exists():
            marker.unlink()
            self.wfile.write(content[: len(content) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(content)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.command} {self.path} {args}\n")


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
