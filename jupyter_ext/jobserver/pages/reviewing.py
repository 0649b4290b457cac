"""The release page's forms: a checker's vote, a comment, the author's withdrawal and the
publisher's publication. Each calls the API's own route function, so the review's rules
(hidden votes, no self-review, what each state allows) decide here as everywhere."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from .. import orm
from ..deps import Caller
from ..errors import ProblemError
from ..routes import jobs, releases, reviews
from . import field, field_list, form
from .work import see

RELEASE = "/{org}/{project}/{workspace}/releases/{release_id}"
DONE = {
    "requested": "Your release request is sent: output checkers are asked to review it.",
    "voted": "Your vote is recorded. The others' votes show once all have voted.",
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
    job = jobs.get_job(identifier, caller, session)
    paths = field_list(fields, "file")
    context, control = field(fields, "context"), field(fields, "disclosure_control")
    if not paths or not context.strip() or not control.strip():
        raise ProblemError(
            422, "tick the files, and say what they show and how small numbers were handled"
        )
    group = schema.ReleaseGroup(
        context=context,
        disclosure_control=control,
        files=[{"job": identifier, "path": p} for p in paths],
    )
    body = schema.ReleaseCreate(
        workspace=job.workspace,
        backend=job.backend,
        groups={field(fields, "group") or "results": group},
    )
    made = releases.request_release(body, request, caller, session)
    workspace = session.scalar(select(orm.Workspace).where(orm.Workspace.name == job.workspace))
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
    row = releases.release_row(caller, session, release_id)
    voted = any(
        r.reviewer_id == caller.user.id for f in row.files if f.id == file_id for r in f.reviews
    )
    act = reviews.change_review if voted else reviews.review_file
    act(release_id, file_id, body, request, caller, session)
    return _back(request, org, project, workspace, release_id, "voted")


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
    reviews.comment(release_id, file_id, schema.CommentCreate(text=text), request, caller, session)
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
    releases.publish(release_id, request, caller, session)
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
    releases.withdraw(release_id, request, caller, session)
    return _back(request, org, project, workspace, release_id, "withdrawn")
