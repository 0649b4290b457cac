"""Pages for the people who run the platform and its projects: applications, organisations,
backends, members, project settings (the user guide's steps 2 to 6).

Every form posts to a handler here: it takes the caller from `form_caller` (the CSRF token
checked), builds the API's own request body from the fields, calls the API's route function
(so the same permission table decides), and answers with a redirect to the page
(post/redirect/get). A problem with the input re-renders the form with the API's sentence and
writes nothing; a refusal is a page that says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs, quote, urlencode, urlparse

from fastapi import Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...schema.common import Model, Slug
from ...schema.states import PROJECT_ROLES, ApplicationState, LogPolicy, Role
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..routes import accounts, applications, orgs, projects
from ..routes._common import project_named
from . import field as text
from . import field_list as texts
from . import form, page
from .auth import page_caller
from .render import environment, prefix_of, render

# templates ask the same table: `caller.can(Permission.X)` shows a form only to who may use it
environment.globals["Permission"] = P

GLOBAL_ROLES = [r.value for r in Role]
MEMBER_ROLES = sorted(r.value for r in PROJECT_ROLES)
PROJECT_STATUSES = ("ongoing", "paused", "completed")
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
}


class ProjectField(Model):
    """A project named in a form field, as the API's addresses name it."""

    project: Slug


# -- forms: the caller, the body, the answer --------------------------------------------------


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


def older(next_url: str | None) -> str | None:
    """The cursor of an API page's `next` link, for a page's own "older" link."""
    if not next_url:
        return None
    return (parse_qs(urlparse(next_url).query).get("cursor") or [None])[0]


# -- applications (step 2) ---------------------------------------------------------------------

STEPS = (
    ("Study", ("study_name", "org")),
    ("Purpose and data", ("purpose", "data")),
    ("Backends", ("backends",)),
    ("People", ("people",)),
    ("Check and send", ()),
)
TRIAL = {
    "study_name": "x",
    "org": "x",
    "purpose": "x",
    "data": "x",
    "backends": ["x"],
    "people": [],
}


def people(value: str) -> list[str]:
    """GitHub logins typed one a line (or separated by commas or spaces, with or without @)."""
    return [p.lstrip("@") for p in re.split(r"[\s,;]+", value) if p.lstrip("@")]


def _answers(fields: FormData) -> dict:
    answers = {n: text(fields, n) for n in ("study_name", "org", "purpose", "data", "people")}
    return {**answers, "backends": texts(fields, "backends")}


def _wire(answers: dict) -> dict:
    return {**answers, "people": people(answers["people"])}


def _check_step(step: int, answers: dict, caller: Caller, session: Session) -> None:
    """The answers of one step, judged by the API's own model (and its organisation's)."""
    names = STEPS[step][1]
    wire = _wire(answers)
    try:
        schema.ApplicationCreate.model_validate({**TRIAL, **{n: wire[n] for n in names}})
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not e.get("loc") or e["loc"][0] in names]
        if errors:
            raise ProblemError(422, sentence(errors, schema.ApplicationCreate)) from None
    if "org" in names:
        orgs.get_org(answers["org"], caller, session)


def _application_form(
    request: Request,
    session: Session,
    caller: Caller,
    answers: dict,
    step: int,
    resubmit: str = "",
    problem: ProblemError | None = None,
):
    org_list = orgs.list_orgs(caller, session)
    chosen = next((o for o in org_list if o.slug == answers["org"]), None)
    return render(
        request,
        "admin_application_new.html",
        caller,
        status=problem.status if problem else 200,
        steps=STEPS,
        step=step,
        answers=answers,
        org=chosen,
        org_options=[(o.slug, o.name) for o in org_list],
        people_list=people(answers["people"]),
        resubmit=resubmit,
        problem=problem,
    )


@page("/applications", P.SIGNED_IN)
def applications_page(request: Request, session: SessionDep, state: str = "", cursor: str = ""):
    caller = page_caller(request, session)
    states = [s.value for s in ApplicationState]
    if state and state not in states:
        raise ProblemError(422, f"there is no state {state!r}: use {', '.join(states)}")
    found = applications.list_applications(
        request,
        caller,
        session,
        state=ApplicationState(state) if state else None,
        limit=LISTED,
        cursor=cursor or None,
    )
    return render(
        request,
        "admin_applications.html",
        caller,
        applications=found.items,
        states=states,
        state=state,
        older=older(found.next),
        all=caller.can(P.APPLICATION_VIEW_ALL),
    )


