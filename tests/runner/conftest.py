"""Fixtures of the runner's tests: a private single-node Slurm cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..parts import PartMissing
from ..parts.slurm import SlurmCluster


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """One throwaway Slurm cluster (munged, slurmctld, slurmd) for the session, on loopback."""
    cluster = SlurmCluster()
    try:
        cluster.start()
    except PartMissing as e:
        pytest.skip(str(e))
    try:
        yield cluster
    finally:
        cluster.stop()
