"""The release page's forms: a checker's vote (and its withdrawal), a comment, the author's
withdrawal and the publisher's publication. Each calls the service the API calls
(`services/releases.py`, `services/reviews.py`), so the review's rules (hidden votes, no
self-review, what each state allows) decide here as everywhere."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ..callers import Caller
from ..errors import ProblemError
from ..services import jobs, releases, reviews
from . import field, field_list, form
from .work import see

RELEASE = "/{org}/{project}/{workspace}/releases/{release_id}"
DONE = {
    "requested": "Your release request is sent: output checkers are asked to review it.",
    "voted": "Your vote is recorded. The others' votes show once all have voted.",
    "unvoted": "Your vote is withdrawn: the file waits for the votes it still needs.",
    "commented": "Your comment is added.",
    "published": "Published: the backend's runner now uploads the approved files.",
    "withdrawn": "The release is withdrawn: nothing of it will be published.",
}


def _back(request: Request, org: str, project: str, workspace: str, release_id: str, done: str):
    return see(request, f"{org}/{project}/{workspace}/releases/{release_id}", done)


@form("/jobs/{identifier}/release")
def ask_for_release(
    request: Request, session: Session, caller: Caller, fields: FormData, identifier: str
):
    """A release of the ticked outputs of a succeeded job: the backend's rules judge them."""
    job = jobs.job_for(session, caller, identifier)
    paths = field_list(fields, "file")
    context, control = field(fields, "context"), field(fields, "disclosure_control")
    if not paths:  # what the group needs besides is the domain's to say (require_context)
        raise ProblemError(422, "tick the files to release")
    group = schema.ReleaseGroup(
        context=context,
        disclosure_control=control,
        files=[{"job": identifier, "path": p} for p in paths],
    )
    workspace = job.job_request.workspace
    body = schema.ReleaseCreate(
        workspace=workspace.name,
        backend=job.job_request.backend.slug,
        groups={field(fields, "group") or "results": group},
    )
    made = releases.request_release(session, caller, body, request.app.state.notifier)
    project = workspace.project
    return see(
        request,
        f"{project.org.slug}/{project.slug}/{workspace.name}/releases/{made.id}",
        "requested",
    )


@form(f"{RELEASE}/files/{{file_id}}/vote")
def vote(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    release_id: str,
    file_id: str,
):
    try:
        body = schema.ReviewCreate(
            decision=field(fields, "decision"), comment=field(fields, "comment")
        )
    except ValueError:
        raise ProblemError(422, "choose approve, request changes or reject") from None
    state = request.app.state
    reviews.vote(
        session,
        caller,
        release_id,
        file_id,
        body,
        change=reviews.has_voted(session, caller, release_id, file_id),
        required=state.settings.required_approvals,
        notifier=state.notifier,
    )
    return _back(request, org, project, workspace, release_id, "voted")


@form(f"{RELEASE}/files/{{file_id}}/withdraw-vote")
def withdraw_vote(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    release_id: str,
    file_id: str,
):
    """A checker takes their vote back, until the file is published."""
    required = request.app.state.settings.required_approvals
    reviews.withdraw_vote(session, caller, release_id, file_id, required=required)
    return _back(request, org, project, workspace, release_id, "unvoted")


@form(f"{RELEASE}/files/{{file_id}}/comment")
def comment(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    release_id: str,
    file_id: str,
):
    text = field(fields, "text").strip()
    if not text:
        raise ProblemError(422, "write a comment before sending it")
    reviews.comment(session, caller, release_id, file_id, schema.CommentCreate(text=text))
    return _back(request, org, project, workspace, release_id, "commented")


@form(f"{RELEASE}/publish")
def publish(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    release_id: str,
):
    state = request.app.state
    releases.publish(session, caller, release_id, state.settings.required_approvals, state.notifier)
    return _back(request, org, project, workspace, release_id, "published")


@form(f"{RELEASE}/withdraw")
def withdraw(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    release_id: str,
):
    releases.withdraw(session, caller, release_id, request.app.state.notifier)
    return _back(request, org, project, workspace, release_id, "withdrawn")
