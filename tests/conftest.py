"""Shared test set-up.

A test that needs a part this machine lacks skips with a reason; with
JUPYTER_EXT_REQUIRE_ALL=1 (as CI sets it) every such skip is a failure instead,
so a green CI run means every part really ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .parts import PartMissing
from .parts.docker import docker_images, notebook_image  # noqa: F401  (fixtures)
from .parts.postgres import PostgresCluster
from .parts.slurm import SlurmCluster

REPO = Path(__file__).resolve().parent.parent
SAMPLE_PROJECT = REPO / "notebooks" / "sample-project"
CORPUS = REPO.parent / "shared" / "corpus"
REQUIRE_ALL = os.environ.get("JUPYTER_EXT_REQUIRE_ALL") == "1"
# jp_serverapp, jp_fetch and friends: a real Jupyter server for the server extension's tests
pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, but JUPYTER_EXT_REQUIRE_ALL=1 turns skips into failures: {reason}"
        )


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    if not files:
        pytest.skip(f"the shared corpus of project.yaml files is not at {CORPUS}")
    return files


def running(part):
    """A part started for the session (skipped, saying why, if this machine lacks it)."""
    try:
        part.start()
    except PartMissing as e:
        pytest.skip(str(e))
    try:
        yield part
    finally:
        part.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """One throwaway PostgreSQL cluster for the whole session, on 127.0.0.1 only."""
    yield from running(PostgresCluster())


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = f"t_{secrets.token_hex(8)}"
    yield postgres_cluster.create_database(name)
    postgres_cluster.drop_database(name)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """One throwaway Slurm cluster (munged, slurmctld, slurmd) for the session, on loopback."""
    yield from running(SlurmCluster())
