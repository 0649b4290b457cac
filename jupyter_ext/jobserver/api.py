"""`make_app()`: the job server as a FastAPI application, with no module globals.

Everything it needs (the configured `JobServerApp`, database, vault, repository
sources) comes in as arguments and lives on `app.state`, so tests build as many
apps as they like (each from its own `JobServerApp`) and `JobServerApp.init_app`
builds one from its configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Query, Request
from sqlalchemy.orm import sessionmaker

from .._version import __version__
from . import metrics, release_differencing
from .background import in_thread, stop_all
from .body_limits import LimitBodies
from .deps import SessionDep, declare_permissions
from .errors import install_error_handlers
from .events import EventBus
from .notifications import Notifier
from .repos import RepositorySource
from .scheduler import Scheduler
from .security import Vault
from .services.leasing import expire_leases

if TYPE_CHECKING:
    from .app import JobServerApp

log = logging.getLogger("jupyter_ext.jobserver")


def make_app(
    server: JobServerApp,
    factory: sessionmaker,
    vault: Vault,
    repos: RepositorySource,
    *,
    hub_auth: object | None = None,
    browser_auth: object | None = None,
    hub_base_url: str | None = None,
) -> FastAPI:
    """The app of `server`, the configured `JobServerApp`: routes read its traits as
    `request.app.state.settings`; the event bus and the notifier are configurables built
    with `parent=server`, so `c.EventBus.*` and `c.Notifier.*` reach them."""
    shared = factory.kw["bind"].dialect.name == "postgresql"
    bus = EventBus(shared=shared, parent=server)
    bus.attach(factory)
    notifier = Notifier(parent=server)
    notifier.attach(factory)
    scheduler = Scheduler(parent=server)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        bus.bind(loop)
        tasks = [
            asyncio.create_task(_sweep_expired_leases(app)),
            asyncio.create_task(notifier.run(factory)),
            asyncio.create_task(scheduler.run(factory, repos, vault)),
            asyncio.create_task(in_thread(release_differencing.warm, app.state)),
        ]
        if shared:
            tasks.append(asyncio.create_task(bus.listen(factory)))
            await asyncio.wait_for(bus.listening.wait(), 10)
        try:
            yield
        finally:
            await stop_all(tasks)

    prefix = server.base_url.rstrip("/")
    app = FastAPI(
        title="jupyter-ext job server",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{prefix}/api/v1/openapi.json",
        docs_url=f"{prefix}/api/v1/docs",
        redoc_url=None,
    )
    app.state.sessionmaker, app.state.vault, app.state.repos = factory, vault, repos
    app.state.settings, app.state.bus, app.state.hub_auth = server, bus, hub_auth
    app.state.browser_auth, app.state.notifier = browser_auth, notifier
    app.state.scheduler = scheduler
    install_error_handlers(app)
    app.add_middleware(LimitBodies, limits=server, prefix=prefix)  # outermost
    counted = metrics.JobServerMetrics(factory, bus, server, notifier)
    metrics.install(app, counted, prefix)  # its middleware outside that one: 413s counted

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
    settings: JobServerApp = app.state.settings
    while True:
        await asyncio.sleep(settings.sweep_every)
        try:
            requeue = settings.requeue_expired_leases
            expired = await in_thread(expire_leases, app.state.sessionmaker, requeue)
            app.state.metrics.leases_expired(expired, requeue)
        except Exception:  # keep sweeping; the error is logged
            log.exception("sweeping expired leases failed")


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
