"""A released Markdown file, rendered for reading but never trusted.

markdown-it-py (CommonMark, with tables and strikethrough) turns the text into HTML with raw
HTML off: any tag in the file comes out as text, and links that could run script
(`javascript:`, `vbscript:`, `data:` but images) are not made links. The HTML is then a
whole document for an `<iframe sandbox srcdoc>`: no script runs, it has an origin of its own
(as a released file served with `Content-Security-Policy: sandbox` has), and its own policy
lets it load nothing from anywhere (an image from elsewhere is shown as its description), so
nothing in the file can report who read it.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
       margin: 1rem; color: #212529; background: #fff; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #dee2e6; padding: .25rem .5rem; }
pre, code { background: #f6f8fa; }
pre { padding: .5rem; overflow-x: auto; }
img { max-width: 100%; }
"""

_parser = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_render_image = _parser.renderer.rules["image"]


def _image(self, tokens, idx, options, env) -> str:
    """An image embedded in the file (a data: address) is shown; one from elsewhere is its
    description in brackets: the frame would not load it anyway, and saying so is clearer."""
    token = tokens[idx]
    if str(token.attrGet("src") or "").startswith("data:image/"):
        return _render_image(tokens, idx, options, env)
    alt = self.renderInlineAsText(token.children or [], options, env)
    return f"[image: {escapeHtml(alt)}]"


_parser.add_render_rule("image", _image)


def markdown_html(text: str) -> str:
    """The file's text as HTML: its own tags escaped, unsafe links left as text."""
    return _parser.render(text)


def markdown_document(text: str) -> str:
    """A whole page for a sandboxed frame's `srcdoc` (escaped as an attribute by the
    template, never marked safe)."""
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<style>{STYLE}</style></head><body>{markdown_html(text)}</body></html>"
    )
