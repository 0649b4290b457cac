"""GitHub tokens for checkouts: read when a job is leased, kept no longer than needed.

A token given with one job request (not saved) is that request's alone: encrypted on
it, and deleted the moment its last job ends, whichever way it ends (succeeded,
failed, cancelled, its lease expired, a job it needs failed). A saved token (the
user's, PUT /me/github-token) is never copied onto requests: it is read from the
user when a job is leased, so deleting or replacing it takes effect at once.
"""

from __future__ import annotations

from . import orm
from .security import Vault
from .states import FINISHED_JOB_STATES


def for_lease(request: orm.JobRequest, vault: Vault) -> str | None:
    """The token a job of `request` checks out with: its own, else its author's saved one."""
    sealed = request.github_token or request.created_by.github_token
    return vault.decrypt(sealed) if sealed is not None else None


def forget_when_finished(request: orm.JobRequest) -> None:
    """Delete the request's own token once every one of its jobs has ended."""
    if request.github_token is not None and all(
        job.state in FINISHED_JOB_STATES for job in request.jobs
    ):
        request.github_token = None
