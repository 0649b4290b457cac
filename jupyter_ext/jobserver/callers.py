"""Who is acting: a user with their roles, as every face hands them to the domain layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import orm
from .errors import ProblemError
from .permissions import DOES, PROJECT_SCOPED, SITE_SCOPED, Permission, granted


@dataclass
class Caller:
    """A signed-in user, with their global roles and a cache of project roles.

    A route's caller is bound to the permission the route declares (`requires`), and to the
    one it may grant instead (`also`): requiring any other one through it is a bug in the
    route, refused with a 500. `can` with another permission only filters what is shown.
    """

    user: orm.User
    session: Session
    _project_roles: dict[int, list[str]] = field(default_factory=dict)
    _site_roles: dict[int, list[str]] | None = None  # backend id -> roles, read once
    declared: Permission | None = None  # the route's permission; None: a page, a command
    also: Permission | None = None  # the one a route may grant instead (a released thing)
    enforced: set[Permission] | None = None  # where the route's checks are noted

    @property
    def name(self) -> str:
        return self.user.username

    @property
    def roles(self) -> list[str]:
        return list(self.user.roles or [])

    def project_roles(self, project_id: int) -> list[str]:
        if project_id not in self._project_roles:
            member = self.session.get(orm.ProjectMember, (project_id, self.user.id))
            self._project_roles[project_id] = list(member.roles) if member else []
        return self._project_roles[project_id]

    def _sites_held(self) -> dict[int, list[str]]:
        """The roles each site named this user to (`orm.BackendMember`), read once: a
        release list asks for them on every row's check."""
        if self._site_roles is None:
            members = self.session.scalars(
                select(orm.BackendMember).where(orm.BackendMember.user_id == self.user.id)
            )
            self._site_roles = {m.backend_id: list(m.roles) for m in members}
        return self._site_roles

    def site_roles(self, backend_id: int) -> list[str]:
        """The roles a site named this user to, there only."""
        return self._sites_held().get(backend_id, [])

    def sites(self, permission: Permission) -> list[int]:
        """The backends whose own roles grant `permission` to this user (for what leaves them)."""
        if permission not in SITE_SCOPED:
            return []
        held = self._sites_held()
        return [b for b, roles in held.items() if granted((), permission, (), roles)]

    def _note(self, permission: Permission, gate: bool) -> None:
        """Note a check of a declared permission for the permission walk; a gate on any other
        is a bug in the route."""
        if self.declared is None:
            return
        if permission in (self.declared, self.also):
            self.enforced.add(permission)
        elif gate:
            raise RuntimeError(
                f"the route declares the permission {self.declared.value} but checks "
                f"{permission.value}: declare what it enforces"
            )

    def can(
        self,
        permission: Permission,
        project: orm.Project | None = None,
        backend: orm.Backend | None = None,
    ) -> bool:
        """Whether `permission` holds in `project`, for a thing at `backend` (a release: then
        the roles that site named the caller to count too)."""
        self._note(permission, gate=False)
        project_roles = self.project_roles(project.id) if project is not None else ()
        site_roles = self.site_roles(backend.id) if backend is not None else ()
        return granted(self.roles, permission, project_roles, site_roles)

    def require(
        self,
        permission: Permission,
        project: orm.Project | None = None,
        backend: orm.Backend | None = None,
    ) -> None:
        """Deny by default: a 403 that says which permission is missing, and where."""
        self._note(permission, gate=True)
        if not self.can(permission, project, backend):
            if backend is not None and permission in SITE_SCOPED and project is not None:
                raise ProblemError(
                    403,
                    f"{self.name} may not {DOES[permission]} the project {project.slug} at "
                    f"{backend.slug}: only that site's output checkers (or global ones) may",
                )
            if project is not None and permission in PROJECT_SCOPED:
                raise ProblemError(
                    403,
                    f"{self.name} may not {DOES[permission]} the project "
                    f"{project.slug}: ask its coordinator for a role",
                )
            raise ProblemError(403, f"{self.name} may not {DOES[permission]}: ask an administrator")
