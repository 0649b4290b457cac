"""A workspace whose actions each write one given table: the real runner's jobs for the
output-checking tests (summaries, rounding, differencing)."""

from __future__ import annotations

from ..jobserver.harness import make_repo
from .test_uploads import world_at


def table_workspace(tmp_path, name: str, actions: dict[str, str], tables: dict[str, str]):
    """The usual world, plus a workspace `name` whose actions (name -> the path it writes)
    write `tables` (path -> text). The script, not project.yaml, holds their cells: the job
    server reads project.yaml, and a test may look for a cell where it must not be."""
    source = tmp_path / f"{name}-src"
    source.mkdir()
    entries = "".join(
        f"  {action}:\n    run: python:v2 write.py {path}\n"
        f"    outputs: {{moderately_sensitive: {{table: {path}}}}}\n"
        for action, path in actions.items()
    )
    (source / "project.yaml").write_text(f'version: "5"\nactions:\n{entries}')
    (source / "write.py").write_text(
        "import pathlib, sys\n"
        f"TABLES = {tables!r}\n"
        "path = pathlib.Path(sys.argv[1])\n"
        "path.parent.mkdir(parents=True, exist_ok=True)\n"
        "path.write_text(TABLES[sys.argv[1]])\n"
    )
    world = world_at(tmp_path)
    make_repo(tmp_path / "repos" / name, source)
    world.workspace("sample-study", name, tmp_path / "repos" / name)
    return world