@page("/applications/new", P.SIGNED_IN)
def new_application_page(request: Request, session: SessionDep):
    """Step one of the application; `?from=ID` starts from a rejected one, to send it again."""
    caller = page_caller(request, session)
    answers = _answers(FormData())
    resubmit = request.query_params.get("from", "")
    if resubmit:
        earlier = applications.get_application(resubmit, caller, session)
        answers = {
            **earlier.model_dump(include={"study_name", "org", "purpose", "data"}),
            "backends": earlier.backends,
            "people": "\n".join(earlier.people),
        }
    return _application_form(request, session, caller, answers, 0, resubmit)


@form("/applications/new")
def application_step(request: Request, session: Session, caller: Caller, fields: FormData):
    """Each step posts here with the earlier answers in hidden fields: back, on, or send."""
    answers, resubmit = _answers(fields), text(fields, "resubmit")
    last = len(STEPS) - 1
    step = int(s) if (s := text(fields, "step")).isdigit() and int(s) <= last else 0
    go = text(fields, "go")
    if go == "back" or (go.isdigit() and int(go) < step):
        target = step - 1 if go == "back" else int(go)
        return _application_form(request, session, caller, answers, max(target, 0), resubmit)

    def again(problem):
        return _application_form(request, session, caller, answers, step, resubmit, problem)

    if step < last:

        def on():
            _check_step(step, answers, caller, session)
            return _application_form(request, session, caller, answers, step + 1, resubmit)

        return attempt(session, on, again)

    def send():
        made = body(schema.ApplicationCreate, **_wire(answers))
        if resubmit:
            sent = applications.resubmit(resubmit, made, caller, session)
        else:
            sent = applications.apply(made, caller, session)
        return see(request, f"applications/{sent.id}", "sent")

    return attempt(session, send, again)


def _application_page(request, session, caller, application_id, problem=None, reason=""):
    found = applications.get_application(application_id, caller, session)
    return render(
        request,
        "admin_application.html",
        caller,
        status=problem.status if problem else 200,
        application=found,
        problem=problem,
        reason=reason,
        notice=notice(request),
        may_review=caller.can(P.APPLICATION_REVIEW)
        and found.created_by != caller.name
        and found.state == ApplicationState.SUBMITTED,
        may_resubmit=found.created_by == caller.name and found.state == ApplicationState.REJECTED,
    )


