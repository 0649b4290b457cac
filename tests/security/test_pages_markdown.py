"""A released Markdown file that attacks its reader, opened in real Chromium.

The job server under uvicorn serves the file's page; the file carries script tags, an
`onerror` image, a `javascript:` link, an image and a link that would call a canary server
on 127.0.0.1, and a form. Shown, its heading and table are rendered, nothing in it runs
(the page's title and a global stay as they were, no dialog opens), the canary hears
nothing, and the frame it is in is sandboxed with no permission and a policy that loads
nothing.
"""

from __future__ import annotations

import pytest

from .hostile_pages import (
    Canary,
    canary,  # noqa: F401 (a server that hears who calls)
    released_page,
)

pytestmark = pytest.mark.slow


def attack(calls_to: str) -> bytes:
    return f"""# Results

| Region | Count |
| --- | ---: |
| north | 35 |

<script>window.top.pwned = 1; document.title = "pwned"</script>
<img src="{calls_to}/img-tag" onerror="window.top.pwned = 2">
![beacon]({calls_to}/markdown-image)
[click me](javascript:window.top.pwned=3)
<form action="{calls_to}/form"><button>Send</button></form>
<iframe src="{calls_to}/frame"></iframe>
[a link out]({calls_to}/link)
""".encode()


def test_a_hostile_markdown_file_runs_nothing_and_calls_no_one(tmp_path, canary):  # noqa: F811
    with released_page(
        tmp_path, attack(canary), "output/report.md", "released-markdown.png"
    ) as page:
        frame_element = page.locator("iframe#released-markdown")
        assert frame_element.get_attribute("sandbox") == ""  # no permission at all
        frame = page.frame_locator("iframe#released-markdown")
        frame.locator("h1", has_text="Results").wait_for()
        assert frame.locator("td", has_text="35").count() == 1
        frame.locator("text=click me").click()  # text, not a link
    assert Canary.heard == [], Canary.heard
