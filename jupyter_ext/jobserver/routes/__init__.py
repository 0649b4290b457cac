"""The API's routes, one module per resource; `routers` lists them in order."""

from . import (
    accounts,
    applications,
    audit,
    datasets,
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
    workspaces,
)

routers = [
    accounts.router,
    orgs.router,
    projects.router,
    workspaces.router,
    job_requests.router,
    jobs.router,
    provenance.router,
    events.router,
    runner.router,
    file_uploads.router,
    applications.router,
    releases.router,
    reviews.router,
    audit.router,
    datasets.router,
    datasets.runner_router,
]
