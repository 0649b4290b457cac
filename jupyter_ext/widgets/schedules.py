"""`ScheduleBoard`: a workspace's schedules (when each fires next, what its last firings made)
with pause, resume, run now and delete, and a form to schedule actions on a cron expression."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

import ipywidgets as w

from ..client import Client
from ._base import TextForm, default_client, error_text
from .parameter_fields import ParameterFields

PRESETS = {  # what people mostly want, as cron expressions
    "Every Monday at 06:00": "0 6 * * 1",
    "Every day at 06:00": "0 6 * * *",
    "The 1st of each month at 06:00": "0 6 1 * *",
    "Custom": "",
}
HISTORY_SHOWN = 3


def local_timezone() -> str:
    """This machine's IANA time zone name, if it has one; else UTC."""
    try:
        from tzlocal import get_localzone_name  # installed with many Jupyter setups; optional

        name = get_localzone_name()
        ZoneInfo(name)
        return name
    except Exception:
        return "UTC"


class ScheduleBoard(TextForm):
    """The schedules of a workspace, and a form for a new one (`create()` is its button)."""

    def __init__(self, client: Client | None = None, workspace: str | None = None) -> None:
        super().__init__()
        self.client = default_client(client)
        self.workspace = workspace or self.client.workspace
        self.schedules: list = []
        self.message = w.HTML()
        self.list_box = w.VBox()
        self.actions = w.SelectMultiple(description="Actions", rows=5)
        self.parameters: dict[str, ParameterFields] = {}  # per notebook action
        self.parameter_box = w.VBox()  # the chosen notebooks' fields
        self.actions.observe(lambda _: self._show_parameters(), "value")
        self.backend = w.Dropdown(description="Backend")
        self.preset = w.Dropdown(options=list(PRESETS), description="When")
        self.cron = w.Text(value=PRESETS["Every Monday at 06:00"], description="Cron")
        self.timezone = w.Text(value=local_timezone(), description="Time zone")
        self.catch_up = w.Dropdown(
            options=[
                ("run the latest missed firing once", "once"),
                ("skip missed firings", "skip"),
            ],
            description="After downtime",
            style={"description_width": "initial"},
        )
        self.notify = w.Checkbox(value=True, description="Notify me", indent=False)
        self.create_button = w.Button(description="Schedule", button_style="primary", icon="clock")
        self.preset.observe(self._preset, "value")
        self.create_button.on_click(lambda _: self.create())
        self.refresh()

    def _preset(self, change) -> None:
        if PRESETS[change["new"]]:
            self.cron.value = PRESETS[change["new"]]

    def refresh(self) -> None:
        """Read the schedules, the actions and the backends again."""
        try:
            self.schedules = list(self.client.schedules.list(self.workspace))
            actions = self.client.actions.list(self.workspace)
            backends = [b.slug for b in self.client.backends.list()]
        except Exception as exc:
            self.children = [
                w.HTML(f"<b>Cannot show the schedules:</b> {html.escape(error_text(exc))}")
            ]
            return
        self.parameters = {
            a.name: ParameterFields(a.name, a.parameters) for a in actions.actions if a.parameters
        }
        self.actions.options = [a.name for a in actions.actions]
        self._show_parameters()
        chosen = self.backend.value
        self.backend.options = backends
        self.backend.value = chosen if chosen in backends else (backends[0] if backends else None)
        self.list_box.children = [self._row(s) for s in self.schedules] or [
            w.HTML("<i>No schedules yet.</i>")
        ]
        form = w.VBox(
            [
                w.HTML("<b>New schedule</b>"),
                self.actions,
                self.parameter_box,
                self.backend,
                w.HBox([self.preset, self.cron]),
                self.timezone,
                self.catch_up,
                w.HBox([self.notify, self.create_button]),
            ]
        )
        head = w.HTML(f"<b>Schedules of {html.escape(self.workspace)}</b>")
        self.children = [head, self.list_box, form, self.message]

    def _show_parameters(self) -> None:
        chosen = [self.parameters[a] for a in self.actions.value if a in self.parameters]
        self.parameter_box.children = chosen

    def overrides(self) -> dict[str, dict]:
        """The chosen notebooks' parameters changed here (ValueError: a field is not JSON)."""
        found = {
            a: self.parameters[a].overrides() for a in self.actions.value if a in self.parameters
        }
        return {action: changed for action, changed in found.items() if changed}

    def _row(self, schedule) -> w.Widget:
        """One schedule: what and when, its last firings, and what may be done to it."""
        upcoming = f"next: {html.escape(schedule.next_said)}" if schedule.next_said else "not due"
        firings = self._history(schedule)
        summary = w.HTML(
            f"<b>{html.escape(schedule.title or ', '.join(schedule.actions))}</b> at "
            f"{html.escape(', '.join(schedule.backends))}: {html.escape(schedule.when)} "
            f"({html.escape(schedule.timezone)}), <i>{schedule.state}</i>, {upcoming}{firings}"
        )
        buttons = []
        for label, act, shown in (
            ("Pause", "pause", schedule.state == "active"),
            ("Resume", "resume", schedule.state == "paused"),
            ("Run now", "run_now", schedule.state != "deleted"),
            ("Delete", "delete", schedule.state != "deleted"),
        ):
            if shown:
                button = w.Button(description=label, layout=w.Layout(width="auto"))
                button.on_click(lambda _, s=schedule, a=act: self.act(s, a))
                buttons.append(button)
        return w.VBox([summary, w.HBox(buttons)])

    def _history(self, schedule) -> str:
        try:
            firings = list(schedule.history(page_size=HISTORY_SHOWN))[:HISTORY_SHOWN]
        except Exception:
            return ""
        lines = "".join(f"<li>{html.escape(repr(f))}</li>" for f in firings)
        return f"<ul style='margin:0'>{lines}</ul>" if lines else ""

    def act(self, schedule, act: str):
        """Pause, resume, run now or delete it (what its buttons do); then read them again."""
        try:
            done = getattr(self.client.schedules, act)(schedule)
        except Exception as exc:
            self.message.value = html.escape(error_text(exc))
            return None
        said = {"pause": "paused", "resume": "resumed", "run_now": "run now", "delete": "deleted"}
        self.message.value = f"Schedule <code>{schedule.id}</code> {said[act]}."
        self.refresh()
        return done

    def create(self):
        """Schedule the chosen actions (what the button does); the job server's refusal, if
        any, is shown and nothing is made."""
        if not self.actions.value:
            self.message.value = "Choose at least one action to schedule."
            return None
        try:
            made = self.client.schedules.create(
                self.workspace,
                actions=list(self.actions.value),
                parameters=self.overrides(),
                backend=self.backend.value,
                cron=self.cron.value,
                timezone=self.timezone.value,
                catch_up=self.catch_up.value,
                notify=self.notify.value,
            )
        except Exception as exc:
            self.message.value = html.escape(error_text(exc))
            return None
        self.message.value = (
            f"Scheduled <code>{made.id}</code>: {html.escape(made.when)}, "
            f"next {html.escape(made.next_said or '-')}."
        )
        self.refresh()
        return made

    def text(self) -> str:
        lines = [f"Schedules of {self.workspace}:"]
        lines += [f"  {s!r}".replace("\n", "\n  ") for s in self.schedules] or ["  none"]
        return "\n".join(lines)
