r"""Mask what a log line may not say, in the disguises a plain pattern misses.

Shared by the runner (which redacts before a line leaves the site) and the job server
(which redacts again what it receives for a backend whose policy is `redacted`).

Before any pattern is matched the line is cleaned: ANSI escape sequences removed,
Unicode normalised (NFKC: full-width digits read as digits, ligatures and compatibility
forms fold), then control, format (zero-width, bidirectional), private-use, unassigned
and combining characters dropped, so `1\u200b2` or `1\x1b[0m2` read `12`. Site
patterns match in any case. What is sent is the cleaned, masked line.

What no masking catches: a job that encodes what it prints (base64, hex, spelled-out
numbers, a secret split across lines or written one character per line, homoglyphs from
other scripts). A backend whose log must not carry such things uses the `status` policy.
"""

from __future__ import annotations

import re
import unicodedata

ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, links
    r"|[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|[ -/]*[0-~])"  # any other escape
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
DROPPED = {"Cc", "Cf", "Co", "Cs", "Cn", "Mn", "Me"}

EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
TOKEN = r"[\w+/=-]{20,}"  # keys, hashes, long tokens, with digits or not
IDENTIFIER = r"\b(?=[\w-]*\d)(?=[\w-]*[^\W\d])[\w-]{5,}\b"  # letters and digits together
NUMBER = r"\d+(?:[.,]\d+)*"
MASKS = re.compile(f"(?P<id>{EMAIL}|{TOKEN}|{IDENTIFIER})|(?P<number>{NUMBER})")


def clean(text: str) -> str:
    """The line as a reader sees it: no escapes, no invisible characters, NFKC."""
    text = ANSI.sub("", text)
    if text.isascii():
        return ASCII_CONTROLS.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch == "\t" or unicodedata.category(ch) not in DROPPED)
    return unicodedata.normalize("NFKC", text)


def mask(text: str) -> str:
    """Numbers and identifiers masked (the `redacted` policy), on a cleaned line."""
    return MASKS.sub(lambda m: "[identifier]" if m.group("id") else "[number]", text)


def compile_patterns(patterns: list[str]) -> re.Pattern | None:
    """The site's patterns as one case-insensitive expression; ValueError if one is bad."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"a log redaction pattern is not valid: {exc}") from None
