"""Pages for the people who run the platform and its projects: applications, organisations,
backends, members, project settings (the user guide's steps 2 to 6)."""

from __future__ import annotations
