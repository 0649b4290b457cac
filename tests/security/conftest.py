"""Shared fixtures of the attack tests: a site under attack and its executors."""

from __future__ import annotations

import pytest

from .harness import Site


@pytest.fixture
def site(tmp_path):
    """The real job server with the sample world, and a site folder with neighbours."""
    attacked = Site(tmp_path)
    yield attacked
    attacked.close()


def executor_with(kind: str, request, **traits):
    """A `kind` executor ("local" or "docker") with those of `traits` it has (the others are
    some other executor's: a time limit is everyone's, a process limit Docker's alone)."""
    if kind == "docker":
        request.getfixturevalue("docker_images")
        from jupyter_ext.runner.executors.docker import DockerExecutor as cls
    else:
        from jupyter_ext.runner.executors.local import LocalExecutor as cls
    known = set(cls.class_trait_names())
    return cls(**{name: value for name, value in traits.items() if name in known})


@pytest.fixture(params=["local", "docker"])
def executor_kind(request) -> str:
    """Each attack is tried with the local executor and the Docker executor."""
    if request.param == "docker":
        request.getfixturevalue("docker_images")
    return request.param
