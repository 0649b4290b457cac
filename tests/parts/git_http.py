"""Git over smart HTTP on 127.0.0.1, as GitHub serves clones: `git http-backend` behind
Basic authentication that checks the token on every request.

`serve_git` answers one request through `git http-backend`; `GitHTTPServer` puts it behind a
single token, and tests/parts/fake_github.py behind GitHub's accounts and repository access.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(username, password) of a `Basic` Authorization header, or None."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded.strip()).decode().partition(":")
    except ValueError:
        return None
    return (username, password) if sep else None


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request's body, by Content-Length or chunked (git sends large bodies chunked)."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()  # the CRLF after each chunk
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def refuse_basic(handler: BaseHTTPRequestHandler, realm: str, message: bytes = b"") -> None:
    """401 asking for Basic credentials: git then asks its askpass helper and tries again."""
    handler.send_response(401)
    handler.send_header("WWW-Authenticate", f'Basic realm="{realm}"')
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(message)))
    handler.end_headers()
    handler.wfile.write(message)


def serve_git(
    handler: BaseHTTPRequestHandler,
    project_root: Path,
    path_info: str,
    query: str,
    body: bytes,
    remote_user: str | None = None,
) -> int:
    """Answer the handler's request with `git http-backend` for the repositories under
    `project_root` (`path_info` like /owner/name.git/info/refs). `remote_user` set means an
    authenticated caller, which is what lets http-backend accept a push. Returns the status."""
    env = {
        "GIT_PROJECT_ROOT": str(project_root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "REQUEST_METHOD": handler.command,
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "PATH": "/usr/bin:/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(project_root),
    }
    if handler.headers.get("Content-Encoding"):  # git gzips request bodies above 1 kB
        env["HTTP_CONTENT_ENCODING"] = handler.headers["Content-Encoding"]
    if handler.headers.get("Git-Protocol"):  # protocol v2, as GitHub speaks it
        env["GIT_PROTOCOL"] = handler.headers["Git-Protocol"]
    if remote_user:
        env["REMOTE_USER"] = remote_user
    out = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
    ).stdout
    head, _, payload = out.partition(b"\r\n\r\n")
    status = 200
    headers = []
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(": ")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.append((name, value))
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)
    return status


class GitHTTPServer:
    """The repositories under `root`, cloned with Basic `x-access-token:<token>` only."""

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
                if basic_credentials(auth) != ("x-access-token", server.token):
                    return refuse_basic(self, "git")
                path, _, query = self.path.partition("?")
                serve_git(self, server.root, path, query, read_body(self))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
