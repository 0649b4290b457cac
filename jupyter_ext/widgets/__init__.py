"""ipywidgets for notebooks: pick and run actions (at one backend, or at several as one study
run), watch jobs and logs (a run's as a grid of actions by site, its outputs collected from
every site), ask for a release, review one, browse releases, schedule actions, see the
datasets a project may use and ask for others.

Each widget takes a `Client` (or makes one from the environment, as inside a
workspace server), updates live from the job server's event stream in a
background thread (the kernel stays free), and has a plain text form for
frontends without widgets.

    from jupyter_ext.widgets import ActionPicker
    ActionPicker()
"""

from .action_picker import ActionPicker
from .datasets import DatasetBrowser
from .job_monitor import JobMonitor
from .log_view import LogView
from .release_browser import ReleaseBrowser
from .release_request import ReleaseRequest
from .review_queue import ReviewQueue
from .schedules import ScheduleBoard

__all__ = [
    "ActionPicker",
    "DatasetBrowser",
    "JobMonitor",
    "LogView",
    "ReleaseBrowser",
    "ReleaseRequest",
    "ReviewQueue",
    "ScheduleBoard",
]
