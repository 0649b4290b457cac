"""What the release benchmarks seed first: the one succeeded job their files come from."""

from __future__ import annotations

from sqlalchemy import select

from jupyter_ext.jobserver import orm


def succeeded_job(session, action: str) -> tuple[orm.User, orm.Workspace, orm.Backend, orm.Job]:
    """A succeeded job of `action` by the seeded `dev` in the one workspace and backend,
    with its job request; and those three, for the releases made of its files."""
    dev = session.scalar(select(orm.User).where(orm.User.username == "dev"))
    workspace = session.scalar(select(orm.Workspace))
    backend = session.scalar(select(orm.Backend))
    request = orm.JobRequest(
        workspace_id=workspace.id,
        backend_id=backend.id,
        sha="0" * 40,
        actions=[action],
        project_yaml="",
        created_by_id=dev.id,
    )
    session.add(request)
    session.flush()
    job = orm.Job(
        identifier="benchjob00000001",
        job_request_id=request.id,
        workspace_id=workspace.id,
        backend_id=backend.id,
        created_by_id=dev.id,
        action=action,
        run=f"python {action}.py",
        state="succeeded",
    )
    session.add(job)
    session.flush()
    return dev, workspace, backend, job
