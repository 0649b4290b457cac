"""`make_app()`: the job server as a FastAPI application, with no module globals.

Everything it needs (database, event bus, vault, repository sources, limits)
comes in as arguments and lives on `app.state`, so tests build as many apps
as they like and the traitlets Application builds one from its configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .._version import __version__
from . import github_tokens, orm
from .audit import record
from .body_limits import BodyLimits, LimitBodies
from .deps import SessionDep, declare_permissions
from .errors import install_error_handlers
from .events import EventBus, emit_job
from .notifications import Channels, Notifier
from .repos import RepositorySource
from .security import Vault

log = logging.getLogger("jupyter_ext.jobserver")


@dataclass(frozen=True)
class Settings:
    lease: dt.timedelta = dt.timedelta(minutes=2)
    requeue_expired: bool = False  # else a job whose runner vanished fails, saying so
    log_line_cap: int = 100_000
    sweep_every: float = 10.0  # seconds between looks for expired leases
    release_dir: str = "jupyter_ext_releases"  # released files, by their sha256
    required_approvals: int = 2  # independent output checkers per file
    # notifications (see notifications.py): an empty host or URL turns that channel off
    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = "jupyter-ext@localhost"
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    public_url: str = ""  # the job server's address as people reach it, for links in mails
    notify_every: float = 5.0  # seconds between looks for due notifications; first retry
    notify_retry_max: float = 300.0  # the longest wait between two tries
    upload_lease: dt.timedelta = dt.timedelta(seconds=60)  # an upload unrenewed this long ends
    body_limits: BodyLimits = field(
        default_factory=BodyLimits
    )  # bytes a request body may have, per kind of route


def make_app(
    factory: sessionmaker,
    vault: Vault,
    repos: RepositorySource,
    settings: Settings = Settings(),
    *,
    base_url: str = "/",
    hub_auth: object | None = None,
    browser_auth: object | None = None,
    hub_base_url: str | None = None,
) -> FastAPI:
    shared = factory.kw["bind"].dialect.name == "postgresql"
    bus = EventBus(shared=shared)
    bus.attach(factory)
    notifier = Notifier(
        Channels(
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            mail_from=settings.mail_from,
            webhook_url=settings.webhook_url,
            webhook_secret=settings.webhook_secret,
            public_url=settings.public_url or base_url,
        ),
        every=settings.notify_every,
        retry_max=settings.notify_retry_max,
    )
    notifier.attach(factory)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        bus.bind(loop)
        tasks = [
            asyncio.create_task(_sweep_expired_leases(app)),
            asyncio.create_task(notifier.run(factory)),
        ]
        if shared:
            tasks.append(asyncio.create_task(bus.listen(factory)))
            await asyncio.wait_for(bus.listening.wait(), 10)
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

    prefix = base_url.rstrip("/")
    app = FastAPI(
        title="jupyter-ext job server",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{prefix}/api/v1/openapi.json",
        docs_url=f"{prefix}/api/v1/docs",
        redoc_url=None,
    )
    app.state.sessionmaker, app.state.vault, app.state.repos = factory, vault, repos
    app.state.settings, app.state.bus, app.state.hub_auth = settings, bus, hub_auth
    app.state.browser_auth, app.state.notifier = browser_auth, notifier
    install_error_handlers(app)
    app.add_middleware(LimitBodies, limits=settings.body_limits, prefix=prefix)  # outermost

    from .routes import provenance, released_files, routers

    api = APIRouter(prefix=f"{prefix}/api/v1")
    for router in routers:
        api.include_router(router)
    app.include_router(api)
    app.include_router(released_files.router, prefix=f"{prefix}/api/v2")
    app.include_router(provenance.files_router, prefix=f"{prefix}/api/v2")
    declare_permissions(app)
    if browser_auth is not None:
        _add_sign_in(app, prefix, browser_auth)
    from . import pages

    pages.mount(app, prefix or "/", hub_base_url)  # last: `/{org}` matches anything
    return app


async def _sweep_expired_leases(app: FastAPI) -> None:
    """Jobs whose runner stopped renewing their lease: fail them, or queue them again."""
    settings: Settings = app.state.settings
    while True:
        await asyncio.sleep(settings.sweep_every)
        try:
            await run_in_threadpool(expire_leases, app.state.sessionmaker, settings)
        except Exception:  # keep sweeping; the error is logged
            log.exception("sweeping expired leases failed")


def expire_leases(factory: sessionmaker, settings: Settings) -> int:

    with factory() as session:
        now = orm.utcnow()
        jobs = session.scalars(
            select(orm.Job).where(orm.Job.state == "running", orm.Job.lease_expires_at < now)
        ).all()
        for job in jobs:
            before = {"state": job.state}
            if settings.requeue_expired:
                job.state, job.runner, job.started_at = "pending", None, None
                job.status_message = "queued again: its runner stopped reporting"
            else:
                job.state, job.completed_at = "failed", now
                job.status_message = "failed: its runner stopped reporting (lease expired)"
            job.lease_expires_at = None
            github_tokens.forget_when_finished(job.job_request)  # if that was its last job
            record(session, "system", f"job.{job.state}", job, before, {"state": job.state})
            emit_job(session, job)
        session.commit()
        return len(jobs)


def _add_sign_in(app: FastAPI, prefix: str, browser_auth) -> None:
    """`/login` and `/oauth_callback`: a browser signs in through the hub; `/logout` signs
    out with a POST carrying the CSRF token (a GET only shows the button)."""
    from .pages.auth import sign_out, sign_out_page

    @app.get(f"{prefix}/login", include_in_schema=False)
    def login(request: Request, next: str = Query("", max_length=2000)):
        return browser_auth.login(request, next)

    @app.get(f"{prefix}/oauth_callback", include_in_schema=False)
    def oauth_callback(
        request: Request,
        session: SessionDep,
        code: str = Query(max_length=2000),
        state: str = Query(max_length=200),
    ):
        return browser_auth.callback(request, session, code, state)

    @app.get(f"{prefix}/logout", include_in_schema=False)
    def logout_page(request: Request, session: SessionDep):
        return sign_out_page(request, session)

    @app.post(f"{prefix}/logout", include_in_schema=False)
    async def logout(request: Request, session: SessionDep):
        return await sign_out(request, session)
