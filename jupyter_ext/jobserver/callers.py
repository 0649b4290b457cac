"""Who is acting: a user with their roles, as every face hands them to the domain layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from . import orm
from .errors import ProblemError
from .permissions import DOES, PROJECT_SCOPED, Permission, granted


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

    def can(self, permission: Permission, project: orm.Project | None = None) -> bool:
        self._note(permission, gate=False)
        project_roles = self.project_roles(project.id) if project is not None else ()
        return granted(self.roles, permission, project_roles)

    def require(self, permission: Permission, project: orm.Project | None = None) -> None:
        """Deny by default: a 403 that says which permission is missing, and where."""
        self._note(permission, gate=True)
        if not self.can(permission, project):
            if project is not None and permission in PROJECT_SCOPED:
                raise ProblemError(
                    403,
                    f"{self.name} may not {DOES[permission]} the project "
                    f"{project.slug}: ask its coordinator for a role",
                )
            raise ProblemError(403, f"{self.name} may not {DOES[permission]}: ask an administrator")
