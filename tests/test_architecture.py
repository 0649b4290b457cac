"""The house plan's shape, checked: which room may import which."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_ext"

# room -> rooms of jupyter_ext it must never import
FORBIDDEN = {
    "pipeline": {"schema", "jobserver", "runner", "cli", "app"},
    "schema": {"pipeline", "jobserver", "runner", "cli", "app"},
    "runner": {"jobserver"},
    "jobserver": {"runner"},
    "serverext": {"jobserver", "runner", "cli", "app", "widgets"},
    "widgets": {"jobserver", "runner", "cli", "app", "serverext"},
    "client": {"jobserver", "runner", "cli", "app", "serverext", "widgets"},
}


def imported_rooms(path: Path, room: str) -> set[str]:
    """The top-level rooms of jupyter_ext that a module imports, relative or absolute."""
    rooms = set()
    depth = len(path.relative_to(PACKAGE).parts) - 1  # folders below jupyter_ext
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and (node.module or "").startswith("jupyter_ext."):
                rooms.add(node.module.split(".")[1])
            elif node.level > depth and node.module:  # climbs out of its room
                rooms.add(node.module.split(".")[0])
            elif node.level == depth + 1 and not node.module:
                rooms.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            rooms.update(
                a.name.split(".")[1] for a in node.names if a.name.startswith("jupyter_ext.")
            )
    return rooms - {room}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_only_what_the_design_allows(room):
    modules = list((PACKAGE / room).rglob("*.py"))
    assert modules
    for module in modules:
        wrong = imported_rooms(module, room) & FORBIDDEN[room]
        assert not wrong, f"{module.relative_to(PACKAGE)} imports {wrong}"


def test_the_check_sees_imports():
    assert "pipeline" in imported_rooms(
        PACKAGE / "jobserver" / "services" / "job_requests.py", "jobserver"
    )
    assert "schema" in imported_rooms(PACKAGE / "runner" / "api.py", "runner")


JOBSERVER = PACKAGE / "jobserver"


def jobserver_imports(path: Path) -> set[str]:
    """The modules of the job server that `path` imports, as dotted names below it."""
    package = path.relative_to(PACKAGE).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(package[: len(package) - node.level + 1])
        elif (node.module or "").startswith("jupyter_ext."):
            base = []
        else:
            continue
        module = (node.module or "").removeprefix("jupyter_ext")
        stem = [*base, *filter(None, module.split("."))]
        for name in [".".join(stem), *(".".join([*stem, a.name]) for a in node.names)]:
            if name.startswith("jobserver."):
                found.add(name.removeprefix("jobserver."))
    return found


def test_no_route_module_imports_another():
    """Routes are faces: what two routes share lives in the domain layer (services/)."""
    for module in (JOBSERVER / "routes").glob("*.py"):
        if module.name == "__init__.py":
            continue
        routes = {m for m in jobserver_imports(module) if m.startswith("routes")}
        assert not routes, f"routes/{module.name} imports {routes}: move it to services/"


def test_pages_and_commands_never_call_routes():
    """Pages, the admin command line and the app ask the domain layer, never a route; only
    api.py (which mounts the routers) and the page generator name them."""
    faces = [*(JOBSERVER / "pages").rglob("*.py"), JOBSERVER / "admin.py", JOBSERVER / "app.py"]
    faces += (PACKAGE / "cli").rglob("*.py") if (PACKAGE / "cli").is_dir() else []
    for module in faces:
        routes = {m for m in jobserver_imports(module) if m.startswith("routes")}
        assert not routes, f"{module.relative_to(PACKAGE)} imports {routes}"
    assert "routes.job_requests" in jobserver_imports(JOBSERVER / "routes" / "__init__.py"), (
        "the import check no longer sees the routes"
    )


def state_writes(source: str) -> list[int]:
    """Lines that assign a `state`: `x.state = ...`, `setattr(x, "state", ...)`, or an
    UPDATE's `.values(state=...)`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "state" for t in targets):
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and _writes_state(node):
            lines.append(node.lineno)
    return lines


def _writes_state(call: ast.Call) -> bool:
    name = getattr(call.func, "attr", getattr(call.func, "id", ""))
    if name == "values":
        return any(k.arg == "state" for k in call.keywords)
    named = call.args[1:2] and isinstance(call.args[1], ast.Constant)
    return name == "setattr" and bool(named) and call.args[1].value == "state"


def test_only_transitions_change_a_state():
    """Every state machine moves through transitions.py (checked, written, audited, emitted
    in one place): no other module of the job server assigns a state."""
    for module in JOBSERVER.rglob("*.py"):
        if module.name == "transitions.py" or "migrations" in module.parts:
            continue
        lines = state_writes(module.read_text())
        assert not lines, f"{module.relative_to(PACKAGE)} writes a state at lines {lines}"
    assert state_writes((JOBSERVER / "transitions.py").read_text())


def test_the_state_check_sees_writes():
    assert state_writes("job.state = 'failed'") == [1]
    assert state_writes("x = 1\nrow.state: str = new") == [2]
    assert state_writes("setattr(job, 'state', 'running')") == [1]
    assert state_writes("session.execute(update(Job).values(state='running'))") == [1]
    assert state_writes("app.state.enforced = {}\nstate = 'x'") == []


def test_every_route_declares_what_it_enforces():
    """Each API route's permission is a dependency (`requires`, or the runner's token): no
    route is left to check by hand what it never declares."""
    from jupyter_ext.jobserver.deps import declared_permission
    from jupyter_ext.jobserver.routes import provenance, released_files, routers

    every = [*routers, released_files.router, provenance.files_router]
    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for router in every
        for route in router.routes
        if declared_permission(route) is None
    ]
    assert not undeclared, undeclared
    for module in (JOBSERVER / "routes").glob("*.py"):
        assert "openapi_extra=permission(" not in module.read_text(), module.name


MAX_LINES = 450  # "under ~400 lines", with room for a module's docstring


def test_modules_stay_small():
    """Small modules with one job each: a module that grows past this is doing two."""
    big = {
        str(module.relative_to(PACKAGE)): lines
        for module in PACKAGE.rglob("*.py")
        if "migrations" not in module.parts
        and (lines := len(module.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"split these modules by job: {big}"


def test_the_architecture_page_is_up_to_date():
    """docs/architecture.md's state machines, roles and routes are generated from the code:
    run `make docs` after changing them."""
    from jupyter_ext.jobserver.architecture import render

    page = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    assert render(page) == page, "docs/architecture.md is out of date: run `make docs`"
