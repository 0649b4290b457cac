"""Git over smart HTTP on 127.0.0.1, as GitHub serves clones: `git http-backend` behind
Basic authentication that checks the token on every request."""

from __future__ import annotations

import base64
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class GitHTTPServer:
    def __init__(self, root: Path, token: str) -> None:
        self.root, self.token = root, token
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.cgi()

            def do_POST(self):
                self.cgi()

            def cgi(self):
                auth = self.headers.get("Authorization")
                server.requests.append((self.path, auth))
                expected = base64.b64encode(f"x-access-token:{server.token}".encode()).decode()
                if auth != f"Basic {expected}":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path, _, query = self.path.partition("?")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                env = {
                    "GIT_PROJECT_ROOT": str(server.root), "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)), "PATH": "/usr/bin:/bin",
                }  # fmt: skip
                out = subprocess.run(["git", "http-backend"], input=body, env=env,
                                     capture_output=True, check=False).stdout  # fmt: skip
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
