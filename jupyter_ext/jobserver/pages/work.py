"""Pages for the work itself: workspaces, the GitHub token and settings, running jobs, the
job and its log, the event log (the user guide's steps 7 to 9)."""

from __future__ import annotations
