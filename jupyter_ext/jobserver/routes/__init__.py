"""The API's routes, one module per resource; `routers` lists them in order."""

from . import (
    accounts,
    applications,
    audit,
    datasets,
    events,
    job_requests,
    jobs,
    orgs,
    projects,
    provenance,
    releases,
    review_uploads,
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
    review_uploads.router,
    applications.router,
    releases.router,
    reviews.router,
    audit.router,
    datasets.router,
    datasets.runner_router,
]
