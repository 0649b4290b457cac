"""The API's routes, one module per resource; `routers` lists them in order."""

from . import (
    accounts,
    applications,
    audit,
    datasets,
    desk,
    events,
    file_uploads,
    job_requests,
    jobs,
    orgs,
    projects,
    provenance,
    releases,
    reviews,
    runner,
    runs,
    schedules,
    workspaces,
)

routers = [
    accounts.router,
    orgs.router,
    projects.router,
    workspaces.router,
    job_requests.router,
    runs.router,
    schedules.router,
    jobs.router,
    provenance.router,
    events.router,
    runner.router,
    file_uploads.router,
    applications.router,
    desk.router,  # /releases/queue before /releases/{release_id}
    releases.router,
    reviews.router,
    audit.router,
    datasets.router,
    datasets.runner_router,
]
