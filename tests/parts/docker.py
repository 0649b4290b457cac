"""The Docker engine of this machine, and the locally built job images, for tests."""

from __future__ import annotations

import pytest

from . import PartMissing


def docker_client():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        raise PartMissing(
            f"the Docker engine is not running ({type(exc).__name__}): start dockerd "
            "(.ci/install-system.sh does)"
        ) from None
    return client


def images(*names: str) -> dict[str, str]:
    """The executor's images `names`, built from Debian on first use, kept after."""
    from jupyter_ext.runner.images import ImageBuildError, ensure_images

    try:
        client = docker_client()
        return ensure_images(client, names, log=lambda _: None)
    except (PartMissing, ImageBuildError) as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def docker_images():
    """The `python` image (about 40 s to build)."""
    return images("python")


@pytest.fixture(scope="session")
def notebook_image():
    """The `jupyter` image, for notebook actions (one to two minutes to build)."""
    return images("jupyter")
