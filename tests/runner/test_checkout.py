"""Checking out with the user's token: through git's askpass, never in a URL or argument."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ext.runner.checkout import CheckoutError, checkout

from ..jobserver.harness import git, make_repo
from ..parts.git_http import GitHTTPServer

TOKEN = "ghp_" + "s3cret" * 6


@pytest.fixture
def served(tmp_path):
    sha = make_repo(tmp_path / "served" / "study.git")
    server = GitHTTPServer(tmp_path / "served", TOKEN)
    server.sha = sha
    yield server
    server.close()


def test_a_private_repository_checks_out_with_the_token_kept_secret(served, tmp_path):
    url = f"{served.url}/study.git"
    dest, cache = tmp_path / "job", tmp_path / "cache"
    asyncio.run(checkout(url, served.sha, dest, cache, TOKEN))
    assert (dest / "project.yaml").exists() and not (dest / ".git").exists()
    assert all(TOKEN not in path for path, _ in served.requests)  # never in a URL
    for path in cache.rglob("*"):  # nor written into the cache
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
    with pytest.raises(CheckoutError) as refused:
        asyncio.run(checkout(url, served.sha, tmp_path / "other", tmp_path / "c2", "ghp_wrong"))
    assert "ghp_wrong" not in str(refused.value)


def test_a_second_job_fetches_only_what_is_new_and_a_missing_commit_is_clear(served, tmp_path):
    url = f"{served.url}/study.git"
    cache = tmp_path / "cache"
    asyncio.run(checkout(url, served.sha, tmp_path / "one", cache, TOKEN))
    repo = tmp_path / "served" / "study.git"
    (repo / "extra.txt").write_text("new\n")
    git(repo, "add", "extra.txt")
    git(repo, "commit", "-qm", "second")
    new_sha = git(repo, "rev-parse", "HEAD")
    served.requests.clear()
    asyncio.run(checkout(url, new_sha, tmp_path / "two", cache, TOKEN))
    assert (tmp_path / "two" / "extra.txt").read_text() == "new\n"
    assert any("git-upload-pack" in path for path, _ in served.requests)  # a fetch, not a clone
    with pytest.raises(CheckoutError, match="does not exist"):
        asyncio.run(checkout(url, "0" * 40, tmp_path / "three", cache, TOKEN))


def test_jobs_of_a_repository_not_yet_cached_check_out_together(served, tmp_path):
    url = f"{served.url}/study.git"

    async def three_at_once():
        await asyncio.gather(
            *(
                checkout(url, served.sha, tmp_path / f"job{i}", tmp_path / "cache", TOKEN)
                for i in range(3)
            )
        )

    asyncio.run(three_at_once())
    assert all((tmp_path / f"job{i}" / "project.yaml").exists() for i in range(3))
    assert len(list((tmp_path / "cache").iterdir())) == 1  # one mirror, cloned once
