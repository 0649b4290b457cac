"""Where project.yaml comes from: GitHub's REST API (here a fake on 127.0.0.1), or local git."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_ext.jobserver.repos import GitHub, LocalGit, Repositories, RepositoryError

from .harness import make_repo

SHA = "a" * 40
TOKEN = "ghp_" + "t" * 36


class FakeGitHub(BaseHTTPRequestHandler):
    """The two REST endpoints the job server uses, checking the token on every request.

    Subclasses change `SHA` and `YAML`; `server.seen` keeps (path, Authorization) per call.
    """

    SHA = SHA
    YAML = b"version: '5'\nactions: {}\n"

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.answer(401, {"message": "Bad credentials"})
        if self.path == "/repos/org/study/commits/main":
            return self.answer(200, self.SHA, "application/vnd.github.sha")
        if self.path == f"/repos/org/study/contents/project.yaml?ref={self.SHA}":
            content = base64.b64encode(self.YAML).decode()
            return self.answer(200, {"type": "file", "encoding": "base64", "content": content})
        return self.answer(404, {"message": "Not Found"})

    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def serve(handler: type[BaseHTTPRequestHandler]):
    """`handler` on 127.0.0.1 in a thread, until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def github():
    yield from serve(FakeGitHub)


def test_github_source_reads_through_the_rest_api_with_the_token_in_a_header(github):
    api = f"http://127.0.0.1:{github.server_port}"
    source = GitHub(api, "https://github.com")
    repo = "https://github.com/org/study"
    assert source.handles(repo) and source.needs_token(repo)
    assert source.head(repo, "main", TOKEN) == SHA
    assert source.read(repo, SHA, "project.yaml", TOKEN) == "version: '5'\nactions: {}\n"
    assert all(TOKEN not in path for path, _ in github.seen)  # never in a URL
    with pytest.raises(RepositoryError, match="refused the token"):
        source.head(repo, "main", "ghp_wrong_token_xxxxxxxxxxxxxxxxxxxx")
    with pytest.raises(RepositoryError, match="does not exist"):
        source.head(repo, "nope", TOKEN)
    with pytest.raises(RepositoryError, match=r"no project\.yaml"):
        source.read(repo, "b" * 40, "project.yaml", TOKEN)
    with pytest.raises(RepositoryError, match="not a repository URL"):
        source.head("https://github.com/just-an-org", "main", TOKEN)
    source.client.close()


def test_github_that_cannot_be_reached_is_a_sentence():
    source = GitHub("http://127.0.0.1:9", "https://github.com", timeout=2)
    with pytest.raises(RepositoryError, match="cannot be reached"):
        source.head("https://github.com/org/study", "main", TOKEN)
    source.client.close()


def test_local_repositories_only_under_the_configured_folders(tmp_path):
    sha = make_repo(tmp_path / "allowed" / "study")
    make_repo(tmp_path / "elsewhere" / "study")
    source = Repositories(LocalGit([str(tmp_path / "allowed")]))
    assert source.head(str(tmp_path / "allowed" / "study"), "main", None) == sha
    assert source.head(f"file://{tmp_path}/allowed/study", "main", None) == sha
    assert "actions:" in source.read(str(tmp_path / "allowed" / "study"), sha, "project.yaml", None)
    for outside in (
        str(tmp_path / "elsewhere" / "study"),
        f"{tmp_path}/allowed/../elsewhere/study",
    ):
        with pytest.raises(RepositoryError, match="not under a folder"):
            source.head(outside, "main", None)
    with pytest.raises(RepositoryError, match="not a repository this job server can read"):
        source.head("https://gitlab.com/org/study", "main", None)
    with pytest.raises(RepositoryError, match="branch 'nope' does not exist"):
        source.head(str(tmp_path / "allowed" / "study"), "nope", None)


def test_a_project_file_larger_than_the_pipeline_reads_is_refused_unread(tmp_path):
    """A hostile repository's 30 MB project.yaml never reaches the job server's memory."""
    source = tmp_path / "source"
    source.mkdir()
    with (source / "project.yaml").open("w") as file:
        file.write("version: '5'\n#" + "x" * 30_000_000 + "\n")
    sha = make_repo(tmp_path / "repos" / "huge", source)
    local = LocalGit([str(tmp_path / "repos")])
    with pytest.raises(RepositoryError, match="more than a project file may be"):
        local.read(str(tmp_path / "repos" / "huge"), sha, "project.yaml", None)
