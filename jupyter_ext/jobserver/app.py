"""`jupyter ext jobserver`: the job server as a traitlets Application.

On its own: `jupyter ext jobserver --ip 127.0.0.1 --port 8100 --db-url URL`.
As a JupyterHub managed service it reads the hub's JUPYTERHUB_SERVICE_* environment.
The database is never changed behind the admin's back: `--upgrade-db` applies
migrations; starting on an old schema without it stops with a message.

Every option is declared once, as a trait with its help: the server's own here (routes
read them as `request.app.state.settings`), those of its parts on the configurables it
builds with `parent=self` (`Notifier`, `EventBus`, `GitHub`, `Scheduler`). `initialize()`
builds the server in `init_*` steps, as JupyterHub does; `run()` serves it.
"""

from __future__ import annotations

import binascii
import logging
import os
from urllib.parse import urlparse

from traitlets import Bool, Float, Integer, List, TraitError, Unicode, default, validate
from traitlets.config import Config, catch_config_error

from ..app import JupyterExtBase, base_aliases, base_flags

DEFAULT_DB = "sqlite:///jupyter_ext_jobserver.sqlite"
# options that moved from JobServerApp to the configurable that uses them: old name -> class
MOVED = {
    name: "Notifier"
    for name in (
        "smtp_host",
        "smtp_port",
        "mail_from",
        "webhook_url",
        "webhook_secret",
        "public_url",
    )
}


