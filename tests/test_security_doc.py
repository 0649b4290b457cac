"""SECURITY.md names, for each "may not", the test that attacks it: those tests must exist.

A renamed or deleted test would leave the threat model pointing at nothing; this
keeps every reference real and every "may not" backed by at least one.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "SECURITY.md"

# `security/test_x.py::name`, `::name` (of the file named last) or `tests/benchmarks/x.py`
REFERENCE = re.compile(r"`((?:\w+/)*(?:test|bench)_\w+\.py)?(?:::(\w+))?[^`]*`")


def references(text: str) -> list[tuple[str, str | None]]:
    """(file under tests/, test name or None) for each reference, in order."""
    found, last_file = [], None
    for match in REFERENCE.finditer(text):
        file, name = match.groups()
        if file is None and name is None:
            continue
        if file:
            last_file = file.removeprefix("tests/")
        assert last_file, f"`::{name}` in SECURITY.md comes before any file is named"
        found.append((last_file, name))
    return found


def may_not_items(text: str) -> list[str]:
    """Each bullet that starts with "May not", with its continuation lines."""
    items = re.split(r"\n(?=- |\n|#)", text)
    return [item for item in items if item.startswith("- May not")]


def test_every_test_the_threat_model_names_exists():
    refs = references(DOC.read_text())
    assert len(refs) > 40
    missing = []
    for file, name in refs:
        path = ROOT / "tests" / file
        if not path.is_file():
            missing.append(file)
        elif name and not re.search(rf"^(?:async )?def {name}\(", path.read_text(), re.M):
            missing.append(f"{file}::{name}")
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"


def test_every_may_not_names_a_test():
    items = may_not_items(DOC.read_text())
    assert len(items) > 25
    bare = [item.splitlines()[0] for item in items if not references(item)]
    assert not bare, f"these 'may not' name no test: {bare}"


def test_the_readme_links_the_threat_model():
    assert "(SECURITY.md)" in (ROOT / "README.md").read_text()
