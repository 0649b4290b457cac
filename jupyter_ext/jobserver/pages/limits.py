"""What the project page shows of limits: per backend its organisation may use, the project's
cap (at most so many of its jobs running at once) and its jobs-per-day quota, with what it
uses of them now; and the API's request body made from the administrators' form. The rules,
the permission and the audit are `services.limits`'.
"""

from __future__ import annotations

import re

from fastapi import Request
from sqlalchemy.orm import Session

from ... import schema
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..services import limits as service
from .forms import LABELS, body

FIELDS = {name: LABELS[name] for name in ("max_running", "jobs_per_day")}
WHOLE = re.compile(r"^[0-9]{1,9}$")  # larger ones are refused by the API's body, in words
DONE = {"limits": "The limits are saved: the table shows them as they are now."}


def project_limits(
    request: Request,
    caller: Caller,
    session: Session,
    project,
    problem: tuple[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
) -> dict:
    """The limits section's context; `problem` is (backend, sentence) of a form refused, whose
    `values` are shown again as typed."""
    shown = service.list_limits(session, caller, project.slug)
    typed = dict(values or {})
    for limit in shown:
        typed.setdefault(
            limit.backend,
            {
                name: "" if getattr(limit, name) is None else str(getattr(limit, name))
                for name in FIELDS
            },
        )
    return {
        "limits": shown,
        "limits_values": typed,
        "limits_problem": problem,
        "may_set_limits": caller.can(P.BACKEND_MANAGE),
        "limits_done": DONE.get(request.query_params.get("done", "")),
    }


def limits_body(values: dict[str, str]) -> schema.ProjectLimitSet:
    """The API's body from the form's fields: an empty one lifts that limit; anything but a
    whole number of 0 or more is refused with a sentence saying what to write."""
    given: dict[str, int | None] = {}
    for name, label in FIELDS.items():
        value = values.get(name, "")
        if value and not WHOLE.match(value):
            shown = value if len(value) <= 20 else value[:20] + "…"
            if value.startswith("-") and WHOLE.match(value[1:]):
                said = f"{shown} is below 0: write 0 or more"
            else:
                said = f"{shown!r} is not a whole number: write one, like 10"
            raise ProblemError(422, f"{label}: {said}, or leave it empty to lift that limit")
        given[name] = int(value) if value else None
    return body(schema.ProjectLimitSet, **given)
