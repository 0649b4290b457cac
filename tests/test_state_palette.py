"""One palette of state badges on the hub's home page, the job server's pages and the Jobs
panel: the hub and the pages read one file, the panel its copy, each as CSS variables; here the
two are read and compared,
with a colour for every state the API sends and white text every one of them can carry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jupyter_ext.schema.states import FileState, JobRequestState, JobState, ReleaseState

ROOT = Path(__file__).resolve().parents[1]
SIDES = {
    "pages and hub": ROOT / "jupyter_ext" / "jobserver" / "pages" / "palette" / "_states.css",
    "panel": ROOT / "labextension" / "style" / "states.css",
}
BADGE_CLASS = {"pages and hub": ".jx-state.jx-state-", "panel": ".jp-ext-state.jp-ext-state-"}
KINDS = (JobState, JobRequestState, ReleaseState, FileState)
STATES = sorted({state.value for kind in KINDS for state in kind})
VARIABLE = re.compile(r"--jx-state-([a-z_]+):\s*(#[0-9a-f]{6})\s*;")


def palette(side: str) -> dict[str, str]:
    text = SIDES[side].read_text()
    root = re.search(r":root\s*\{(.*?)\}", text, re.S)
    assert root, f"{SIDES[side]} has no :root block"
    found = VARIABLE.findall(root.group(1))
    names = [name for name, _ in found]
    assert len(names) == len(set(names)), f"{SIDES[side]} defines a state twice"
    return dict(found)


def rgb(colour: str) -> str:
    """#rrggbb as a browser's computed style says it."""
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


def luminance(colour: str) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_two_sides_define_the_same_palette():
    assert palette("pages and hub") == palette("panel")


@pytest.mark.parametrize("side", SIDES)
def test_every_state_has_its_colour_and_a_rule_that_uses_it(side):
    colours, text = palette(side), SIDES[side].read_text()
    assert sorted(set(colours) - {"text"}) == STATES
    for state in STATES:
        rule = re.search(re.escape(BADGE_CLASS[side] + state) + r"\s*\{([^}]*)\}", text)
        assert rule and f"var(--jx-state-{state})" in rule.group(1), (side, state)


def test_white_text_reads_on_every_badge_and_requested_stands_out():
    colours = palette("pages and hub")
    for state in STATES:
        assert contrast(colours[state], colours["text"]) >= 4.5, state
    # the badge of a release waiting for its first vote is a colour, not a pale grey
    assert contrast(colours["requested"], "#ffffff") >= 4.5
    assert colours["requested"] != colours["cancelled"]


def test_each_side_puts_its_palette_where_its_badges_are():
    base = ROOT / "jupyter_ext" / "jobserver" / "pages" / "templates" / "base.html"
    assert '{% include "_states.css" %}' in base.read_text()
    home = ROOT / "hub_config" / "templates" / "home.html"
    assert '{% include "_states.css" %}' in home.read_text()
    from hub_config.hubext.settings import BADGE_PALETTE
    from jupyter_ext.jobserver.pages.render import PALETTE

    assert BADGE_PALETTE.resolve() == PALETTE.resolve() == SIDES["pages and hub"].parent
    panel = ROOT / "labextension" / "style" / "base.css"
    assert "@import url('states.css');" in panel.read_text()
    badge = (ROOT / "labextension" / "src" / "components" / "common.tsx").read_text()
    assert "jp-ext-state jp-ext-state-${props.state}" in badge
