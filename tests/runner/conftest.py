"""The runner's tests leave no job disk mounted: a runner stopped while its job ran keeps
the job's folder (its own file system, loop-mounted) for the next runner to follow on; at
the end of the session those still mounted under the session's temporary folder are
unmounted, so that pytest can delete the folder and no loop device is left."""

from __future__ import annotations

import pytest

from jupyter_ext.runner.quota import mounts_under, unmount


@pytest.fixture(scope="session", autouse=True)
def no_job_disk_left(tmp_path_factory):
    yield
    for mount in mounts_under(tmp_path_factory.getbasetemp()):
        unmount(mount)
