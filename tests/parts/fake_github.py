"""A fake GitHub on 127.0.0.1 that speaks the parts of GitHub's protocol the product uses.

The product never knows: only `github_url`-style settings point at it, e.g.
`GitHubOAuthenticator.github_url = fake.url` (oauthenticator then derives
`/login/oauth/authorize`, `/login/oauth/access_token` and the API base `/api/v3`) and
the job server's `github_url` (API at `fake.api_url`). Served, as GitHub serves them:

- OAuth web flow: `GET /login/oauth/authorize` (the user signed in at "GitHub" is
  `fake.next_login`) redirects back with `code` and `state`; `POST /login/oauth/access_token`
  checks the app's client_id/client_secret, the single-use code, its redirect_uri and the
  PKCE verifier, and mints a `gho_` token whose `scope` is comma-separated, as GitHub's is.
- REST API under `/api/v3`: the authenticated user, their emails, organisations and teams,
  organisation and team membership checks (204 / 404, and 302 to the public membership
  check for a caller who cannot see private membership), a repository, a commit at a ref
  (`Accept: application/vnd.github.sha` gives the bare sha) and contents at a ref.
- Git smart HTTP at `/{owner}/{name}.git/...` through `git http-backend` (tests/parts/git_http.py),
  Basic auth with a token as the password.

Every request checks its token: a wrong token is 401 `Bad credentials`, a token without
access to a private repository sees 404 as on GitHub. OAuth tokens reach private
repositories only with the `repo` scope, and private organisation membership only with
`read:org`. Every request is recorded in `fake.requests` with secrets blanked from its URL
and a flag saying whether any secret was in the URL at all.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import string
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .git_http import basic_credentials, read_body, refuse_basic, serve_git

DOCS = "https://docs.github.com/rest"
DEFAULT_SCOPES = ("repo", "read:org", "user:email")
# a scope and the scopes it includes (https://docs.github.com/apps/oauth-apps, "Available scopes")
IMPLIED = {
    "repo": {"repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"},
    "user": {"read:user", "user:email", "user:follow"},
    "admin:org": {"write:org", "read:org", "manage_runners:org"},
    "write:org": {"read:org"},
}
SECRET_PARAMS = {"access_token", "client_secret", "code", "code_verifier", "token", "refresh_token"}
SAFE_REF = re.compile(r"^[A-Za-z0-9._/-]+$")
GIT_PATH = re.compile(
    r"^/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/(info/refs|git-upload-pack|git-receive-pack)$"
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fake GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.invalid",
    "GIT_COMMITTER_NAME": "Fake GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}
CODE_LIFETIME = 600  # seconds, as GitHub's authorization codes


def has_scope(granted: tuple[str, ...] | set[str], needed: str) -> bool:
    return any(s == needed or needed in IMPLIED.get(s, ()) for s in granted)


def mint_token(prefix: str = "gho_") -> str:
    """A token shaped like GitHub's: a prefix and 36 base62 characters."""
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(36))


@dataclass
class Account:
    login: str
    id: int
    name: str | None
    email: str | None
    public_email: bool
    orgs: set[str]
    public_orgs: set[str]
    teams: set[tuple[str, str]]  # (org, team slug)


@dataclass(frozen=True)
class Token:
    value: str
    login: str
    scopes: tuple[str, ...]


@dataclass
class Repo:
    owner: str
    name: str
    private: bool
    path: Path
    default_branch: str
    id: int
    collaborators: set[str] = field(default_factory=set)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Grant:
    client_id: str
    login: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str
    created: float


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # secret query parameters and any known secret blanked as ***
    auth: str  # "none", "ok" or "bad": what the token or client secret sent was
    login: str | None  # whose token it was
    status: int
    secret_in_url: bool  # a token, client secret or code_verifier was in the URL itself


