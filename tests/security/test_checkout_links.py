"""Attack: a repository whose symbolic links lead out of the checkout once all are there.

`git archive` sorts entries by path, so the names below put the link that is checked
first either before or after the link that changes where it points. `tarfile`'s "data"
filter checks each link as it meets it; the checkout writes the tree first and checks
every link against the finished tree, so neither order gets out.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from jupyter_ext.runner.checkout import CheckoutError, checkout
from jupyter_ext.runner.executors import LocalExecutor

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, git
from ..runner.test_local_runner import RunnerThread, submit, wait_for

PROJECT = """version: "5"
actions:
  write:
    run: python:v2 write.py
    outputs: {highly_sensitive: {x: out/x.txt}}
"""
# The job would write through the link named first; the checkout must refuse before.
WRITE = """import os, pathlib
for link in ("x", "a", "b", "z", "escape"):
    if os.path.lexists(link):
        try:
            pathlib.Path(link, "owned-by-the-job").write_text("escaped")
        except OSError:
            pass
pathlib.Path("out").mkdir()
pathlib.Path("out/x.txt").write_text("x")
"""

# name: (links in the order they are written to the work tree, the link refused)
CHAINS = {
    # x -> y/.. looks inside while y does not exist; y -> . is inside; together: ..
    "combined, dependent link first": ({"x": "y/..", "y": "."}, "x"),
    "combined, dependent link last": ({"b": "a/..", "a": "."}, "b"),
    "the issue's chain": ({"a": "b/c", "b": "../../.."}, "a"),
    "the issue's chain reversed": ({"z": "b/c", "b": "../../.."}, "b"),
    "through a folder": ({"d/e/f": "../../g/..", "g": "d/e/../.."}, "d/e/f"),
    "absolute": ({"escape": "/etc"}, "escape"),
    "a loop": ({"l1": "l2/x", "l2": "l1/y"}, "l1"),
}


def repository(path: Path, links: dict[str, str], files: dict[str, str] | None = None) -> str:
    """A git repository with these files and symbolic links committed; its head sha."""
    path.mkdir(parents=True)
    for name, text in {"project.yaml": PROJECT, "write.py": WRITE, **(files or {})}.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    for name, target in links.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path / name)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "links")
    return git(path, "rev-parse", "HEAD")


def nothing_outside(root: Path, name: str = "owned-by-the-job") -> list[Path]:
    return [p for p in root.parent.rglob(name)] + [p for p in Path("/").glob(name)]


@pytest.mark.parametrize("case", list(CHAINS))
def test_a_chain_of_links_is_refused_whatever_their_order(tmp_path, case):
    links, refused = CHAINS[case]
    sha = repository(tmp_path / "repo", links)
    dest = tmp_path / "site" / "jobs" / "job"
    with pytest.raises(CheckoutError) as error:
        asyncio.run(checkout(str(tmp_path / "repo"), sha, dest, tmp_path / "site" / "repos", None))
    message = str(error.value)
    assert f"link {refused!r}" in message and "inside the repository" in message, message
    assert str(tmp_path) not in message  # no site path
    assert not dest.exists() and not list(dest.parent.iterdir())  # nothing half written


def test_links_inside_the_repository_are_kept(tmp_path):
    links = {"docs": "README.md", "lib/up": "../project.yaml", "lib/same": ".", "dangling": "gone"}
    sha = repository(tmp_path / "repo", links, {"README.md": "hello\n"})
    dest = tmp_path / "job"
    asyncio.run(checkout(str(tmp_path / "repo"), sha, dest, tmp_path / "repos", None))
    assert (dest / "docs").read_text() == "hello\n"
    assert os.readlink(dest / "lib" / "up") == "../project.yaml"
    assert (dest / "lib" / "same").is_symlink() and (dest / "write.py").is_file()
    assert oct((dest / "write.py").stat().st_mode & 0o777) == oct(0o644)


def _run_through_the_runner(tmp_path, executor) -> list[dict]:
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    names = []
    try:
        for i, (links, _) in enumerate(CHAINS.values()):
            repository(tmp_path / "repos" / f"links{i}", links)
            world.workspace("sample-study", f"links{i}", tmp_path / "repos" / f"links{i}")
            names.append(f"links{i}")
        with RunnerThread(world, tmp_path / "site", executor=executor):
            requests = [submit(world, name, "write") for name in names]
            return [wait_for(world, r["id"])["jobs"][0] for r in requests]
    finally:
        world.close()


def _assert_refused(tmp_path, jobs) -> None:
    for job, (_, refused) in zip(jobs, CHAINS.values(), strict=True):
        assert job["state"] == "failed", job
        assert job["status_message"].startswith("checkout failed"), job
        assert f"link {refused!r}" in job["status_message"], job
        assert str(tmp_path) not in job["status_message"]
    assert nothing_outside(tmp_path / "site") == []


def test_the_runner_refuses_them_with_the_local_executor(tmp_path):
    _assert_refused(tmp_path, _run_through_the_runner(tmp_path, LocalExecutor()))


@pytest.mark.usefixtures("docker_images")
def test_the_runner_refuses_them_with_the_docker_executor(tmp_path):
    from jupyter_ext.runner.executors.docker import DockerExecutor

    _assert_refused(tmp_path, _run_through_the_runner(tmp_path, DockerExecutor()))