@page("/applications/{application_id}", P.SIGNED_IN, "owner")
def application_page(application_id: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    return _application_page(request, session, caller, application_id)


@form("/applications/{application_id}/review")
def review_application(
    request: Request, session: Session, caller: Caller, fields: FormData, application_id: str
):
    """Approve (making the project) or reject with a reason: the API's approve and reject."""
    reason, decision = text(fields, "reason"), text(fields, "decision")

    def review():
        answer = body(schema.ApplicationReview, reason=reason)
        if decision == "approve":
            applications.approve(application_id, answer, caller, session)
        elif decision == "reject":
            applications.reject(application_id, answer, caller, session)
        else:
            raise ProblemError(422, "choose Approve or Reject")
        return see(request, f"applications/{application_id}", f"{decision}d")

    return attempt(
        session,
        review,
        lambda problem: _application_page(
            request, session, caller, application_id, problem, reason
        ),
    )


# -- backends and organisations (steps 3 and 4) ------------------------------------------------


def _backends_page(request, session, caller, problem=None, values=None):
    return render(
        request,
        "admin_backends.html",
        caller,
        status=problem.status if problem else 200,
        backends=orgs.list_backends(caller, session),
        all=caller.can(P.BACKEND_VIEW_ALL),
        log_policies=[p.value for p in LogPolicy],
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/backends", P.SIGNED_IN)
def backends_page(request: Request, session: SessionDep):
    """The backends one belongs to (all of them for those who may see all): online, last seen,
    free capacity; for administrators, a form to add one and their runner tokens."""
    return _backends_page(request, session, page_caller(request, session))


@form("/backends")
def create_backend(request: Request, session: Session, caller: Caller, fields: FormData):
    values = {n: text(fields, n) for n in ("slug", "name", "log_policy")}

    def create():
        given = {k: v for k, v in values.items() if v or k != "log_policy"}  # else its default
        orgs.create_backend(body(schema.BackendCreate, **given), caller, session)
        return see(request, "backends", "backend")

    return attempt(
        session, create, lambda problem: _backends_page(request, session, caller, problem, values)
    )


@form("/backends/{backend}/token")
def new_runner_token(
    request: Request, session: Session, caller: Caller, fields: FormData, backend: str
):
    """A new runner token, shown once in the answer (earlier ones stop working)."""
    made = orgs.rotate_runner_token(backend, request, caller, session)
    answer = render(request, "admin_token.html", caller, created=made)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _orgs_page(request, session, caller, problem=None, values=None):
    return render(
        request,
        "admin_orgs.html",
        caller,
        status=problem.status if problem else 200,
        orgs=orgs.list_orgs(caller, session),
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/orgs", P.SIGNED_IN)
def orgs_page(request: Request, session: SessionDep):
    return _orgs_page(request, session, page_caller(request, session))


@form("/orgs")
def create_org(request: Request, session: Session, caller: Caller, fields: FormData):
    values = {n: text(fields, n) for n in ("slug", "name")}

    def create():
        made = orgs.create_org(body(schema.OrgCreate, **values), caller, session)
        return see(request, f"orgs/{made.slug}", "org")

    return attempt(
        session, create, lambda problem: _orgs_page(request, session, caller, problem, values)
    )


def _org_settings(request, session, caller, org, problem=None, values=None):
    caller.require(P.ORG_MANAGE)
    row = orgs.get_org(org, caller, session)
    usable = [b for b in orgs.visible_backends(caller, session) if b.slug not in row.backends]
    return render(
        request,
        "admin_org_settings.html",
        caller,
        status=problem.status if problem else 200,
        org=row,
        members=orgs.list_org_members(org, caller, session),
        backend_options=[(b.slug, f"{b.name} ({b.slug})") for b in usable],
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/orgs/{org}", P.ORG_MANAGE)
def org_settings_page(org: str, request: Request, session: SessionDep):
    """An organisation's administration: its name, members and the backends it may use."""
    return _org_settings(request, session, page_caller(request, session), org)


def _org_action(request, session, caller, org, done, action, values=None):
    def run():
        action()
        return see(request, f"orgs/{org}", done)

    return attempt(
        session, run, lambda problem: _org_settings(request, session, caller, org, problem, values)
    )


@form("/orgs/{org}/name")
def rename_org(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"name": text(fields, "name")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-name",
        lambda: orgs.update_org(org, body(schema.OrgUpdate, **values), caller, session),
        values,
    )


@form("/orgs/{org}/members")
def add_org_member(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"username": text(fields, "username").strip().lstrip("@")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-member",
        lambda: orgs.add_org_member(org, body(schema.OrgMemberAdd, **values), caller, session),
        values,
    )


@form("/orgs/{org}/members/{username}/remove")
def remove_org_member(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, username: str
):
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-member-removed",
        lambda: orgs.remove_org_member(org, username, caller, session),
    )


@form("/orgs/{org}/backends")
def allow_backend(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"backend": text(fields, "backend")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-backend",
        lambda: orgs.allow_backend(org, body(schema.OrgBackendAdd, **values), caller, session),
        values,
    )


@form("/orgs/{org}/backends/{backend}/remove")
def disallow_backend(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, backend: str
):
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-backend-removed",
        lambda: orgs.disallow_backend(org, backend, caller, session),
    )


@form("/orgs/{org}/projects")
def add_project(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    """The "add a project" form of the organisation's page (`/{org}`): the API's POST /projects."""
    values = {"name": text(fields, "name"), "slug": text(fields, "slug").strip()}

    def create():
        made = projects.add_project(
            body(schema.ProjectCreate, org=org, name=values["name"], slug=values["slug"] or None),
            caller,
            session,
        )
        return see(request, f"{org}/{made.slug}/settings")

    def again(problem):  # the organisation's page again, as views.org_page renders it
        row = orgs.get_org(org, caller, session)
        found = projects.list_projects(request, caller, session, org=org, limit=100, cursor=None)
        return render(
            request,
            "org.html",
            caller,
            status=problem.status,
            org=row,
            projects=found.items,
            problem=problem,
            values=values,
        )

    return attempt(session, create, again)


# -- people: global roles and memberships (step 5) ---------------------------------------------


@page("/users", P.USER_VIEW)
def users_page(request: Request, session: SessionDep, q: str = "", cursor: str = ""):
    caller = page_caller(request, session)
    found = accounts.list_users(
        request, caller, session, q=q or None, limit=LISTED, cursor=cursor or None
    )
    return render(
        request, "admin_users.html", caller, users=found.items, q=q, older=older(found.next)
    )


def _user_page(request, session, caller, username, problem=None, values=None):
    found = accounts.get_user(username, caller, session)
    choices = (
        [p.slug for p in session.scalars(projects.visible_projects(caller).limit(1000))]
        if caller.can(P.MEMBER_ADD)
        else []
    )
    return render(
        request,
        "admin_user.html",
        caller,
        status=problem.status if problem else 200,
        person=found,
        roles=GLOBAL_ROLES,
        member_roles=MEMBER_ROLES,
        project_roles=PROJECT_ROLES,
        project_choices=choices,
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/users/{username}", P.USER_VIEW)
def user_page(username: str, request: Request, session: SessionDep):
    """A person: their global roles (set only by an administrator), and adding them to a
    project (only administrators add members)."""
    return _user_page(request, session, page_caller(request, session), username)


@form("/users/{username}/roles")
def set_global_roles(
    request: Request, session: Session, caller: Caller, fields: FormData, username: str
):
    def save():
        update = body(schema.UserUpdate, roles=texts(fields, "roles"))
        accounts.update_user(username, update, caller, session)
        return see(request, f"users/{quote(username)}", "roles")

    return attempt(
        session, save, lambda problem: _user_page(request, session, caller, username, problem)
    )


@form("/users/{username}/projects")
def add_to_project(
    request: Request, session: Session, caller: Caller, fields: FormData, username: str
):
    values = {"project": text(fields, "project").strip(), "roles": texts(fields, "roles")}

    def add():
        added = body(schema.MemberAdd, username=username, roles=values["roles"])
        project = body(ProjectField, project=values["project"]).project
        projects.add_project_member(project, added, caller, session)
        return see(request, f"users/{quote(username)}", "project-member")

    return attempt(
        session,
        add,
        lambda problem: _user_page(request, session, caller, username, problem, values),
    )


# -- project settings (step 6) -----------------------------------------------------------------


def _project(caller: Caller, session: Session, org: str, project: str):
    """The project the address names, if the address is its own (the API asks the rest)."""
    row = project_named(session, project)
    if row.org.slug != org:
        raise ProblemError(404, f"there is no project {org}/{project}")
    return row


def _settings(request, session, caller, org, project, problem=None, values=None):
    row = projects.viewable_project(caller, session, project)
    if row.org.slug != org:
        raise ProblemError(404, f"there is no project {org}/{project}")
    caller.require(P.PROJECT_MANAGE, row)
    return render(
        request,
        "admin_settings.html",
        caller,
        status=problem.status if problem else 200,
        project=row,
        members=projects.list_members(project, caller, session),
        member_roles=MEMBER_ROLES,
        status_options=[(s, s) for s in PROJECT_STATUSES],
        problem=problem,
        values=values or {},
        notice=notice(request),
        may_manage_members=caller.can(P.MEMBER_MANAGE, row),
        may_add=caller.can(P.MEMBER_ADD),
    )


@page("/{org}/{project}/settings", P.PROJECT_MANAGE, "project")
def settings_page(org: str, project: str, request: Request, session: SessionDep):
    """A project's name, status, members and their roles."""
    return _settings(request, session, page_caller(request, session), org, project)


def _settings_action(request, session, caller, org, project, done, action, values=None):
    _project(caller, session, org, project)

    def run():
        action()
        return see(request, f"{org}/{project}/settings", done)

    return attempt(
        session,
        run,
        lambda problem: _settings(request, session, caller, org, project, problem, values),
    )


@form("/{org}/{project}/settings")
def save_settings(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    values = {"name": text(fields, "name"), "status": text(fields, "status")}
    update = {"name": values["name"], **({"status": values["status"]} if values["status"] else {})}
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "settings",
        lambda: projects.update_project(
            project, body(schema.ProjectUpdate, **update), caller, session
        ),
        values,
    )


@form("/{org}/{project}/settings/members")
def add_member(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    values = {
        "username": text(fields, "username").strip().lstrip("@"),
        "roles": texts(fields, "roles"),
    }
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member",
        lambda: projects.add_project_member(
            project, body(schema.MemberAdd, **values), caller, session
        ),
        values,
    )


@form("/{org}/{project}/settings/members/{username}")
def set_member_roles(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    username: str,
):
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member-roles",
        lambda: projects.update_project_member(
            project,
            username,
            body(schema.MemberUpdate, roles=texts(fields, "roles")),
            caller,
            session,
        ),
    )


@form("/{org}/{project}/settings/members/{username}/remove")
def remove_member(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    username: str,
):
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member-removed",
        lambda: projects.remove_project_member(project, username, caller, session),
    )
