"""The generated parts of `docs/architecture.md`: the state machines and the permission table.

They are written from the code (`states.TRANSITIONS`, `permissions.ROLE_PERMISSIONS` and
what each route's dependencies declare), so the page cannot drift from what runs:
`python -m jupyter_ext.jobserver.architecture docs/architecture.md` rewrites them between
their markers, and a test fails when the page is out of date.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..schema.states import PROJECT_ROLES, Role
from .deps import declared_permission
from .permissions import DOES, PROJECT_SCOPED, ROLE_PERMISSIONS, Permission
from .states import TRANSITIONS

MARKER = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n).*?(<!-- end generated -->)", re.S)


def state_machines() -> str:
    """Each machine as a table: a state, and what it can become."""
    parts = []
    for machine, table in TRANSITIONS.items():
        rows = [
            f"| `{state}` | {', '.join(f'`{n}`' for n in sorted(table[state])) or 'final'} |"
            for state in table
        ]
        parts.append(f"**{machine}**\n\n| state | can become |\n|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts) + "\n"


def role_table() -> str:
    """Which role grants which permission; project roles grant only project-scoped ones."""
    roles = list(Role)
    head = "| permission | " + " | ".join(r.value.replace("_", " ") for r in roles) + " |"
    rows = [head, "|---|" + "---|" * len(roles)]
    for permission in Permission:
        if permission is Permission.SIGNED_IN:
            continue
        marks = ["✓" if permission in ROLE_PERMISSIONS[r] else "" for r in roles]
        scoped = " (in a project)" if permission in PROJECT_SCOPED else ""
        rows.append(
            f"| `{permission.value}`: {DOES[permission]}{scoped} | " + " | ".join(marks) + " |"
        )
    project_roles = ", ".join(sorted(r.value for r in PROJECT_ROLES))
    return (
        "\n".join(rows) + f"\n\nProject roles ({project_roles}) count inside their project only; "
        "`signed_in` is every signed-in user's.\n"
    )


def api_routes() -> Iterator[tuple[str, str, Any]]:
    """Every API route: its path from the API's root (`/api/v1/...`), a method, the route."""
    from .routes import provenance, released_files, routers

    for prefix, router in [
        *(("/api/v1", r) for r in routers),
        ("/api/v2", released_files.router),
        ("/api/v2", provenance.files_router),
    ]:
        for route in router.routes:
            for method in sorted(route.methods):
                yield prefix + route.path_format, method, route


def route_table() -> str:
    """Every API route with the permission its dependencies declare and enforce."""
    found = []
    for path, method, route in api_routes():
        declared = declared_permission(route) or {"x-permission": "?", "x-scope": "?"}
        found.append((path, method, declared))
    rows = ["| route | permission | scope |", "|---|---|---|"]
    for path, method, declared in sorted(found):
        also = f"; also `{declared['x-also']}`" if "x-also" in declared else ""
        rows.append(
            f"| `{method} {path}` | `{declared['x-permission']}`{also} | {declared['x-scope']} |"
        )
    return "\n".join(rows) + (
        "\n\n`project`: in the project of the thing the route names; `owner`: only its maker; "
        "`self`: the permission is not needed for one's own account; `runner`: the backend's "
        "runner token. *also*: the one other permission the route may ask (a released thing is "
        "shown to those with `release_view`; `GET /datasets?project=` asks to view the "
        "project).\n"
    )


SECTIONS = {"state-machines": state_machines, "roles": role_table, "routes": route_table}


def render(page: str) -> str:
    """The page with every generated section written anew from the code."""
    return MARKER.sub(lambda m: m.group(1) + SECTIONS[m.group("name")]() + m.group(3), page)


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "docs/architecture.md")
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
