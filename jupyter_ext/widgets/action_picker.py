"""`ActionPicker`: the actions of project.yaml with their last states; pick actions, choose one
backend or several, run."""

from __future__ import annotations

import html

import ipywidgets as w

from ..client import Client
from ..client._resource import submission_warnings
from ._base import TextForm, default_client, error_text, state_html
from .job_monitor import JobMonitor
from .parameter_fields import ParameterFields


class ActionPicker(TextForm):
    """One backend chosen: a job request. Several: a study run, one job request per site at
    one commit. Either is then shown in a `JobMonitor` (`self.monitor`)."""

    def __init__(self, client: Client | None = None, workspace: str | None = None) -> None:
        super().__init__()
        self.client = default_client(client)
        self.workspace = workspace or self.client.workspace
        self.checks: dict[str, w.Checkbox] = {}
        self.parameters: dict[str, ParameterFields] = {}  # per notebook action
        self.backends: dict[str, w.Checkbox] = {}
        self.force = w.Checkbox(description="Force run dependencies", indent=False)
        self.notify = w.Checkbox(value=True, description="Notify me", indent=False)
        self.submit = w.Button(
            description="Run",
            button_style="primary",
            icon="play",
            tooltip="Submit the checked actions at each chosen backend (several: one study run)",
        )
        self.message = w.HTML()
        self.monitor_box = w.VBox()
        self.submit.on_click(lambda _: self.run())
        self.submitted = None
        self.refresh()

    def refresh(self) -> None:
        """Read the actions and backends again (the backends chosen stay chosen)."""
        try:
            actions = self.client.actions.list(self.workspace)
            backends = list(self.client.backends.list())
        except Exception as exc:
            self.children = [
                w.HTML(f"<b>Cannot show the actions:</b> {html.escape(error_text(exc))}")
            ]
            return
        self.actions = actions
        chosen = self.chosen_backends
        if not self.backends and backends:  # at first, one backend: an online one, if any
            chosen = [next((b.slug for b in backends if b.online), backends[0].slug)]
        self.backends = {
            b.slug: w.Checkbox(
                value=b.slug in chosen,
                description=f"{b.slug} ({'online' if b.online else 'offline'})",
                indent=False,
                layout=w.Layout(width="auto"),
            )
            for b in backends
        }
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
        self.checks, self.parameters = {}, {}
        for action in actions.actions:
            box = w.Checkbox(description=action.name, indent=False, layout=w.Layout(width="auto"))
            self.checks[action.name] = box
            states = ", ".join(f"{b}: {state_html(s)}" for b, s in action.last_state.items())
            needs = f" needs {', '.join(action.needs)}" if action.needs else ""
            rows.append(w.HBox([box, w.HTML(f"<small>{html.escape(needs)} {states}</small>")]))
            if action.parameters:  # a notebook's: shown while it is checked
                fields = self.parameters[action.name] = ParameterFields(
                    action.name, action.parameters
                )
                fields.layout.display = "none"
                box.observe(self._show_parameters(fields), "value")
                rows.append(fields)
        sites = w.HBox([w.HTML("<b>Backends:</b>"), *self.backends.values()])
        controls = w.HBox([self.force, self.notify, self.submit])
        self.children = [*rows, sites, controls, self.message, self.monitor_box]

    @staticmethod
    def _show_parameters(fields: ParameterFields):
        def show(change) -> None:
            fields.layout.display = None if change["new"] else "none"

        return show

    def overrides(self) -> dict[str, dict]:
        """The parameters changed for the checked notebook actions (ValueError: not JSON)."""
        found = {name: self.parameters[name].overrides() for name in self.selected_notebooks}
        return {name: changed for name, changed in found.items() if changed}

    @property
    def selected_notebooks(self) -> list[str]:
        return [name for name in self.selected if name in self.parameters]

    @property
    def selected(self) -> list[str]:
        return [name for name, box in self.checks.items() if box.value]

    @property
    def chosen_backends(self) -> list[str]:
        return [slug for slug, box in self.backends.items() if box.value]

    def run(self):
        """Submit the checked actions (what the button does); shows the new job request, or
        study run when several backends are chosen."""
        if not self.selected:
            self.message.value = "Check at least one action to run."
            return None
        backends = self.chosen_backends
        try:
            parameters = self.overrides()
        except ValueError as exc:
            self.message.value = html.escape(str(exc))
            return None
        options = {
            "actions": self.selected,
            "parameters": parameters,
            "force_run_dependencies": self.force.value,
            "notify": self.notify.value,
        }
        self.submit.disabled = True
        try:
            if len(backends) == 1:
                submitted = self.client.job_requests.create(
                    self.workspace, backend=backends[0], **options
                )
            else:  # several, or none: then the job server's refusal says what to do
                submitted = self.client.runs.create(self.workspace, backends=backends, **options)
        except Exception as exc:
            self.message.value = html.escape(error_text(exc))
            return None
        finally:
            self.submit.disabled = False
        self.submitted = submitted
        warned = "".join(f"<br>⚠ {html.escape(said)}" for said in submission_warnings(submitted))
        if len(backends) == 1:
            self.message.value = f"Job request <code>{submitted.id}</code> submitted.{warned}"
        else:
            self.message.value = (
                f"Study run <code>{submitted.id}</code> submitted at "
                f"{html.escape(', '.join(backends))}.{warned}"
            )
        self.monitor = JobMonitor(submitted, client=self.client)
        self.monitor_box.children = [self.monitor]
        return submitted

    def text(self) -> str:
        lines = [f"Actions of {self.workspace}:"]
        for action in self.actions.actions if hasattr(self, "actions") else []:
            states = ", ".join(f"{b}: {s}" for b, s in action.last_state.items()) or "never run"
            lines.append(
                f"  [{'x' if self.checks[action.name].value else ' '}] {action.name} ({states})"
            )
        chosen = ", ".join(self.chosen_backends) or "none chosen"
        return "\n".join([*lines, f"Backends: {chosen}"])