class JobServerApp(JupyterExtBase):
    name = "jupyter-ext-jobserver"
    description = "Run the job server: the REST API, live events and the runners' endpoints."
    examples = "jupyter ext jobserver --ip 127.0.0.1 --port 8100 --db-url sqlite:///jobs.sqlite"

    @property
    def classes(self) -> list[type]:  # type: ignore[override]
        """This app and the configurables it builds with parent=self (`c.Notifier.interval`):
        imported when the job server runs or shows its help, so that `jupyter ext runner`,
        which imports this class for `jupyter ext --help-all`, does not load the web stack."""
        from .events import EventBus
        from .notifications import Notifier
        from .repos import GitHub
        from .scheduler import Scheduler

        return [type(self), EventBus, Notifier, GitHub, Scheduler]

    aliases = {
        **base_aliases,
        "ip": "JobServerApp.ip",
        "port": "JobServerApp.port",
        "db-url": "JobServerApp.db_url",
        "base-url": "JobServerApp.base_url",
    }
    flags = {
        **base_flags,
        "upgrade-db": (
            {"JobServerApp": {"upgrade_db": True}},
            "Apply the database migrations (back the database up first), then exit.",
        ),
    }

    ip = Unicode("127.0.0.1", help="The address to listen on.").tag(config=True)
    port = Integer(8100, help="The port to listen on.").tag(config=True)
    base_url = Unicode(
        help="URL prefix of every route, e.g. /services/jobserver/ under JupyterHub."
    ).tag(config=True)
    db_url = Unicode(
        DEFAULT_DB,
        help="""Database URL: SQLite (the default) or PostgreSQL, e.g.
        `postgresql+psycopg://jobserver@db.example.org/jobserver`.""",
    ).tag(config=True)
    upgrade_db = Bool(False, help="Apply the database migrations, then exit.").tag(config=True)
    crypt_keys = List(
        Unicode(),
        help="""Fernet keys that encrypt GitHub tokens at rest; the first encrypts, all decrypt
        (to rotate, put the new key first). Default: JUPYTER_EXT_CRYPT_KEY (`;`-separated).""",
    ).tag(config=True)
    github_url = Unicode(
        "https://github.com", help="GitHub's web address (GitHub Enterprise, or a test fake)."
    ).tag(config=True)
    github_api_url = Unicode(help="GitHub's REST API; derived from github_url.").tag(config=True)
    local_repo_roots = List(
        Unicode(),
        help="""Folders whose plain git repositories workspaces may use (the demo, tests).
        Empty by default: only GitHub repositories.""",
    ).tag(config=True)
    lease_seconds = Float(
        120, help="How long a runner holds a job without renewing it by heartbeat."
    ).tag(config=True)
    requeue_expired_leases = Bool(
        False, help="Queue a job again when its runner stops reporting, instead of failing it."
    ).tag(config=True)
    release_dir = Unicode(
        "jupyter_ext_releases",
        help="Folder of released files, stored by their sha256 (immutable once written).",
    ).tag(config=True)
    required_approvals = Integer(
        2, help="Independent output checkers who must approve a file before it is published."
    ).tag(config=True)
    shutdown_timeout = Float(
        5, help="Seconds open requests (runners' long-polls, event streams) get when stopping."
    ).tag(config=True)
    hub_auth = Bool(
        help="""Accept JupyterHub tokens of users the hub lets use this service (scope
        access:services!service=<name>). Default: on when running as a JupyterHub service."""
    ).tag(config=True)
    log_line_cap = Integer(
        100_000, help="Log lines kept per job; the rest stays on the backend."
    ).tag(config=True)
    max_json_body = Integer(
        1 << 20,
        help="""Bytes a request body may have (JSON, forms), checked before the caller is
        known; a larger one is answered 413. E.g. `c.JobServerApp.max_json_body = 2 << 20`.""",
    ).tag(config=True)
    max_runner_report_body = Integer(
        32 << 20,
        help="""Bytes of a runner's log batch, outputs report or dataset manifest (413 past
        it). Raise it for jobs with very many outputs.""",
    ).tag(config=True)
    max_upload_body = Integer(
        64 << 30,
        help="""Bytes of one upload of a released file (streamed to disk, never held in
        memory); 413 past it. Keep it above the backends' release rules' max_size.""",
    ).tag(config=True)

    upload_lease_seconds = Float(
        60,
        help="""How long an upload of a released file holds it (another upload of the same
        file is refused meanwhile) without its job server process renewing the hold: an
        upload whose process died stops blocking others after this long.""",
    ).tag(config=True)
    sweep_every = Float(
        10.0,
        help="""Seconds between two looks for jobs whose runner stopped renewing its lease
        (they fail, or are queued again with requeue_expired_leases). A job is seen at most
        this long after its lease_seconds ran out. E.g. `c.JobServerApp.sweep_every = 30`.""",
    ).tag(config=True)

    authenticate_metrics = Bool(
        True,
        help="""Ask who scrapes `/metrics` (Prometheus's text format): a caller with the
        permission metrics_view (core developers) or the metrics_token, as JupyterHub asks for
        read:metrics unless `authenticate_prometheus` is off. False lets anyone who reaches
        the job server read them. E.g. `c.JobServerApp.authenticate_metrics = False`.""",
    ).tag(config=True)
    metrics_token = Unicode(
        help="""A token a Prometheus server sends as `Authorization: Bearer <token>` to read
        `/metrics` (never in a URL); compared in constant time. Empty: only callers with the
        permission metrics_view. Default: JUPYTER_EXT_METRICS_TOKEN.""",
    ).tag(config=True)

    @default("metrics_token")
    def _default_metrics_token(self) -> str:
        return os.environ.get("JUPYTER_EXT_METRICS_TOKEN", "")

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")

    @validate("base_url")
    def _valid_base_url(self, proposal: dict) -> str:
        """`/prefix/` whatever slashes were given, as JupyterHub normalises its base_url."""
        inner = proposal["value"].strip("/")
        return f"/{inner}/" if inner else "/"

    @validate("max_json_body", "max_runner_report_body", "max_upload_body")
    def _positive_body_limit(self, proposal: dict) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"JobServerApp.{proposal['trait'].name} must be at least 1 byte")
        return proposal["value"]

    @default("hub_auth")
    def _default_hub_auth(self) -> bool:
        return bool(os.environ.get("JUPYTERHUB_API_TOKEN"))

    @default("log_level")
    def _default_log_level(self) -> int:
        return logging.INFO

    @default("crypt_keys")
    def _default_crypt_keys(self) -> list[str]:
        return [k for k in os.environ.get("JUPYTER_EXT_CRYPT_KEY", "").split(";") if k]

    @default("github_api_url")
    def _default_github_api_url(self) -> str:
        if urlparse(self.github_url).netloc == "github.com":
            return "https://api.github.com"
        return self.github_url.rstrip("/") + "/api/v3"

    @default("ip")
    def _default_ip(self) -> str:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return urlparse(url).hostname or "127.0.0.1" if url else "127.0.0.1"

    @default("port")
    def _default_port(self) -> int:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return (urlparse(url).port or 8100) if url else 8100

    @catch_config_error
    def initialize(self, argv: list[str] | None = None) -> None:
        """Read the configuration, then build the server in steps, as JupyterHub does."""
        super().initialize(argv)
        if self.generate_config or self.upgrade_db:
            return  # `run` does that alone
        self.init_moved_config()
        self.init_db()
        self.init_vault()
        self.init_repos()
        self.init_hub_auth()
        self.init_app()

    def init_moved_config(self) -> None:
        """Options that moved to another configurable still work under their old name."""
        old = self.config.JobServerApp if "JobServerApp" in self.config else {}
        moved = Config()
        for name, owner in MOVED.items():
            if name in old:
                self.log.warning(
                    "JobServerApp.%s is now %s.%s: please rename it in your configuration",
                    *(name, owner, name),
                )
                if name not in self.config[owner]:
                    moved[owner][name] = old[name]
        if moved:
            self.update_config(moved)

    def init_db(self) -> None:
        """The database, checked to have the schema of this version (never changed here)."""
        from .db import (
            DatabaseOutOfDate,
            DatabaseUnavailable,
            describe,
            make_sessionmaker,
            open_database,
        )

        try:
            self.engine = open_database(self.db_url)
        except (DatabaseOutOfDate, DatabaseUnavailable) as exc:
            hint = "" if self.db_url == DEFAULT_DB else f" (with --db-url={describe(self.db_url)})"
            self.exit(f"error: {exc}{hint}")
        self.session_factory = make_sessionmaker(self.engine)

    def init_vault(self) -> None:
        """What encrypts GitHub tokens at rest, from `crypt_keys`."""
        from .security import Vault

        try:
            self.vault = Vault(self.crypt_keys)
        except ValueError as exc:
            self.exit(f"error: {exc}")
        except (TypeError, binascii.Error) as exc:
            self.exit(
                f"error: JobServerApp.crypt_keys (or JUPYTER_EXT_CRYPT_KEY) holds a key that "
                f"is not a Fernet key ({exc}): {Vault.HOW_TO_MAKE_A_KEY}"
            )

    def init_repos(self) -> None:
        """Where project.yaml is read: GitHub, and plain git repositories under local roots."""
        from .repos import GitHub, LocalGit, Repositories

        self.repos = Repositories(
            GitHub(self.github_api_url, self.github_url, parent=self),
            LocalGit(self.local_repo_roots, parent=self),
            parent=self,
        )

    def init_hub_auth(self) -> None:
        """JupyterHub's users and browser sign-in, when `hub_auth` is on (else None)."""
        self.hub_users = self.browser_auth = self.hub_base_url = None
        if not self.hub_auth:
            return
        from jupyterhub.services.auth import HubOAuth

        from .hubauth import HubBrowserAuth, HubUsers

        oauth = HubOAuth(parent=self)  # from the JUPYTERHUB_* environment, or config
        self.hub_users = HubUsers(oauth)
        self.browser_auth = HubBrowserAuth(oauth, self.vault, self.hub_users, self.base_url)
        self.hub_base_url = os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"

    def init_app(self) -> None:
        """The FastAPI app, reading this object's traits as its settings."""
        from .api import make_app

        self.fastapi_app = make_app(
            self,
            self.session_factory,
            self.vault,
            self.repos,
            hub_auth=self.hub_users,
            browser_auth=self.browser_auth,
            hub_base_url=self.hub_base_url,
        )

    def run(self) -> None:
        if self.upgrade_db:
            self.upgrade_database()
            return
        import uvicorn

        self.log.info("The job server listens on http://%s:%s%s", self.ip, self.port, self.base_url)
        # long-polls are held up to a minute: shutting down does not wait for them
        uvicorn.run(
            self.fastapi_app,
            host=self.ip,
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=self.shutdown_timeout,
        )

    def upgrade_database(self) -> None:
        """`--upgrade-db`: apply the migrations, then exit."""
        from sqlalchemy.exc import SQLAlchemyError

        from .db import describe, upgrade_db

        try:
            upgrade_db(self.db_url)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            self.exit(f"error: cannot upgrade the database at {describe(self.db_url)}: {reason}")
        self.log.info("The database at %s is up to date.", describe(self.db_url))
