"""What the administration pages' forms share: the API's request body made from a form's
fields (a sentence a person can act on when it is not valid), the post/redirect/get answer,
and the page's "older" link.

Every form posts to a handler that takes the caller from `form_caller` (the CSRF token
checked), builds the API's own request body, calls one domain function (`services`, so
the same permission table and rules decide), and answers with a redirect to the page. A
problem with the input re-renders the form with its sentence and writes nothing; a refusal
is a page that says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from ...schema.states import PROJECT_ROLES, Role
from ..errors import ProblemError
from ..pagination import encode_cursor
from ..permissions import Permission as P
from .render import environment, prefix_of

T = TypeVar("T")

# templates ask the same table: `caller.can(Permission.X)` shows a form only to who may use it
environment.globals["Permission"] = P

GLOBAL_ROLES = [r.value for r in Role]
MEMBER_ROLES = sorted(r.value for r in PROJECT_ROLES)
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
LISTED = 100  # rows of a list page; older ones are a link away

# what a redirect after a form says it did (fixed sentences: nothing from the address is shown)
DONE = {
    "sent": "Your application is sent: a reviewer will approve or reject it.",
    "approved": "Approved: the project is made, with the applicant as its coordinator.",
    "rejected": "Rejected: the applicant sees your reason.",
    "backend": "The backend is added. Give its runner a token: New runner token.",
    "org": "The organisation is made. Add its members and the backends it may use.",
    "org-member": "The member is added.",
    "org-member-removed": "The member is removed.",
    "org-backend": "The organisation may use that backend now.",
    "org-backend-removed": "The organisation may no longer use that backend.",
    "org-name": "The organisation's name is saved.",
    "roles": "The global roles are saved.",
    "project-member": "The member is added to the project.",
    "settings": "The project's settings are saved.",
    "member": "The member is added.",
    "member-roles": "The member's roles are saved.",
    "member-removed": "The member is removed from the project.",
}
LABELS = {
    "study_name": "Study name",
    "org": "Organisation",
    "purpose": "Purpose",
    "data": "Data",
    "backends": "Backends",
    "people": "People",
    "reason": "Reason",
    "slug": "Short name",
    "name": "Name",
    "log_policy": "Log policy",
    "username": "GitHub login",
    "roles": "Roles",
    "status": "Status",
    "backend": "Backend",
    "project": "Project",
    "max_running": "At most running at once",
    "jobs_per_day": "Jobs a day",
}


def sentence(errors: Iterable[dict], model: type[BaseModel]) -> str:
    """Pydantic's errors as one sentence a person can act on, field by field."""
    said = []
    for error in errors:
        name = str(error["loc"][0]) if error.get("loc") else ""
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
            what = "fill it in"
        elif kind == "too_short":
            what = f"choose at least {ctx.get('min_length', 1)}"
        elif kind == "string_pattern_mismatch" and ctx.get("pattern") == SLUG_PATTERN:
            what = "use lower-case letters, digits and hyphens, as in an address"
        elif kind == "string_too_long":
            what = f"at most {ctx.get('max_length')} characters"
        else:
            what = str(error.get("msg", "not valid")).removeprefix("Value error, ")
        said.append(f"{LABELS.get(name, name.replace('_', ' '))}: {what}" if name else what)
    return "; ".join(dict.fromkeys(said)) or "the form is not valid"


def body(model: type[BaseModel], **fields):
    """The API's request body made from a form's fields; a 422 with a sentence if invalid."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise ProblemError(422, sentence(exc.errors(), model)) from None


def attempt(session: Session, action: Callable, again: Callable):
    """Run `action`; a problem with the input (not a refusal) writes nothing and answers
    `again(problem)`, the form re-rendered with its sentence."""
    try:
        return action()
    except ProblemError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return again(exc)


def see(request: Request, path: str, done: str | None = None) -> RedirectResponse:
    """Post/redirect/get: off to the page that shows what the form did."""
    url = prefix_of(request) + path.lstrip("/")
    return RedirectResponse(url + (f"?{urlencode({'done': done})}" if done else ""), 303)


def notice(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def listed(rows: Sequence[T], key: Callable[[T], Any]) -> tuple[list[T], str | None]:
    """A list page's rows (the domain gives up to `LISTED + 1`) and the cursor of its "older"
    link, if there are more."""
    if len(rows) <= LISTED:
        return list(rows), None
    return list(rows[:LISTED]), encode_cursor(key(rows[LISTED - 1]))
