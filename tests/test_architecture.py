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
