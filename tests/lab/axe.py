"""axe-core, the accessibility engine, in a page that Playwright drives.

axe-core comes from npm, pinned as a devDependency of the Jobs panel (labextension/
package.json, with its checksum in yarn.lock): `make install` builds the panel, and its
`jlpm install` puts `axe.min.js` in labextension/node_modules. Nothing is fetched at test
time. `serious_violations(page)` injects it into the page as it is now and returns the
violations of impact serious or critical; `describe(...)` says them in words for an
assertion's message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / "labextension/node_modules/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")


def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.skip(f"no axe-core at {AXE_JS}: `make install` installs the panel's npm packages")
    return AXE_JS.read_text(encoding="utf-8")


def run_axe(page, context: Any = None, options: dict | None = None) -> dict:
    """axe.run() over the page (or `context`: a selector, or {include, exclude}); its results.

    Injected with evaluate (a DevTools call), so a page's Content-Security-Policy does not
    stop it, and once per document: a page that navigates gets it again."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"resultTypes": ["violations"], **(options or {})}
    return page.evaluate(
        "([context, options]) => context === null ? axe.run(options) : axe.run(context, options)",
        [context, options],
    )


def serious_violations(page, context: Any = None, impacts=SERIOUS, disable=()) -> list[dict]:
    """The violations of `impacts` (serious, critical) on the page, rules in `disable` off."""
    options = {"rules": {rule: {"enabled": False} for rule in disable}} if disable else None
    results = run_axe(page, context, options)
    return [v for v in results["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict], nodes: int = 3) -> str:
    """One paragraph per violation: rule, impact, help, and the first few elements."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v["nodes"][:nodes]:
            lines.append(f"    {' '.join(node['target'][:1])}: {node['html'][:200]}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
        if len(v["nodes"]) > nodes:
            lines.append(f"    ... and {len(v['nodes']) - nodes} more")
    return "\n".join(lines)