class FakeGitHub:
    """GitHub's web flow, REST API and git over HTTP on 127.0.0.1, with `root` for repositories."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.git_root = self.root / "git"
        self.git_root.mkdir(parents=True, exist_ok=True)
        self.next_login: str | None = None  # who is signed in at "GitHub" in the browser
        self.deny_authorization = False  # the user clicks "Cancel" on the authorize page
        self.requests: list[Request] = []
        self._accounts: dict[str, Account] = {}  # by lower-case login
        self._orgs: dict[str, int] = {}  # lower-case org -> id
        self._org_names: dict[str, str] = {}  # lower-case org -> its spelling
        self._tokens: dict[str, Token] = {}
        self._apps: dict[str, tuple[str, str | None]] = {}  # client_id -> (secret, callback)
        self._grants: dict[str, Grant] = {}
        self._repos: dict[str, Repo] = {}  # by lower-case owner/name
        self._ids = iter(range(1000, 10**9))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.api_url = f"{self.url}/api/v3"

    # -- running ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.httpd.serve_forever, args=(0.05,), daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- accounts, apps and repositories ---------------------------------------------------

    def add_user(
        self,
        login: str,
        orgs: tuple[str, ...] | list[str] = (),
        teams: tuple[str, ...] | list[str] = (),
        email: str | None = None,
        *,
        name: str | None = None,
        public_email: bool = False,
        public_orgs: tuple[str, ...] | list[str] = (),
        scopes: tuple[str, ...] = DEFAULT_SCOPES,
    ) -> str:
        """Create a user and return an OAuth token (`gho_...`) of theirs with `scopes`.

        `teams` are "org:team-slug" (as oauthenticator's allowed_organizations); a team's
        members are members of its organisation. Memberships are private unless listed in
        `public_orgs`, and `email` (primary, verified) is private unless `public_email`."""
        key = login.lower()
        if key in self._accounts or key in self._orgs:
            raise ValueError(f"{login} exists")
        team_pairs = {tuple(t.split(":", 1)) for t in teams}
        all_orgs = {*orgs, *public_orgs, *(org for org, _ in team_pairs)}
        for org in all_orgs:
            self._org(org)
        self._accounts[key] = Account(
            login=login,
            id=next(self._ids),
            name=name,
            email=email,
            public_email=public_email,
            orgs={o.lower() for o in all_orgs},
            public_orgs={o.lower() for o in public_orgs},
            teams={(o.lower(), t.lower()) for o, t in team_pairs},
        )
        return self.token_for(login, scopes)

    def token_for(self, login: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        """Another token of an existing user (a personal access token is `ghp_`-shaped alike)."""
        account = self._accounts[login.lower()]
        token = mint_token()
        with self._lock:
            self._tokens[token] = Token(token, account.login, tuple(scopes))
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def add_oauth_app(self, client_id: str, secret: str, callback_url: str | None = None) -> None:
        """An OAuth app; with `callback_url`, redirect_uri must be under it as GitHub checks."""
        self._apps[client_id] = (secret, callback_url)

    def add_repo(
        self,
        full_name: str,
        source: Path,
        private: bool = True,
        *,
        default_branch: str = "main",
        collaborators: tuple[str, ...] = (),
    ) -> Path:
        """A bare repository `owner/name` from `source`: an existing git repository (cloned
        with all its branches) or a folder of files (committed on `default_branch`). Returns
        the bare repository's path. Who may read a private one: the owner (a user), the
        members of the owner (an organisation), and `collaborators`."""
        owner, name = full_name.split("/")
        path = self.git_root / owner / f"{name}.git"
        source = Path(source)
        if (source / ".git").exists() or (source / "HEAD").is_file():
            self._git(None, "clone", "--quiet", "--bare", str(source), str(path))
            default_branch = self._git(path, "symbolic-ref", "--short", "HEAD").strip()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._git(None, "init", "--quiet", "--bare", "-b", default_branch, str(path))
            with tempfile.TemporaryDirectory() as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                self._git(path, f"--work-tree={source}", "add", "-A", ".", env=env, cwd=source)
                tree = self._git(path, "write-tree", env=env).strip()
            sha = self._git(path, "commit-tree", tree, "-m", "Initial commit").strip()
            self._git(path, "update-ref", f"refs/heads/{default_branch}", sha)
        if owner.lower() not in self._accounts:
            self._org(owner)
        self._repos[full_name.lower()] = Repo(
            owner=owner,
            name=name,
            private=private,
            path=path,
            default_branch=default_branch,
            id=next(self._ids),
            collaborators={c.lower() for c in collaborators},
        )
        return path

    def commit(
        self,
        full_name: str,
        files: dict[str, str | bytes | None],
        branch: str | None = None,
        message: str = "Update files",
    ) -> str:
        """Commit `files` (path -> content, None deletes) on `branch` (made from the default
        branch if new), as a push would. Returns the new commit's sha."""
        repo = self._repos[full_name.lower()]
        branch = branch or repo.default_branch
        parent = self._rev(repo, branch) or self._rev(repo, repo.default_branch)
        with tempfile.TemporaryDirectory() as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self._git(repo.path, "read-tree", parent, env=env)
            for path, content in files.items():
                if content is None:
                    self._git(repo.path, "update-index", "--force-remove", "--", path, env=env)
                    continue
                data = content.encode() if isinstance(content, str) else content
                blob = self._git(repo.path, "hash-object", "-w", "--stdin", input=data).strip()
                self._git(
                    repo.path,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"100644,{blob},{path}",
                    env=env,
                )
            tree = self._git(repo.path, "write-tree", env=env).strip()
        args = ["-p", parent] if parent else []
        sha = self._git(repo.path, "commit-tree", tree, *args, "-m", message).strip()
        self._git(repo.path, "update-ref", f"refs/heads/{branch}", sha)
        return sha

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}.git"

    def html_url(self, full_name: str) -> str:
        return f"{self.url}/{full_name}"

    # -- the model -------------------------------------------------------------------------

    def _org(self, org: str) -> int:
        key = org.lower()
        if key in self._accounts:
            raise ValueError(f"{org} is a user, not an organisation")
        if key not in self._orgs:
            self._orgs[key], self._org_names[key] = next(self._ids), org
        return self._orgs[key]

    def _git_bytes(
        self,
        repo: Path | None,
        *args: str,
        input: bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
    ) -> bytes | None:
        """git's output, None if it failed (or an exception if `check`)."""
        prefix = ["git", f"--git-dir={repo}"] if repo else ["git"]
        result = subprocess.run(
            [*prefix, *args],
            input=input,
            capture_output=True,
            cwd=cwd,
            check=False,
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self.root),
                **GIT_ENV,
                **(env or {}),
            },
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {result.stderr.decode().strip()}")
        return result.stdout if result.returncode == 0 else None

    def _git(self, repo: Path | None, *args: str, **kwargs) -> str:
        return (self._git_bytes(repo, *args, **kwargs) or b"").decode()

    def _rev(self, repo: Repo, ref: str) -> str | None:
        """The commit `ref` (a branch, tag or full or abbreviated sha) names, or None."""
        if not SAFE_REF.match(ref) or ".." in ref or ref.startswith(("-", "/")):
            return None
        out = self._git(
            repo.path,
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
            check=False,
        )
        return out.strip() or None

    def _has_access(self, login: str, repo: Repo) -> bool:
        account = self._accounts.get(login.lower())
        if account is None:
            return False
        owner = repo.owner.lower()
        return (
            owner == account.login.lower()
            or owner in account.orgs
            or account.login.lower() in repo.collaborators
        )

    def _can_read(self, token: Token | None, repo: Repo) -> bool:
        if not repo.private:
            return True
        return (
            token is not None
            and has_scope(token.scopes, "repo")
            and self._has_access(token.login, repo)
        )

    def _can_write(self, token: Token | None, repo: Repo) -> bool:
        needed = "repo" if repo.private else "public_repo"
        return (
            token is not None
            and has_scope(token.scopes, needed)
            and self._has_access(token.login, repo)
        )

    def _sees_private_members(self, token: Token | None, org: str) -> bool:
        """A caller sees private membership if a member of the org and granted read:org."""
        if token is None or not has_scope(token.scopes, "read:org"):
            return False
        return org in self._accounts[token.login.lower()].orgs

    # -- JSON shapes, as GitHub's ----------------------------------------------------------

    def _user_json(self, account: Account) -> dict:
        return {
            "login": account.login,
            "id": account.id,
            "node_id": f"U_{account.id}",
            "avatar_url": f"{self.url}/avatars/u/{account.id}",
            "gravatar_id": "",
            "url": f"{self.api_url}/users/{account.login}",
            "html_url": f"{self.url}/{account.login}",
            "type": "User",
            "site_admin": False,
            "name": account.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": account.email if account.public_email else None,
            "hireable": None,
            "bio": None,
        }

    def _org_json(self, org: str) -> dict:
        login = self._org_names[org]
        return {
            "login": login,
            "id": self._orgs[org],
            "node_id": f"O_{self._orgs[org]}",
            "url": f"{self.api_url}/orgs/{login}",
            "repos_url": f"{self.api_url}/orgs/{login}/repos",
            "members_url": f"{self.api_url}/orgs/{login}/members{{/member}}",
            "public_members_url": f"{self.api_url}/orgs/{login}/public_members{{/member}}",
            "avatar_url": f"{self.url}/avatars/u/{self._orgs[org]}",
            "description": None,
        }

    def _team_json(self, org: str, slug: str) -> dict:
        number = int(hashlib.sha256(f"{org}:{slug}".encode()).hexdigest()[:7], 16)
        return {
            "id": number,
            "node_id": f"T_{number}",
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "permission": "pull",
            "url": f"{self.api_url}/teams/{number}",
            "html_url": f"{self.url}/orgs/{self._org_names[org]}/teams/{slug}",
            "members_url": f"{self.api_url}/teams/{number}/members{{/member}}",
            "repositories_url": f"{self.api_url}/teams/{number}/repos",
            "parent": None,
            "organization": self._org_json(org),
        }

    def _repo_json(self, repo: Repo) -> dict:
        owner = self._accounts.get(repo.owner.lower())
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "visibility": "private" if repo.private else "public",
            "owner": {"login": repo.owner, "type": "User" if owner else "Organization"},
            "html_url": self.html_url(repo.full_name),
            "clone_url": self.clone_url(repo.full_name),
            "url": f"{self.api_url}/repos/{repo.full_name}",
            "default_branch": repo.default_branch,
        }

    # -- HTTP ------------------------------------------------------------------------------

    def _secrets(self) -> list[str]:
        return [*self._tokens, *(secret for secret, _ in self._apps.values())]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "GitHub.com"
            sys_version = ""

            def send_response(self, code, message=None):
                self.status = code
                super().send_response(code, message)

            def do_GET(self):
                self.dispatch()

            def do_POST(self):
                self.dispatch()

            def do_PUT(self):
                self.dispatch()

            def do_DELETE(self):
                self.dispatch()

            def do_PATCH(self):
                self.dispatch()

            def dispatch(self):
                self.status, self.auth, self.login = None, "none", None
                raw = self.path
                try:
                    self.route()
                except Exception as exc:  # a fault of the fake: said, not a dropped connection
                    if self.status is None:
                        self.reply(500, {"message": f"fake GitHub: {exc!r}"})
                    raise
                finally:
                    fake.requests.append(fake._record(self, raw))

            def route(self):
                url = urlsplit(self.path)
                path = url.path
                self.query = dict(parse_qsl(url.query, keep_blank_values=True))
                self.body = read_body(self) if self.command in ("POST", "PUT", "PATCH") else b""
                if path == "/login/oauth/authorize" and self.command == "GET":
                    return fake._authorize(self)
                if path == "/login/oauth/access_token" and self.command == "POST":
                    return fake._access_token(self)
                if path == "/api/v3" or path.startswith("/api/v3/"):
                    return fake._api(self, path.removeprefix("/api/v3"))
                match = GIT_PATH.match(path)
                if match and self.command in ("GET", "POST"):
                    return fake._git_http(self, *match.groups(), url.query)
                self.reply(404, "Not Found", "text/plain")

            def reply(self, status, body=None, content_type="application/json", headers=()):
                if body is None:
                    data = b""
                elif isinstance(body, bytes):
                    data = body
                elif isinstance(body, str):
                    data = body.encode()
                else:
                    data = json.dumps(body).encode()
                self.send_response(status)
                if data or content_type != "application/json":
                    if content_type == "application/json":
                        content_type += "; charset=utf-8"
                    self.send_header("Content-Type", content_type)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler

    def _record(self, handler, raw: str) -> Request:
        """The request as `fake.requests` keeps it: secret query values and any path segment
        that is a token or client secret blanked, and whether a secret was there at all."""
        known = set(self._secrets())
        path, _, query = raw.partition("?")
        params = parse_qsl(query, keep_blank_values=True)
        pieces = set(re.split(r"[/?&=;,:@\s]+", unquote(raw)))
        secret_in_url = bool(pieces & known) or any(
            k in SECRET_PARAMS - {"code"} for k, _ in params
        )
        path = "/".join("***" if unquote(part) in known else part for part in path.split("/"))
        if query:
            path += "?" + "&".join(
                f"{quote(k)}=***" if k in SECRET_PARAMS or v in known else f"{quote(k)}={quote(v)}"
                for k, v in params
            )
        return Request(
            handler.command, path, handler.auth, handler.login, handler.status, secret_in_url
        )

    # -- OAuth web flow --------------------------------------------------------------------

    @staticmethod
    def _under_callback(callback: str, redirect: str) -> bool:
        """GitHub's rule: same scheme and host, same port (any port for loopback), and a
        path at or under the callback's path."""
        c, r = urlsplit(callback), urlsplit(redirect)
        loopback = c.hostname in ("127.0.0.1", "localhost", "::1")
        path = c.path.rstrip("/")
        return (
            c.scheme == r.scheme
            and c.hostname == r.hostname
            and (c.port == r.port or loopback)
            and (r.path.rstrip("/") == path or r.path.startswith(path + "/"))
        )

    def _authorize(self, h) -> None:
        q = h.query
        app = self._apps.get(q.get("client_id", ""))
        if app is None:
            return h.reply(404, "<h1>Page not found</h1>", "text/html; charset=utf-8")
        callback = app[1]
        redirect_uri = q.get("redirect_uri") or callback
        if not redirect_uri:
            return h.reply(400, "<h1>No redirect_uri</h1>", "text/html; charset=utf-8")
        state = {"state": q["state"]} if "state" in q else {}
        if callback and not self._under_callback(callback, redirect_uri):
            error = {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback "
                "URL for this application.",
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                "troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
            }
            return self._redirect(h, callback, {**error, **state})
        login = self.next_login or q.get("login")
        account = self._accounts.get((login or "").lower())
        if account is None:  # nobody signed in: GitHub shows its sign-in page
            return h.reply(200, "<h1>Sign in to GitHub</h1>", "text/html; charset=utf-8")
        if self.deny_authorization:
            error = {
                "error": "access_denied",
                "error_description": "The user has denied your application access.",
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/"
                "troubleshooting-authorization-request-errors/#access-denied",
            }
            return self._redirect(h, redirect_uri, {**error, **state})
        scopes = tuple(dict.fromkeys(s for s in re.split(r"[\s,]+", q.get("scope", "")) if s))
        code = secrets.token_hex(10)
        with self._lock:
            self._grants[code] = Grant(
                client_id=q["client_id"],
                login=account.login,
                redirect_uri=redirect_uri,
                scopes=scopes,
                challenge=q.get("code_challenge"),
                method=q.get("code_challenge_method", "plain"),
                created=time.monotonic(),
            )
        h.login = account.login
        self._redirect(h, redirect_uri, {"code": code, **state})

    @staticmethod
    def _redirect(h, url: str, params: dict) -> None:
        separator = "&" if urlsplit(url).query else "?"
        h.reply(302, None, headers=[("Location", f"{url}{separator}{urlencode(params)}")])

    def _access_token(self, h) -> None:
        params = dict(h.query)
        content_type = h.headers.get("Content-Type", "")
        if "json" in content_type:
            with contextlib.suppress(ValueError, AttributeError):
                params.update({k: str(v) for k, v in json.loads(h.body or b"{}").items()})
        else:
            params.update(parse_qsl(h.body.decode(errors="replace"), keep_blank_values=True))
        basic = basic_credentials(h.headers.get("Authorization"))
        if basic:
            params.setdefault("client_id", basic[0])
            params.setdefault("client_secret", basic[1])

        def answer(body: dict) -> None:  # GitHub answers 200 even for errors
            if "json" in h.headers.get("Accept", ""):
                return h.reply(200, body)
            return h.reply(200, urlencode(body), "application/x-www-form-urlencoded; charset=utf-8")

        def error(code: str, description: str, anchor: str) -> None:
            uri = (
                "https://docs.github.com/apps/managing-oauth-apps/"
                f"troubleshooting-oauth-app-access-token-request-errors/#{anchor}"
            )
            answer({"error": code, "error_description": description, "error_uri": uri})

        app = self._apps.get(params.get("client_id", ""))
        if app is None or not secrets.compare_digest(app[0], params.get("client_secret", "")):
            h.auth = "bad"
            return error(
                "incorrect_client_credentials",
                "The client_id and/or client_secret passed are incorrect.",
                "incorrect-client-credentials",
            )
        h.auth = "ok"
        if params.get("grant_type", "authorization_code") != "authorization_code":
            return error(
                "unsupported_grant_type",
                "The grant type is not supported.",
                "unsupported-grant-type",
            )
        with self._lock:
            grant = self._grants.pop(params.get("code", ""), None)  # a code is used once
        if (
            grant is None
            or grant.client_id != params["client_id"]
            or time.monotonic() - grant.created > CODE_LIFETIME
        ):
            return error(
                "bad_verification_code",
                "The code passed is incorrect or expired.",
                "bad-verification-code",
            )
        if params.get("redirect_uri") and params["redirect_uri"] != grant.redirect_uri:
            return error(
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
                "redirect-uri-mismatch",
            )
        if grant.challenge:  # PKCE (RFC 7636)
            verifier = params.get("code_verifier", "")
            if grant.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if not verifier or not secrets.compare_digest(verifier, grant.challenge):
                return error(
                    "bad_verification_code",
                    "The code_verifier does not match the code_challenge.",
                    "bad-verification-code",
                )
        token = mint_token()
        with self._lock:
            self._tokens[token] = Token(token, grant.login, grant.scopes)
        h.login = grant.login
        # GitHub's scope is comma-separated ("repo,read:org"), not space-separated
        answer({"access_token": token, "token_type": "bearer", "scope": ",".join(grant.scopes)})

    # -- REST API --------------------------------------------------------------------------

    def _api_token(self, h) -> Token | None:
        header = h.headers.get("Authorization")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer"):
            value = value.strip()
        elif scheme.lower() == "basic":
            value = (basic_credentials(header) or ("", ""))[1]
        else:
            value = ""
        token = self._tokens.get(value)
        h.auth, h.login = ("ok", token.login) if token else ("bad", None)
        return token

    def _api(self, h, path: str) -> None:
        def fail(status: int, message: str, doc: str = "") -> None:
            h.reply(
                status, {"message": message, "documentation_url": DOCS + doc, "status": str(status)}
            )

        if not h.headers.get("User-Agent"):
            return h.reply(
                403,
                "Request forbidden by administrative rules. Please make sure "
                "your request has a User-Agent header.",
                "text/plain",
            )
        token = self._api_token(h)
        if h.auth == "bad":
            return fail(401, "Bad credentials")
        headers = [("X-GitHub-Media-Type", "github.v3; format=json")]
        if token:
            headers.append(("X-OAuth-Scopes", ", ".join(token.scopes)))

        def ok(body, status=200, extra=()):
            h.reply(status, body, headers=[*headers, *extra])

        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if h.command != "GET":
            return fail(404, "Not Found")
        me = self._accounts[token.login.lower()] if token else None
        match parts:
            case ["user", *rest] if me is None:
                return fail(401, "Requires authentication", "/users/users")
            case ["user"]:
                return ok(self._user_json(me))
            case ["user", "emails"]:
                if not has_scope(token.scopes, "user:email"):
                    return fail(404, "Not Found", "/users/emails")
                emails = [
                    {
                        "email": me.email,
                        "primary": True,
                        "verified": True,
                        "visibility": "public" if me.public_email else "private",
                    }
                ]
                return ok(emails if me.email else [])
            case ["user", "orgs"]:
                private = has_scope(token.scopes, "read:org") or has_scope(token.scopes, "user")
                orgs = sorted(me.orgs if private else me.public_orgs)
                return self._page(h, [self._org_json(o) for o in orgs], headers)
            case ["user", "teams"]:
                if not any(has_scope(token.scopes, s) for s in ("read:org", "repo", "user")):
                    return fail(403, "Missing the read:org, repo or user scope", "/teams/teams")
                teams = [self._team_json(o, t) for o, t in sorted(me.teams)]
                return self._page(h, teams, headers)
            case ["users", login] if login.lower() in self._accounts:
                return ok(self._user_json(self._accounts[login.lower()]))
            case ["orgs", org] if org.lower() in self._orgs:
                return ok(self._org_json(org.lower()))
            case ["orgs", org, "members", user] if org.lower() in self._orgs:
                org, member = org.lower(), self._accounts.get(user.lower())
                if self._sees_private_members(token, org):
                    return (
                        ok(None, 204) if member and org in member.orgs else fail(404, "Not Found")
                    )
                location = f"{self.api_url}/orgs/{self._org_names[org]}/public_members/{user}"
                return ok(None, 302, [("Location", location)])
            case ["orgs", org, "public_members", user] if org.lower() in self._orgs:
                member = self._accounts.get(user.lower())
                if member and org.lower() in member.public_orgs:
                    return ok(None, 204)
                return fail(404, "Not Found")
            case ["orgs", org, "teams", team, "members" | "memberships" as kind, user]:
                org, team = org.lower(), team.lower()
                exists = any((org, team) in a.teams for a in self._accounts.values())
                if not exists or not self._sees_private_members(token, org):
                    return fail(404, "Not Found")
                member = self._accounts.get(user.lower())
                if not member or (org, team) not in member.teams:
                    return fail(404, "Not Found")
                if kind == "members":  # what oauthenticator asks: 204 or 404
                    return ok(None, 204)
                return ok(
                    {
                        "url": f"{self.api_url}/orgs/{org}/teams/{team}/memberships/{user}",
                        "role": "member",
                        "state": "active",
                    }
                )
            case ["repos", owner, name, *rest]:
                repo = self._repos.get(f"{owner}/{name}".lower())
                if repo is None or not self._can_read(token, repo):
                    return fail(404, "Not Found", "/repos/repos#get-a-repository")
                return self._repo_api(h, repo, rest, ok, fail)
        return fail(404, "Not Found")

    def _page(self, h, items: list, headers: list) -> None:
        """GitHub's pagination: per_page (at most 100) and page, with a Link header."""
        per_page = min(int(h.query.get("per_page") or 30), 100)
        page = max(int(h.query.get("page") or 1), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        extra = list(headers)
        if page * per_page < len(items):
            base = f"{self.url}{urlsplit(h.path).path}"
            following = urlencode({"per_page": per_page, "page": page + 1})
            extra.append(("Link", f'<{base}?{following}>; rel="next"'))
        h.reply(200, chunk, headers=extra)

    def _repo_api(self, h, repo: Repo, rest: list[str], ok, fail) -> None:
        accept = h.headers.get("Accept", "")
        match rest:
            case []:
                return ok(self._repo_json(repo))
            case ["commits", *ref] if ref:
                ref = "/".join(ref)
                sha = self._rev(repo, ref)
                if sha is None:
                    return fail(
                        422, f"No commit found for SHA: {ref}", "/commits/commits#get-a-commit"
                    )
                if "application/vnd.github.sha" in accept:
                    return h.reply(200, sha, "application/vnd.github.sha; charset=utf-8")
                return ok(self._commit_json(repo, sha))
            case ["contents", *path]:
                ref = h.query.get("ref") or repo.default_branch
                sha = self._rev(repo, ref)
                if sha is None:
                    return fail(
                        404,
                        f"No commit found for the ref {ref}",
                        "/repos/contents#get-repository-content",
                    )
                path = "/".join(p for p in path if p)
                if any(p in ("..", ".") for p in path.split("/")):
                    return fail(404, "Not Found", "/repos/contents#get-repository-content")
                return self._contents(h, repo, sha, ref, path, ok, fail)
        return fail(404, "Not Found")

    def _commit_json(self, repo: Repo, sha: str) -> dict:
        form = "--format=%T%n%P%n%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%B"
        fields = self._git(repo.path, "show", "-s", form, sha)
        tree, parents, an, ae, ad, cn, ce, cd, message = fields.split("\n", 8)
        return {
            "sha": sha,
            "node_id": f"C_{sha}",
            "url": f"{self.api_url}/repos/{repo.full_name}/commits/{sha}",
            "html_url": f"{self.html_url(repo.full_name)}/commit/{sha}",
            "commit": {
                "message": message.rstrip("\n"),
                "tree": {"sha": tree},
                "author": {"name": an, "email": ae, "date": ad},
                "committer": {"name": cn, "email": ce, "date": cd},
            },
            "parents": [{"sha": p} for p in parents.split()],
        }

    def _contents(self, h, repo: Repo, sha: str, ref: str, path: str, ok, fail) -> None:
        spec = f"{sha}:{path}" if path else f"{sha}^{{tree}}"
        kind = self._git(repo.path, "cat-file", "-t", spec, check=False).strip()
        api = f"{self.api_url}/repos/{repo.full_name}/contents"

        def entry(name_path: str, object_type: str, object_sha: str, size: int) -> dict:
            is_file = object_type == "blob"
            web = f"{self.html_url(repo.full_name)}/{'blob' if is_file else 'tree'}/{ref}"
            git_url = f"{self.api_url}/repos/{repo.full_name}/git/{'blobs' if is_file else 'trees'}"
            raw = f"{self.url}/raw/{repo.full_name}/{ref}/{name_path}"
            return {
                "type": "file" if is_file else "dir",
                "name": name_path.rsplit("/", 1)[-1],
                "path": name_path,
                "sha": object_sha,
                "size": size if is_file else 0,
                "url": f"{api}/{quote(name_path)}?ref={quote(ref)}",
                "html_url": f"{web}/{name_path}",
                "git_url": f"{git_url}/{object_sha}",
                "download_url": raw if is_file else None,
            }

        if kind == "blob":
            data = self._git_bytes(repo.path, "cat-file", "blob", spec, check=False) or b""
            if "application/vnd.github.raw" in h.headers.get("Accept", ""):
                return h.reply(200, data, "application/vnd.github.raw; charset=utf-8")
            blob = self._git(repo.path, "rev-parse", spec).strip()
            body = entry(path, "blob", blob, len(data))
            if len(data) <= 1024 * 1024:  # GitHub wraps its base64 at 60 characters
                encoded = base64.b64encode(data).decode()
                body["content"] = "".join(
                    encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60)
                )
                body["encoding"] = "base64"
            else:  # above 1 MB GitHub sends no content
                body["content"], body["encoding"] = "", "none"
            return ok(body)
        if kind == "tree":
            listing = []
            for line in self._git(repo.path, "ls-tree", "-l", spec).splitlines():
                meta, name = line.split("\t", 1)
                _, object_type, object_sha, size = meta.split()
                full = f"{path}/{name}" if path else name
                listing.append(
                    entry(full, object_type, object_sha, int(size) if size != "-" else 0)
                )
            return ok(listing)
        return fail(404, "Not Found", "/repos/contents#get-repository-content")

    # -- git over HTTP ---------------------------------------------------------------------

    def _git_http(self, h, owner: str, name: str, action: str, query: str) -> None:
        service = h.query.get("service") if action == "info/refs" else action
        if service not in ("git-upload-pack", "git-receive-pack"):
            return h.reply(403, "Dumb HTTP is not supported.", "text/plain")  # smart HTTP only
        push = service == "git-receive-pack"
        repo = self._repos.get(f"{owner}/{name}".lower())
        credentials = basic_credentials(h.headers.get("Authorization"))
        token = self._tokens.get(credentials[1]) if credentials else None
        if credentials:
            h.auth, h.login = ("ok", token.login) if token else ("bad", None)
        if credentials and token is None:
            message = b"Invalid username or token. Password authentication is not supported"
            return refuse_basic(h, "GitHub", message + b" for Git operations.\n")
        if not (repo and not repo.private and not push) and token is None:
            return refuse_basic(h, "GitHub")  # also for a repository that does not exist
        if repo is None or not self._can_read(token, repo):
            return h.reply(404, "Repository not found.\n", "text/plain")
        if push and not self._can_write(token, repo):
            who = token.login if token else "anonymous"
            denied = f"Permission to {repo.full_name}.git denied to {who}.\n"
            return h.reply(403, denied, "text/plain")
        path_info = f"/{repo.owner}/{repo.name}.git/{action}"
        serve_git(h, self.git_root, path_info, query, h.body, token.login if push else None)
