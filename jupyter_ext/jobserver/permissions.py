"""Who may do what: one table, asked by every endpoint. Deny by default.

A permission is granted by a global role, or, for things inside a project, by
the roles of the caller's membership of that project. The three project roles
may also be held globally, and then apply to every project. A site (backend) may
name its own output checkers and publishers: their roles grant `SITE_SCOPED`
permissions over releases of that backend only. Being signed in grants only
`SIGNED_IN`. The table is data, so tests walk it and pages show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ..schema.states import PROJECT_ROLES, Role, SiteRole


class Permission(StrEnum):
    SIGNED_IN = "signed_in"  # see oneself, apply for a project, manage one's own tokens
    USER_VIEW = "user_view"
    USER_MANAGE = "user_manage"  # create users, set global roles
    ORG_CREATE = "org_create"
    ORG_MANAGE = "org_manage"  # rename, members, the backends it may use
    BACKEND_VIEW_ALL = "backend_view_all"
    BACKEND_MANAGE = "backend_manage"  # create, edit, runner tokens
    APPLICATION_VIEW_ALL = "application_view_all"
    APPLICATION_REVIEW = "application_review"  # approve or reject
    PROJECT_CREATE = "project_create"
    PROJECT_VIEW = "project_view"  # its workspaces, job requests, jobs and logs
    PROJECT_MANAGE = "project_manage"  # name and status
    MEMBER_ADD = "member_add"
    MEMBER_MANAGE = "member_manage"  # remove members, change their project roles
    WORKSPACE_MANAGE = "workspace_manage"  # create, archive, notifications
    JOB_RUN = "job_run"
    JOB_CANCEL = "job_cancel"
    OUTPUTS_VIEW_UNRELEASED = "outputs_view_unreleased"
    RELEASE_REQUEST = "release_request"
    RELEASE_REVIEW = "release_review"
    RELEASE_PUBLISH = "release_publish"
    RELEASE_VIEW = "release_view"
    RELEASE_DELETE = "release_delete"  # take a released file down (kept, so restorable)
    RELEASE_RESTORE = "release_restore"  # put a deleted released file back
    RELEASE_RECORD = "release_record"  # the auditors' export of every release decision
    AUDIT_VIEW = "audit_view"
    DATASET_REQUEST = "dataset_request"  # ask for a project to use a dataset
    DATASET_DECIDE = "dataset_decide"  # approve, reject or revoke a project's use of one
    SCHEDULE_PAUSE = "schedule_pause"  # pause or resume anyone's schedule (owners: job_run)
    USAGE_VIEW = "usage_view"  # the sums of what jobs used, per project, backend or user
    METRICS_VIEW = "metrics_view"  # scrape /metrics (Prometheus), as JupyterHub's read:metrics


P = Permission

# What each permission lets one do, as the end of "<user> may not ...".
DOES = {
    P.SIGNED_IN: "use the job server",
    P.USER_VIEW: "see other users",
    P.USER_MANAGE: "manage users and their global roles",
    P.ORG_CREATE: "create organisations",
    P.ORG_MANAGE: "manage organisations",
    P.BACKEND_VIEW_ALL: "see every backend",
    P.BACKEND_MANAGE: "manage backends",
    P.APPLICATION_VIEW_ALL: "see every application",
    P.APPLICATION_REVIEW: "review applications",
    P.PROJECT_CREATE: "create projects",
    P.PROJECT_VIEW: "see",
    P.PROJECT_MANAGE: "change the settings of",
    P.MEMBER_ADD: "add project members",
    P.MEMBER_MANAGE: "manage the members of",
    P.WORKSPACE_MANAGE: "manage workspaces of",
    P.JOB_RUN: "run jobs in",
    P.JOB_CANCEL: "cancel jobs in",
    P.OUTPUTS_VIEW_UNRELEASED: "see unreleased outputs of",
    P.RELEASE_REQUEST: "request releases in",
    P.RELEASE_REVIEW: "review releases of",
    P.RELEASE_PUBLISH: "publish releases of",
    P.RELEASE_VIEW: "see released files of",
    P.RELEASE_DELETE: "delete released files of",
    P.RELEASE_RESTORE: "restore deleted files",
    P.RELEASE_RECORD: "read the record of release decisions",
    P.AUDIT_VIEW: "see the audit trail",
    P.DATASET_REQUEST: "ask for datasets for",
    P.DATASET_DECIDE: "decide who may use datasets",
    P.SCHEDULE_PAUSE: "pause or resume the schedules of others in",
    P.METRICS_VIEW: "read the job server's metrics",
    P.USAGE_VIEW: "see what jobs used",
}
assert set(DOES) == set(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CORE_DEVELOPER: frozenset(
        {
            P.USER_VIEW,
            P.USER_MANAGE,
            P.ORG_CREATE,
            P.ORG_MANAGE,
            P.BACKEND_VIEW_ALL,
            P.BACKEND_MANAGE,
            P.APPLICATION_VIEW_ALL,
            P.APPLICATION_REVIEW,
            P.PROJECT_CREATE,
            P.PROJECT_VIEW,
            P.PROJECT_MANAGE,
            P.MEMBER_ADD,
            P.MEMBER_MANAGE,
            P.WORKSPACE_MANAGE,
            P.AUDIT_VIEW,
            P.RELEASE_RESTORE,
            P.RELEASE_RECORD,
            P.SCHEDULE_PAUSE,
            P.METRICS_VIEW,
            P.USAGE_VIEW,
        }
    ),
    Role.DATA_INVESTIGATOR: frozenset({P.PROJECT_VIEW, P.BACKEND_VIEW_ALL}),
    Role.GOVERNANCE_REVIEWER: frozenset({P.APPLICATION_VIEW_ALL, P.PROJECT_VIEW, P.DATASET_DECIDE}),
    Role.ONBOARDING_AGENT: frozenset({P.USER_VIEW, P.APPLICATION_VIEW_ALL, P.MEMBER_ADD}),
    Role.OUTPUT_CHECKER: frozenset(
        {
            P.PROJECT_VIEW,
            P.OUTPUTS_VIEW_UNRELEASED,
            P.RELEASE_REVIEW,
            P.RELEASE_VIEW,
            P.RELEASE_RECORD,
        }
    ),
    Role.OUTPUT_PUBLISHER: frozenset(
        {
            P.PROJECT_VIEW,
            P.OUTPUTS_VIEW_UNRELEASED,
            P.RELEASE_PUBLISH,
            P.RELEASE_VIEW,
            P.RELEASE_DELETE,
        }
    ),
    Role.TECHNICAL_REVIEWER: frozenset(
        {
            P.APPLICATION_VIEW_ALL,
            P.APPLICATION_REVIEW,
            P.BACKEND_VIEW_ALL,
            P.PROJECT_VIEW,
        }
    ),
    Role.PROJECT_COLLABORATOR: frozenset({P.PROJECT_VIEW, P.RELEASE_VIEW}),
    Role.PROJECT_COORDINATOR: frozenset(
        {
            P.PROJECT_VIEW,
            P.PROJECT_MANAGE,
            P.MEMBER_MANAGE,
            P.RELEASE_VIEW,
            P.DATASET_REQUEST,
            P.SCHEDULE_PAUSE,
        }
    ),
    Role.PROJECT_DEVELOPER: frozenset(
        {
            P.PROJECT_VIEW,
            P.WORKSPACE_MANAGE,
            P.JOB_RUN,
            P.JOB_CANCEL,
            P.OUTPUTS_VIEW_UNRELEASED,
            P.RELEASE_REQUEST,
            P.RELEASE_VIEW,
            P.DATASET_REQUEST,
        }
    ),
}

# Permissions that only make sense inside one project: project roles grant only these.
PROJECT_SCOPED = frozenset(
    {
        P.PROJECT_VIEW,
        P.PROJECT_MANAGE,
        P.MEMBER_MANAGE,
        P.WORKSPACE_MANAGE,
        P.JOB_RUN,
        P.JOB_CANCEL,
        P.OUTPUTS_VIEW_UNRELEASED,
        P.RELEASE_REQUEST,
        P.RELEASE_VIEW,
        P.RELEASE_DELETE,
        P.DATASET_REQUEST,
        P.SCHEDULE_PAUSE,
    }
)

assert all(ROLE_PERMISSIONS[r] <= PROJECT_SCOPED for r in PROJECT_ROLES), "project roles overreach"

# What a site's own checkers and publishers may do, over releases of that site only.
SITE_SCOPED = frozenset(
    {
        P.OUTPUTS_VIEW_UNRELEASED,
        P.RELEASE_REVIEW,
        P.RELEASE_PUBLISH,
        P.RELEASE_VIEW,
        P.RELEASE_RECORD,  # of what leaves that site
    }
)
assert all(
    ROLE_PERMISSIONS[Role(r)] - {P.PROJECT_VIEW, P.RELEASE_DELETE} <= SITE_SCOPED for r in SiteRole
)


def granted(
    global_roles: Iterable[str],
    permission: Permission,
    project_roles: Iterable[str] = (),
    site_roles: Iterable[str] = (),
) -> bool:
    """Whether these roles allow `permission` (project roles count only project-scoped ones,
    a site's roles only site-scoped ones)."""
    if permission is P.SIGNED_IN:
        return True
    if any(permission in ROLE_PERMISSIONS.get(Role(r), ()) for r in global_roles):
        return True
    if permission in SITE_SCOPED and any(
        permission in ROLE_PERMISSIONS.get(Role(r), ()) for r in site_roles
    ):
        return True
    return permission in PROJECT_SCOPED and any(
        permission in ROLE_PERMISSIONS.get(Role(r), ()) for r in project_roles
    )
