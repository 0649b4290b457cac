"""What the runner tells the job server about a job: short sentences that say nothing of the site.

A job's status message is read by every member of its project. It may say what went wrong
in the job's own terms (an output's path in the job's folder, a dataset's name, a limit),
never where the site keeps things: a path of the site, its host's name, an exception's
repr or a stack trace. `public` scrubs a sentence that came from elsewhere (git, an engine,
an executor) before it leaves; `runner_error` is what an exception in the runner becomes,
with a short id logged on the site beside the traceback.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import socket

# an absolute path: a '/' that starts a word (not inside 'a/b', '1/2' or 'https://')
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~%-])(?:~|/)[^\s'\"`(),;<>]*")
A_PATH = "[a path on the site]"
MAX_LENGTH = 500


def runner_error() -> tuple[str, str]:
    """(the id to log beside the traceback, the sentence the job server gets)."""
    error = secrets.token_hex(4)
    sentence = f"the runner could not run this job (error {error}): the site's log has the details"
    return error, sentence


def public(message: str, *site_words: str) -> str:
    """`message` with every absolute path, the host's names and any of `site_words` (the
    site's folders) replaced, cut to a short sentence; a stack trace becomes nothing."""
    if "Traceback (most recent call last)" in message:
        return "the site's log has the details"
    message = ABSOLUTE_PATH.sub(A_PATH, message)
    for word in sorted({*site_words, *_host_names()}, key=len, reverse=True):
        if word and len(word) > 2:  # a site folder not at a word's start, a host's name
            message = message.replace(word, A_PATH if "/" in word else "[this site]")
    message = " ".join(message.split())  # one line
    return message if len(message) <= MAX_LENGTH else f"{message[: MAX_LENGTH - 1]}…"


def _host_names() -> set[str]:
    names = {socket.gethostname()}
    with contextlib.suppress(OSError):
        names.add(socket.getfqdn())
    return {name for name in names if name and name not in ("localhost", "localhost.localdomain")}
