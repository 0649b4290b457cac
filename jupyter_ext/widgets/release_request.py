"""`ReleaseRequest`: tick moderately sensitive outputs, check them, ask for their release.

The backend's pre-release rules run here on the files in the workspace folder (the
analyst's own run of the code), so a file is fixed before a checker ever sees it. An output
that is only on the site is checked there when the release is asked for; what the site found
when its job ended is shown beside it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as w

from .. import schema
from ..client import Client, ClientError, Job
from ._base import TextForm, default_client, error_text
from .findings import (
    ERROR,
    MUTED,
    coloured,
    findings_html,
    findings_text,
    size_text,
    summary_html,
)

WIDE = w.Layout(width="95%")


@dataclass
class Candidate:
    """One output that may be asked for, and its row in the widget."""

    job: Job
    output: schema.Output
    box: w.Checkbox
    result: w.HTML
    check: schema.FileCheck | None = None  # the rules here, after Check
    remote: bool = False  # not in the workspace folder: checked on the site only

    @property
    def path(self) -> str:
        return self.output.path


def _needs_statement(c: Candidate) -> bool:
    """A table, or a file the rules flagged (here or on the site), needs a statement of
    disclosure control: the job server refuses it without one."""
    checks = [k for k in (c.check, c.output.check) if k is not None]
    return c.path.lower().endswith((".csv", ".tsv")) or any(
        f.verdict == "flag" for k in checks for f in k.findings
    )


class ReleaseRequest(TextForm):
    def __init__(
        self,
        workspace: str | None = None,
        backend: str | None = None,
        client: Client | None = None,
        workspace_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.client = default_client(client)
        self.workspace = workspace or self.client.workspace
        self.workspace_dir = Path(workspace_dir) if workspace_dir is not None else Path.cwd()
        self.candidates: dict[str, Candidate] = {}
        self.release = None
        self.backend = w.Dropdown(description="Backend")
        self.group = w.Text(value="outputs", description="Group")
        self.context = w.Textarea(
            description="Context",
            layout=WIDE,
            placeholder="Needed: what the files show (the population, the period, what each "
            "count counts)",
        )
        self.disclosure = w.Textarea(
            description="Disclosure",
            layout=WIDE,
            placeholder="Needed for tables and flagged files: how small numbers were handled, "
            "e.g. counts of 7 or fewer suppressed, all counts rounded to 5",
        )
        self.check_button = w.Button(
            description="Check", icon="check", tooltip="Run the backend's pre-release rules"
        )
        self.submit = w.Button(description="Request release", button_style="primary", icon="send")
        self.message = w.HTML()
        self.files_box = w.VBox()
        self.check_button.on_click(lambda _: self.check())
        self.submit.on_click(lambda _: self.request())
        self._loading = False
        self.backend.observe(lambda _: self._loading or self.refresh(), "value")
        self.refresh(backend)

    def refresh(self, backend: str | None = None) -> None:
        """Read the backends and the outputs of the workspace's succeeded jobs again."""
        self._loading = True  # choosing the backend here is no change of the user's
        try:
            backends = list(self.client.backends.list())
            wanted = backend or self.backend.value
            if wanted and wanted not in {b.slug for b in backends}:
                raise ClientError(f"there is no backend {wanted!r} that you may use")
            self.backend.options = [(b.slug, b.slug) for b in backends]
            online = next((b.slug for b in backends if b.online), None)
            self.backend.value = wanted or online or (backends[0].slug if backends else None)
            self.candidates = {c.path: c for c in self._candidates()}
        except Exception as exc:
            self.children = [
                w.HTML(f"<b>Cannot list the outputs:</b> {html.escape(error_text(exc))}")
            ]
            return
        finally:
            self._loading = False
        head = w.HTML(
            f"<b>{html.escape(self.workspace)}</b>: moderately sensitive outputs of its "
            f"succeeded jobs on {html.escape(str(self.backend.value))}, the latest of each"
        )
        rows = [w.VBox([c.box, c.result]) for c in self.candidates.values()]
        if not rows:
            rows = [w.HTML("No succeeded job has made a moderately sensitive output yet.")]
        self.files_box.children = rows
        self.children = [
            w.HBox([self.backend, self.check_button]),
            head,
            self.files_box,
            self.group,
            self.context,
            self.disclosure,
            self.submit,
            self.message,
        ]

    def _candidates(self) -> list[Candidate]:
        """The latest succeeded job's outputs of each action (newest first), by path."""
        found: dict[str, Candidate] = {}
        seen_actions: set[str] = set()
        jobs = self.client.jobs.list(self.workspace, backend=self.backend.value, status="succeeded")
        for job in jobs:
            if job.action in seen_actions:
                continue
            seen_actions.add(job.action)
            for output in job.outputs():
                if output.privacy_level != schema.PrivacyLevel.MODERATELY_SENSITIVE:
                    continue
                if output.path not in found:
                    found[output.path] = self._candidate(job, output)
        return sorted(found.values(), key=lambda c: c.path)

    def _candidate(self, job: Job, output: schema.Output) -> Candidate:
        box = w.Checkbox(description=output.path, indent=False, layout=w.Layout(width="auto"))
        candidate = Candidate(job, output, box, w.HTML())
        candidate.result.value = self._row_html(candidate)
        return candidate

    @property
    def selected(self) -> list[Candidate]:
        return [c for c in self.candidates.values() if c.box.value]

    def check(self) -> dict[str, schema.FileCheck | None]:
        """Run the rules over the ticked files (all, if none is ticked), as the Check button
        does: a `FileCheck` per path, or None for a file only on the site."""
        chosen = self.selected or list(self.candidates.values())
        local = [c for c in chosen if (self.workspace_dir / c.path).is_file()]
        try:
            checks = self._rules_over([c.path for c in local])
        except Exception as exc:
            self.message.value = coloured(error_text(exc), ERROR)
            return {}
        for candidate in chosen:
            candidate.remote = candidate not in local
            candidate.check = checks.get(candidate.path)
            candidate.result.value = self._row_html(candidate)
        refused = [c.path for c in chosen if c.check and c.check.refused]
        self.message.value = (
            coloured(f"Fix {', '.join(refused)} before asking: the rules refuse it.", ERROR)
            if refused
            else f"Checked {len(chosen)} files."
        )
        return {c.path: c.check for c in chosen}

    def _rules_over(self, paths: list[str]) -> dict[str, schema.FileCheck]:
        if not paths:
            return {}
        backend = self.backend.value
        check = getattr(self.client.releases, "check", None)
        if check is not None:
            found = check(paths, backend=backend, workspace_dir=self.workspace_dir)
        else:  # a client without check(): the same rules, read from the backend
            rules = self.client.backends.get(backend).release_rules
            found = [schema.check_file(self.workspace_dir / p, rules, p) for p in paths]
        return dict(zip(paths, found, strict=True))

    def _row_html(self, c: Candidate) -> str:
        about = f"job {c.job.identifier} ({c.job.action}), {size_text(c.output.size)}"
        lines = [coloured(about, MUTED)]
        if c.check is not None:
            lines.append(f"here: {findings_html(c.check.findings)}")
            lines.append(summary_html(c.check.summary, c.path))
        elif c.remote:
            lines.append(
                coloured("not in the workspace folder here: the rules run on the site", MUTED)
            )
        site = c.output.check
        if site is not None:
            lines.append(f"on the site, when the job ended: {findings_html(site.findings)}")
            if c.check is None:
                lines.append(summary_html(site.summary, c.path))
        return "<div style='margin-left:2em'>" + "<br>".join(lines) + "</div>"

    def request(self):
        """Ask for the ticked files' release (the Request release button); the new release."""
        chosen = self.selected
        statement = any(_needs_statement(c) for c in chosen)
        missing = [
            name
            for name, box, needed in (
                ("a context", self.context, True),
                ("how small numbers were handled", self.disclosure, statement),
            )
            if needed and not box.value.strip()
        ]
        if not chosen or missing:
            wanted = (["at least one file"] if not chosen else []) + missing
            self.message.value = coloured(f"Give {' and '.join(wanted)}.", ERROR)
            return None
        group = {
            "context": self.context.value.strip(),
            "disclosure_control": self.disclosure.value.strip(),
            "files": [{"job": c.job.identifier, "path": c.path} for c in chosen],
        }
        self.submit.disabled = True
        try:
            self.release = self.client.releases.create(
                self.workspace, backend=self.backend.value, groups={self.group.value: group}
            )
        except Exception as exc:
            self.message.value = coloured(error_text(exc), ERROR)
            return None
        finally:
            self.submit.disabled = False
        link = html.escape(self.page_url(self.release))
        self.message.value = (
            f"Release <code>{self.release.id}</code> requested: {len(chosen)} files wait for "
            f'two output checkers. <a href="{link}" target="_blank">{link}</a>'
        )
        return self.release

    def page_url(self, release) -> str:
        """The release's page on the job server (its API address if the workspace's
        organisation cannot be read)."""
        try:
            project = self.client.projects.get(self.client.workspaces.get(self.workspace).project)
        except Exception:
            return f"{self.client.url}api/v1/releases/{release.id}"
        return (
            f"{self.client.url}{project.org}/{project.slug}/{self.workspace}/releases/{release.id}"
        )

    def text(self) -> str:
        lines = [f"Moderately sensitive outputs of {self.workspace} on {self.backend.value}:"]
        for c in self.candidates.values():
            state = (
                findings_text(c.check.findings)
                if c.check
                else "checked on the site"
                if c.remote
                else "not checked yet"
            )
            lines.append(
                f"  [{'x' if c.box.value else ' '}] {c.path} ({c.job.identifier}): {state}"
            )
        if self.release is not None:
            lines.append(f"Release {self.release.id} requested.")
        return "\n".join(lines)
