"""The fake GitHub (tests/parts/fake_github.py) driven by the real consumers: oauthenticator's
GitHubOAuthenticator signing people in, the job server's REST reads of project.yaml, and the
runner's `git clone` over HTTP. None of them is told it is a fake: only URLs point at it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oauthenticator.github import GitHubOAuthenticator
from tornado.web import HTTPError

from jupyter_ext.jobserver.repos import GitHub, RepositoryError
from jupyter_ext.runner.checkout import CheckoutError, checkout

from .conftest import SAMPLE_PROJECT
from .jobserver.harness import git, make_repo
from .parts.fake_github import FakeGitHub

CALLBACK = "http://127.0.0.1:8000/hub/oauth_callback"
CLIENT_ID, CLIENT_SECRET = "Iv1.hubclient", "hub-client-secret"
UA = {"User-Agent": "test"}


@pytest.fixture
def fake(tmp_path):
    with FakeGitHub(tmp_path / "github") as github:
        github.add_oauth_app(CLIENT_ID, CLIENT_SECRET, callback_url=CALLBACK)
        yield github
        assert not any(r.secret_in_url for r in github.requests), github.requests


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def state(value: dict) -> str:  # as oauthenticator serialises its OAuth state
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


class Callback:
    """What oauthenticator reads from the hub's OAuthCallbackHandler: the code GitHub sent
    back and the state cookie holding the PKCE verifier."""

    def __init__(self, code: str, cookie: str) -> None:
        self.code, self.cookie = code, cookie

    def get_argument(self, name: str, default=None):
        return self.code if name == "code" else default

    def get_state_cookie(self) -> str:
        return self.cookie


def browser_signs_in(fake: FakeGitHub, authenticator: GitHubOAuthenticator, login: str):
    """The browser's part: the hub's login handler sends it to authorize_url with the
    parameters oauthenticator's OAuthLoginHandler sets; GitHub sends it back with a code."""
    verifier = secrets.token_urlsafe(32)
    url_state = state({"state_id": "s1"})
    fake.next_login = login
    answer = httpx.get(
        authenticator.authorize_url,
        params={
            "response_type": "code",
            "client_id": authenticator.client_id,
            "redirect_uri": authenticator.get_callback_url(),
            "scope": " ".join(authenticator.scope),
            "state": url_state,
            "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == [url_state]
    cookie = state({"state_id": "s1", "next_url": None, "code_verifier": verifier})
    return Callback(query["code"][0], cookie)


def hub_authenticator(fake: FakeGitHub, **config) -> GitHubOAuthenticator:
    config = {"scope": ["read:org", "repo"], "client_secret": CLIENT_SECRET, **config}
    return GitHubOAuthenticator(
        github_url=fake.url, client_id=CLIENT_ID, oauth_callback_url=CALLBACK, **config
    )


def test_oauthenticator_signs_in_organisation_members_only(fake):
    fake.add_user("alice", orgs=["study-org"], email="alice@example.org", name="Alice")
    fake.add_user("bob", orgs=["other-org"])
    authenticator = hub_authenticator(fake, allowed_organizations={"study-org"})
    assert authenticator.authorize_url == f"{fake.url}/login/oauth/authorize"
    assert authenticator.token_url == f"{fake.url}/login/oauth/access_token"
    assert authenticator.userdata_url == f"{fake.api_url}/user"

    async def scenario():
        alice = browser_signs_in(fake, authenticator, "alice")
        model = await authenticator.get_authenticated_user(alice, None)
        assert model["name"] == "alice"
        token = model["auth_state"]["access_token"]
        assert token.startswith("gho_") and model["auth_state"]["github_user"]["name"] == "Alice"
        # GitHub's scope is comma-separated; oauthenticator 17.4 splits on spaces
        assert model["auth_state"]["token_response"]["scope"] == "read:org,repo"
        me = httpx.get(f"{fake.api_url}/user", headers={"Authorization": f"token {token}", **UA})
        assert me.json()["login"] == "alice"
        # a code is used once
        with pytest.raises(HTTPError) as reused:
            await authenticator.get_authenticated_user(alice, None)
        assert reused.value.status_code == 403
        # someone outside the organisation is refused
        bob = browser_signs_in(fake, authenticator, "bob")
        assert await authenticator.get_authenticated_user(bob, None) is None

    asyncio.run(scenario())
    calls = [(r.method, r.path.split("?")[0], r.status) for r in fake.requests]
    assert calls == [
        ("GET", "/login/oauth/authorize", 302),
        ("POST", "/login/oauth/access_token", 200),
        ("GET", "/api/v3/user", 200),
        ("GET", "/api/v3/orgs/study-org/members/alice", 204),
        ("GET", "/api/v3/user", 200),
        ("POST", "/login/oauth/access_token", 200),  # bad_verification_code
        ("GET", "/login/oauth/authorize", 302),
        ("POST", "/login/oauth/access_token", 200),
        ("GET", "/api/v3/user", 200),
        ("GET", "/api/v3/orgs/study-org/members/bob", 302),  # bob cannot see the org's
        ("GET", "/api/v3/orgs/study-org/public_members/bob", 404),  # private members
    ]
    assert [r.auth for r in fake.requests if r.path.startswith("/api/")] == ["ok"] * 6


def test_oauthenticator_teams_wrong_secret_and_private_membership(fake):
    fake.add_user("carol", teams=["study-org:analysts"])
    fake.add_user("dave", orgs=["study-org"])
    fake.add_user("erin", public_orgs=["study-org"])
    team = hub_authenticator(fake, allowed_organizations={"study-org:analysts"})
    wrong = hub_authenticator(fake, allowed_organizations={"study-org"}, client_secret="nope")
    no_read_org = hub_authenticator(fake, allowed_organizations={"study-org"}, scope=["repo"])

    async def scenario():
        carol = await team.get_authenticated_user(browser_signs_in(fake, team, "carol"), None)
        assert carol["name"] == "carol"
        assert await team.get_authenticated_user(browser_signs_in(fake, team, "dave"), None) is None
        with pytest.raises(HTTPError) as refused:
            await wrong.get_authenticated_user(browser_signs_in(fake, wrong, "dave"), None)
        assert refused.value.status_code == 403 and "incorrect" in refused.value.log_message
        # without read:org, GitHub answers for public membership only
        dave = browser_signs_in(fake, no_read_org, "dave")
        assert await no_read_org.get_authenticated_user(dave, None) is None
        erin = browser_signs_in(fake, no_read_org, "erin")
        assert (await no_read_org.get_authenticated_user(erin, None))["name"] == "erin"

    asyncio.run(scenario())
    calls = [(r.path, r.status) for r in fake.requests if "/orgs/" in r.path]
    assert calls == [
        ("/api/v3/orgs/study-org/teams/analysts/members/carol", 204),
        ("/api/v3/orgs/study-org/teams/analysts/members/dave", 404),
        ("/api/v3/orgs/study-org/members/dave", 302),
        ("/api/v3/orgs/study-org/public_members/dave", 404),
        ("/api/v3/orgs/study-org/members/erin", 302),
        ("/api/v3/orgs/study-org/public_members/erin", 204),
    ]
    assert [r.auth for r in fake.requests if r.path.endswith("access_token")].count("bad") == 1


def test_the_api_answers_with_githubs_status_codes(fake):
    alice = fake.add_user("alice", orgs=["study-org"], email="a@example.org", scopes=("user",))
    api = fake.api_url
    assert httpx.get(f"{api}/user", headers=UA).json()["message"] == "Requires authentication"
    bad = httpx.get(f"{api}/user", headers={"Authorization": "Bearer gho_wrong", **UA})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    no_agent = httpx.get(
        f"{api}/user", headers={"Authorization": f"token {alice}", "User-Agent": ""}
    )
    assert no_agent.status_code == 403
    me = {"Authorization": f"Bearer {alice}", **UA}
    assert httpx.get(f"{api}/user", headers=me).json()["email"] is None  # private email
    assert httpx.get(f"{api}/user/emails", headers=me).json()[0]["email"] == "a@example.org"
    assert [o["login"] for o in httpx.get(f"{api}/user/orgs", headers=me).json()] == ["study-org"]
    assert httpx.get(f"{api}/orgs/no-such-org/members/alice", headers=me).status_code == 404
    assert httpx.get(f"{api}/repos/study-org/nothing", headers=me).status_code == 404
    token = httpx.post(
        f"{fake.url}/login/oauth/access_token",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": "made-up"},
    )  # no Accept: application/json, so form-encoded as GitHub answers
    assert parse_qs(token.text)["error"] == ["bad_verification_code"]


def test_the_job_server_reads_project_yaml_at_a_branch_commit(fake):
    alice = fake.add_user("alice", orgs=["study-org"])
    bob = fake.add_user("bob")
    no_repo_scope = fake.token_for("alice", scopes=("read:org",))
    fake.add_repo("study-org/study", SAMPLE_PROJECT)
    fake.add_repo("bob/open", SAMPLE_PROJECT, private=False)
    source = GitHub(fake.api_url, fake.url)
    repo = fake.html_url("study-org/study")
    assert source.handles(repo) and source.needs_token(repo)
    sha = source.head(repo, "main", alice)
    expected = (SAMPLE_PROJECT / "project.yaml").read_text()
    assert source.read(repo, sha, "project.yaml", alice) == expected
    with pytest.raises(RepositoryError, match="refused the token"):
        source.head(repo, "main", "gho_" + "x" * 36)
    for token in (bob, no_repo_scope, None):  # private: as if it did not exist
        with pytest.raises(RepositoryError, match="or it is private"):
            source.head(repo, "main", token)
    with pytest.raises(RepositoryError, match="does not exist"):
        source.head(repo, "nope", alice)
    new = fake.commit("study-org/study", {"project.yaml": "version: '5'\n"}, branch="feature/x")
    assert source.head(repo, "feature/x", alice) == new != sha
    assert source.read(repo, new, "project.yaml", alice) == "version: '5'\n"
    assert source.read(repo, sha, "project.yaml", alice) == expected
    public = fake.html_url("bob/open")
    assert source.read(public, source.head(public, "main", None), "project.yaml", None) == expected
    source.client.close()
    assert {r.auth for r in fake.requests} == {"ok", "bad", "none"}


def test_the_runner_clones_a_private_repository_only_with_a_token_that_may(fake, tmp_path):
    alice = fake.add_user("alice", orgs=["study-org"])
    bob = fake.add_user("bob")
    sha = make_repo(tmp_path / "work" / "study")
    fake.add_repo("study-org/study", tmp_path / "work" / "study")
    url = fake.clone_url("study-org/study")
    dest, cache = tmp_path / "job", tmp_path / "cache"
    asyncio.run(checkout(url, sha, dest, cache, alice))
    assert (dest / "project.yaml").read_text() == (SAMPLE_PROJECT / "project.yaml").read_text()
    for path in cache.rglob("*"):  # the token is written nowhere
        if path.is_file():
            assert alice.encode() not in path.read_bytes(), path
    fetches = [r for r in fake.requests if r.path.startswith("/study-org/")]
    assert fetches[0].auth == "none" and fetches[0].status == 401  # git asks, then askpass
    assert {r.login for r in fetches[1:]} == {"alice"}
    with pytest.raises(CheckoutError) as wrong:
        asyncio.run(checkout(url, sha, tmp_path / "j2", tmp_path / "c2", "gho_" + "w" * 36))
    assert "w" * 36 not in str(wrong.value)
    with pytest.raises(CheckoutError, match="not found"):
        asyncio.run(checkout(url, sha, tmp_path / "j3", tmp_path / "c3", bob))
    new = fake.commit("study-org/study", {"extra.txt": "new\n"})
    asyncio.run(checkout(url, new, tmp_path / "j4", cache, alice))  # a fetch into the cache
    assert (tmp_path / "j4" / "extra.txt").read_text() == "new\n"
    assert git(tmp_path / "work" / "study", "rev-parse", "HEAD") == sha


def test_the_job_server_reading_a_folder_says_so(fake):
    alice = fake.add_user("alice", orgs=["study-org"])
    fake.add_repo("study-org/study", SAMPLE_PROJECT)
    source = GitHub(fake.api_url, fake.url)
    repo = fake.html_url("study-org/study")
    try:
        with pytest.raises(RepositoryError):
            source.read(repo, source.head(repo, "main", alice), "analysis", alice)
    finally:
        source.client.close()
