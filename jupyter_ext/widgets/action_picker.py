"""`ActionPicker`: the actions of project.yaml with their last states; pick, choose, run."""

from __future__ import annotations

import html

import ipywidgets as w

from ..client import Client
from ._base import TextForm, default_client, error_text, state_html
from .job_monitor import JobMonitor


class ActionPicker(TextForm):
    def __init__(self, client: Client | None = None, workspace: str | None = None) -> None:
        super().__init__()
        self.client = default_client(client)
        self.workspace = workspace or self.client.workspace
        self.checks: dict[str, w.Checkbox] = {}
        self.backend = w.Dropdown(description="Backend")
        self.force = w.Checkbox(description="Force run dependencies", indent=False)
        self.notify = w.Checkbox(value=True, description="Notify me", indent=False)
        self.submit = w.Button(
            description="Run",
            button_style="primary",
            icon="play",
            tooltip="Submit a job request for the checked actions",
        )
        self.message = w.HTML()
        self.monitor_box = w.VBox()
        self.submit.on_click(lambda _: self.run())
        self.request = None
        self.refresh()

    def refresh(self) -> None:
        """Read the actions and backends again."""
        try:
            actions = self.client.actions.list(self.workspace)
            backends = list(self.client.backends.list())
        except Exception as exc:
            self.children = [
                w.HTML(f"<b>Cannot show the actions:</b> {html.escape(error_text(exc))}")
            ]
            return
        self.actions = actions
        self.backend.options = [
            (f"{b.slug} ({'online' if b.online else 'offline'})", b.slug) for b in backends
        ]
        if backends and self.backend.value is None:  # an online backend first, if any
            self.backend.value = next((b.slug for b in backends if b.online), backends[0].slug)
        rows = [
            w.HTML(
                f"<b>{html.escape(self.workspace)}</b>: the actions of project.yaml at "
                f"<code>{actions.sha[:12]}</code>"
            )
        ]
        for problem in actions.problems:
            rows.append(
                w.HTML(
                    f"<span style='color:var(--jp-error-color1)'>line "
                    f"{problem.get('line')}: {html.escape(problem['message'])}</span>"
                )
            )
        self.checks = {}
        for action in actions.actions:
            box = w.Checkbox(description=action.name, indent=False, layout=w.Layout(width="auto"))
            self.checks[action.name] = box
            states = ", ".join(f"{b}: {state_html(s)}" for b, s in action.last_state.items())
            needs = f" needs {', '.join(action.needs)}" if action.needs else ""
            rows.append(w.HBox([box, w.HTML(f"<small>{html.escape(needs)} {states}</small>")]))
        controls = w.HBox([self.backend, self.force, self.notify, self.submit])
        self.children = [*rows, controls, self.message, self.monitor_box]

    @property
    def selected(self) -> list[str]:
        return [name for name, box in self.checks.items() if box.value]

    def run(self):
        """Submit the checked actions (what the button does); shows the new job request."""
        if not self.selected:
            self.message.value = "Check at least one action to run."
            return None
        self.submit.disabled = True
        try:
            self.request = self.client.job_requests.create(
                self.workspace,
                actions=self.selected,
                backend=self.backend.value,
                force_run_dependencies=self.force.value,
                notify=self.notify.value,
            )
        except Exception as exc:
            self.message.value = html.escape(error_text(exc))
            return None
        finally:
            self.submit.disabled = False
        self.message.value = f"Job request <code>{self.request.id}</code> submitted."
        self.monitor = JobMonitor(self.request, client=self.client)
        self.monitor_box.children = [self.monitor]
        return self.request

    def text(self) -> str:
        lines = [f"Actions of {self.workspace}:"]
        for action in getattr(self, "actions", None).actions if hasattr(self, "actions") else []:
            states = ", ".join(f"{b}: {s}" for b, s in action.last_state.items()) or "never run"
            lines.append(
                f"  [{'x' if self.checks[action.name].value else ' '}] {action.name} ({states})"
            )
        return "\n".join(lines)
