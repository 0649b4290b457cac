"""The axe-core helper finds what it should in a real Chromium, and nothing on a clean page."""

from __future__ import annotations

from .axe import describe, run_axe, serious_violations

CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title></head><body>
<main><h1>Jobs</h1><form><label for="q">Search</label><input id="q" name="q">
<button type="submit">Search</button></form><img src="data:," alt="a chart"></main></body></html>"""

BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body>
<main><h1>Jobs</h1><input name="q"><button></button><img src="data:,">
<p style="color:#bbb;background:#fff">faint text</p></main></body></html>"""


def test_a_clean_page_has_no_serious_violation(page):
    page.set_content(CLEAN)
    assert serious_violations(page) == []


def test_broken_markup_is_found_and_described(page):
    page.set_content(BROKEN)
    found = {v["id"]: v for v in serious_violations(page)}
    # an unnamed button (critical), an image without alt (critical), an unlabelled input
    # (critical), faint text (serious)
    assert {"button-name", "image-alt", "label", "color-contrast"} <= set(found)
    text = describe(list(found.values()))
    assert "button-name (critical)" in text and "<button></button>" in text
    # a rule can be turned off, and axe is injected once per document
    assert "color-contrast" not in {
        v["id"] for v in serious_violations(page, disable=["color-contrast"])
    }
    assert run_axe(page, "main")["violations"]
