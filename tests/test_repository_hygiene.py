"""A clone stays clean: what the demo and the servers make in the checkout is ignored, and
nothing in an ignored folder is committed (git would keep showing it, and the next run's
files would mix with it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from jupyter_ext.cli.demo import DemoApp

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(autouse=True)
def _a_checkout():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an installed package): nothing to keep clean")


def test_the_demo_folder_make_demo_uses_is_ignored():
    default = DemoApp.class_traits()["dir"].default_value
    assert f"--dir {default}" in (ROOT / "Makefile").read_text()
    assert git("check-ignore", f"{default}/tokens.json").strip() == f"{default}/tokens.json"


@pytest.mark.parametrize(
    "made", ["jupyter_ext_releases/ab/ab12", "jupyter_ext_runner/x", "jupyter_ext_jobserver.sqlite"]
)
def test_what_the_servers_make_where_they_start_is_ignored(made):
    assert git("check-ignore", made).strip() == made


def test_no_committed_file_is_in_an_ignored_place():
    assert git("ls-files", "--cached", "--ignored", "--exclude-standard") == ""
