"""A project's limits on each backend: the API's face of `services.limits`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from ... import schema
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import limits

router = APIRouter(tags=["projects"])


@router.get("/projects/{project}/limits")
def list_limits(
    project: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> list[schema.ProjectLimit]:
    """Per backend the project's organisation may use: its cap, its quota, and its use now."""
    return limits.list_limits(session, caller, project)


@router.put("/projects/{project}/limits/{backend}")
def set_limits(
    project: str,
    backend: str,
    body: schema.ProjectLimitSet,
    caller: Annotated[Caller, requires(P.BACKEND_MANAGE)],
    session: SessionDep,
) -> schema.ProjectLimit:
    """Set the project's cap and quota on the backend (null lifts one)."""
    return limits.set_limits(session, caller, project, backend, body)
