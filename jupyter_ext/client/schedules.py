"""`client.schedules`: a workspace's actions submitted by the job server on a cron expression,
with no user server running; each firing is an ordinary job request (one backend) or study
run (several), made as the schedule's owner at the branch head."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import schema
from ._http import Call, clean
from ._resource import Resource, api_path, name_of, parse_one
from .errors import ClientError
from .models import Bound, _when


class ScheduleFiring(schema.ScheduleFiring, Bound):
    def __repr__(self) -> str:
        made = self.job_request or self.run or "-"
        how = "run now" if self.trigger == "run_now" else "scheduled"
        missed = f", {self.missed} missed" if self.missed else ""
        return f"{_when(self.fired_at)} {how}: {self.outcome}{missed} ({made}) {self.message}"


class Schedule(schema.Schedule, Bound):
    """A schedule; `pause()`, `resume()`, `run_now()`, `delete()` and `history()` act on it."""

    def pause(self):
        return self.client.schedules.pause(self)

    def resume(self):
        return self.client.schedules.resume(self)

    def run_now(self):
        return self.client.schedules.run_now(self)

    def delete(self):
        return self.client.schedules.delete(self)

    def history(self, *, page_size: int | None = None):
        return self.client.schedules.history(self, page_size=page_size)

    def refresh(self):
        return self.client.schedules.refresh(self)

    def __repr__(self) -> str:
        where = ", ".join(self.backends)
        title = f" {self.title!r}" if self.title else ""
        head = (
            f"Schedule {self.id}{title} in {self.workspace} at {where} by {self.created_by}: "
            f"{self.state}, {self.when} ({self.timezone})"
        )
        upcoming = f"next: {self.next_said}" if self.next_said else "not due"
        return f"{head}\n  {', '.join(self.actions)}; {upcoming}"


class Schedules(Resource):
    def list(
        self,
        workspace: str | None = None,
        *,
        state: str | None = None,
        page_size: int | None = None,
    ):
        """Newest first; deleted ones only with `state="deleted"`."""
        return self._list("schedules", Schedule, page_size, workspace=workspace, state=state)

    def get(self, id: str):
        return self._send(self._get(api_path("schedules", id), Schedule))

    def refresh(self, schedule: Schedule):
        return self._send(self._get(api_path("schedules", schedule.id), Schedule, schedule))

    def create(
        self,
        workspace: str | None = None,
        *,
        actions: Iterable[str],
        cron: str,
        backend: str | None = None,
        backends: Iterable[str] | None = None,
        timezone: str = "UTC",
        catch_up: str = "once",
        parameters: dict[str, dict[str, Any]] | None = None,
        force_run_dependencies: bool = False,
        notify: bool = True,
        title: str | None = None,
        description: str | None = None,
    ):
        """Submit `actions` at `backend` (a job request) or `backends` (a study run) at each
        firing of `cron` (e.g. "0 6 * * 1": Mondays at 06:00) in `timezone`, as you, at the
        branch head. After the job server was down, the latest missed firing runs once
        (`catch_up="once"`) or not ("skip"). Checked now as such a submission would be, with
        the GitHub token saved in your settings (the one its firings use)."""
        if (backend is None) == (backends is None):
            raise ClientError("name a backend, or several as backends=[...], not both")
        body = {
            "workspace": self._workspace(workspace),
            "actions": list(actions),
            "backends": [backend] if backend is not None else list(backends),
            "cron": cron,
            "timezone": timezone,
            "catch_up": catch_up,
            "parameters": parameters or {},
            "force_run_dependencies": force_run_dependencies,
            "notify": notify,
            "title": title,
            "description": description,
        }
        return self._send(Call("POST", "schedules", json=clean(body), parse=self._one()))

    def _one(self, into: Schedule | None = None):
        return parse_one(self._client, Schedule, into)

    def _act(self, schedule: str | Schedule, act: str):
        into = schedule if isinstance(schedule, Schedule) else None
        path = api_path("schedules", name_of(schedule, "id"), act)
        return self._send(Call("POST", path, parse=self._one(into)))

    def pause(self, schedule: str | Schedule):
        """It fires no more until resumed (its owner, or a coordinator of the project)."""
        return self._act(schedule, "pause")

    def resume(self, schedule: str | Schedule):
        """Active again from its next firing after now; what it missed is not made up."""
        return self._act(schedule, "resume")

    def run_now(self, schedule: str | Schedule):
        """Its submission made at once (its next firing stays as it was): the firing, whose
        `job_request` (or `run`) is what it made."""
        path = api_path("schedules", name_of(schedule, "id"), "run-now")
        return self._send(
            Call("POST", path, parse=parse_one(self._client, ScheduleFiring)),
        )

    def delete(self, schedule: str | Schedule):
        """It never fires again; it and its history stay readable."""
        path = api_path("schedules", name_of(schedule, "id"))
        return self._send(Call("DELETE", path, parse=lambda response: None))

    def history(self, schedule: str | Schedule, *, page_size: int | None = None):
        """Its firings, newest first: what each made, or why it made nothing."""
        path = api_path("schedules", name_of(schedule, "id"), "history")
        return self._list(path, ScheduleFiring, page_size)
