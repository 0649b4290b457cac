"""A Python client of the job server's API, sync (`Client`) and async (`AsyncClient`).

Inside a workspace server it configures itself from the environment; elsewhere
give it the job server's URL and a personal API token:

    from jupyter_ext.client import Client

    client = Client()  # or Client("https://hub.example.org/services/jobserver/", token="jxa_…")
    for backend in client.backends.list():
        print(backend)
    request = client.job_requests.create("my-workspace", actions=["make_table"], backend="tpp")
    request.wait()  # a progress bar; progress=False for none
    for line in client.jobs.logs(request.jobs[-1], follow=True):
        print(line)
    client.datasets.usable()  # the datasets the workspace's project may use, with manifests
    rows = client.datasets.dummy("primary-care")  # its dummy data, typed by its manifest
    run = client.runs.create("my-workspace", actions=["make_table"], backends=["north", "south"])
    run.wait()  # one progress bar over every site
    collected = run.collect("collected/")  # each site's released files, with a manifest
    weekly = client.schedules.create("my-workspace", actions=["make_table"], backend="tpp",
                                     cron="0 6 * * 1", timezone="Europe/London")
    client.projects.limits("my-study")  # its cap and jobs-a-day quota per backend, and its use
    release = client.releases.get("01J…")
    client.releases.download(release, "released/")  # each file's sha256 is checked

It speaks only `jupyter_ext.schema`, the API's wire format; what it returns are
those models, with a few conveniences (see `models`).
"""

from ._client import AsyncClient, Client
from .collect import Collected
from .errors import (
    BadRequest,
    ChecksumMismatch,
    ClientError,
    Conflict,
    Forbidden,
    JobServerError,
    JobServerUnreachable,
    NotFound,
    ServerError,
    Unauthorized,
    ValidationError,
    WaitTimeout,
)
from .events import LiveEvent
from .models import (
    AccessRequest,
    Actions,
    Backend,
    Dataset,
    Job,
    JobRequest,
    LogLine,
    Release,
    RunSite,
    StudyRun,
)
from .schedules import Schedule, ScheduleFiring

__all__ = [
    "AccessRequest",
    "Actions",
    "AsyncClient",
    "Backend",
    "BadRequest",
    "ChecksumMismatch",
    "Client",
    "ClientError",
    "Collected",
    "Conflict",
    "Dataset",
    "Forbidden",
    "Job",
    "JobRequest",
    "JobServerError",
    "JobServerUnreachable",
    "LiveEvent",
    "LogLine",
    "NotFound",
    "Release",
    "RunSite",
    "Schedule",
    "ScheduleFiring",
    "ServerError",
    "StudyRun",
    "Unauthorized",
    "ValidationError",
    "WaitTimeout",
]
