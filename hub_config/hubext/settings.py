"""`c.JupyterExtHub`: what an admin chooses; `configure(c)` turns it into JupyterHub's config.

Everything here is a traitlets trait with its help, set in jupyterhub_config.py
like any JupyterHub option. What JupyterHub offers itself (its authenticator's
and spawner's traits) is set there directly, after `configure(c)`.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import time
from pathlib import Path

from traitlets import Dict, Enum, Integer, List, Set, Unicode, default
from traitlets.config import LoggingConfigurable

import jupyter_ext

HERE = Path(__file__).resolve().parent
# the state badges' colours: the job server's pages and the hub's home page read one file
BADGE_PALETTE = Path(jupyter_ext.__file__).resolve().parent / "jobserver" / "pages" / "palette"
SERVICE = "jobserver"
ACCESS_JOBSERVER = f"access:services!service={SERVICE}"
BIN = Path(sys.executable).parent  # this environment's scripts (jupyter-ext, singleuser)


class JupyterExtHub(LoggingConfigurable):
    login = Enum(
        ["github", "dev"],
        "github",
        help="""Who may sign in: `github` (GitHubOAuthenticator, for real use) or `dev` (a
        development login with the `dev_users`, no password; refused unless the hub
        listens on loopback only).""",
    ).tag(config=True)
    dev_users = List(
        Unicode(),
        ["analyst", "checker", "publisher", "admin"],
        help="The users of the development login.",
    ).tag(config=True)
    admin_users = Set(Unicode(), help="Hub admins (GitHub logins).").tag(config=True)
    github_url = Unicode(
        "https://github.com", help="GitHub (or GitHub Enterprise): its web address."
    ).tag(config=True)
    allowed_organizations = Set(
        Unicode(),
        help="GitHub organisations (or `org:team`) whose members may sign in.",
    ).tag(config=True)
    allowed_users = Set(Unicode(), help="GitHub logins who may sign in.").tag(config=True)

    jobserver_port = Integer(8100, help="Port of the job server, on 127.0.0.1.").tag(config=True)
    jobserver_db_url = Unicode(
        "sqlite:///jupyter_ext_jobserver.sqlite", help="The job server's database."
    ).tag(config=True)
    jobserver_args = List(
        Unicode(), help="More `jupyter ext jobserver` options, e.g. --JobServerApp.release_dir=..."
    ).tag(config=True)
    jobserver_timeout = Integer(
        30,
        help="""Seconds the hub waits for the job server's answers before a spawn (the job server
        asks the hub who a token is, so a hub busy with a workshop's spawns answers slowly).""",
    ).tag(config=True)
    jobserver_environment = Dict(
        help="Environment of the job server (JUPYTER_EXT_CRYPT_KEY is passed on from the hub's)."
    ).tag(config=True)

    workspaces_root = Unicode(
        "workspaces",
        help="Folder of the workspaces' checkouts: <root>/<user>/<workspace>. With Docker, on the"
        " Docker host; with Slurm, on the file system the compute nodes share.",
    ).tag(config=True)
    spawner = Enum(
        ["local", "docker", "slurm"],
        "local",
        help="""How workspace servers run: `local` processes (the default), `docker`
        (DockerSpawner) or `slurm` (batchspawner's SlurmSpawner). Kubernetes: see
        kubespawner_example.py.""",
    ).tag(config=True)
    docker_image = Unicode(
        "jupyter-ext/singleuser:bookworm", help="The image of workspace servers with Docker."
    ).tag(config=True)

    slurm_exec_prefix = Unicode(
        "",
        help="""With Slurm: what precedes sbatch, squeue and scancel. Empty (the default): the
        hub's own OS user submits, and the servers' jobs run as that user, with
        `<workspaces_root>/<user>` as their home (the people signed in need not be OS users).
        `sudo -E -u {username}` (batchspawner's choice): each job runs as the OS user of the
        person's name, with their own home; the hub's user needs the sudo rights.""",
    ).tag(config=True)
    slurm_partition = Unicode(
        "", help="With Slurm: the partition of the servers' jobs (empty: the cluster's default)."
    ).tag(config=True)
    slurm_runtime = Unicode(
        "", help="With Slurm: a server's time limit, e.g. `8:00:00` (empty: the partition's)."
    ).tag(config=True)
    slurm_memory = Unicode(
        "", help="With Slurm: a server's memory, e.g. `4G` (empty: the partition's default)."
    ).tag(config=True)
    slurm_cpus = Integer(1, help="With Slurm: a server's CPUs (--cpus-per-task).").tag(config=True)
    slurm_server_ip = Unicode(
        "0.0.0.0",
        help="""With Slurm: where a server listens on its node. `0.0.0.0` (the default): all of
        the node's addresses, and the hub connects to the node by the name squeue gives it
        (set c.JupyterHub.hub_connect_ip so that jobs reach the hub). One address that is the
        same on every node, e.g. `127.0.0.1` when the hub runs on the single node itself: the
        server listens there only, and the hub connects there.""",
    ).tag(config=True)

    @property
    def jobserver_url(self) -> str:
        return f"http://127.0.0.1:{self.jobserver_port}/services/{SERVICE}/"

    @default("jobserver_environment")
    def _default_jobserver_environment(self) -> dict:
        key = os.environ.get("JUPYTER_EXT_CRYPT_KEY")
        return {"JUPYTER_EXT_CRYPT_KEY": key} if key else {}

    # -- what JupyterHub is told ------------------------------------------------------------

    def apply(self, c) -> None:
        from .spawn import prepare_workspace_server

        c.JupyterHub.allow_named_servers = True
        c.JupyterHub.default_url = "/hub/home"  # servers are per workspace: start from the list
        # ours, then the job server's palette of state badges (one file for both)
        c.JupyterHub.template_paths = [str(HERE.parent / "templates"), str(BADGE_PALETTE)]
        c.JupyterHub.template_vars = {"workspaces": self.home_workspaces}
        c.JupyterHub.services = [self.jobserver_service()]
        c.JupyterHub.load_roles = [
            {"name": "user", "scopes": ["self", ACCESS_JOBSERVER]},
        ]
        c.Spawner.server_token_scopes = [
            "users:activity!user",
            "access:servers!server",
            ACCESS_JOBSERVER,
        ]
        c.Spawner.default_url = "/lab"
        c.Spawner.pre_spawn_hook = lambda spawner: prepare_workspace_server(spawner, self)
        self.apply_login(c)
        self.apply_spawner(c)

    def jobserver_service(self) -> dict:
        return {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{self.jobserver_port}",
            "command": [
                str(BIN / "jupyter-ext"),
                "jobserver",
                "--ip",
                "127.0.0.1",
                "--port",
                str(self.jobserver_port),
                "--db-url",
                self.jobserver_db_url,
                *self.jobserver_args,
            ],
            "environment": dict(self.jobserver_environment),
            "oauth_no_confirm": True,
            "display": True,
        }

    def apply_login(self, c) -> None:
        if self.login == "dev":
            c.JupyterHub.authenticator_class = "hubext.devlogin.DevLogin"
            c.Authenticator.allowed_users = set(self.dev_users)
            c.Authenticator.admin_users = self.admin_users or {"admin"}
            return
        c.JupyterHub.authenticator_class = "github"
        c.GitHubOAuthenticator.github_url = self.github_url
        c.GitHubOAuthenticator.allowed_organizations = self.allowed_organizations
        c.GitHubOAuthenticator.allowed_users = self.allowed_users
        c.GitHubOAuthenticator.admin_users = self.admin_users
        c.GitHubOAuthenticator.scope = ["read:org", "repo"]  # teams, and private repositories
        c.GitHubOAuthenticator.populate_teams_in_auth_state = bool(
            {o for o in self.allowed_organizations if ":" in o}
        )
        c.Authenticator.enable_auth_state = True  # the GitHub token, encrypted by the hub

    def apply_spawner(self, c) -> None:
        root_args = ["--allow-root"] if os.getuid() == 0 else []
        if self.spawner == "local":
            c.JupyterHub.spawner_class = "simple"
            c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
            c.Spawner.args = root_args
            c.SimpleLocalProcessSpawner.home_dir_template = str(
                Path(self.workspaces_root).expanduser().resolve() / "{username}"
            )
        elif self.spawner == "docker":
            from .spawners import configure_docker

            configure_docker(c, self)
        else:
            from .spawners import configure_slurm

            configure_slurm(c, self, root_args)

    def place_checkout(self, spawner, checkout: Path) -> None:
        """Where the workspace's server finds its checkout."""
        if self.spawner == "docker":
            spawner.volumes = {str(checkout): "/home/jovyan/work"}
            spawner.notebook_dir = "/home/jovyan/work"
        else:
            spawner.notebook_dir = str(checkout)

    # -- the home page ----------------------------------------------------------------------

    _tokens: dict[str, tuple[str, float]] = {}

    def home_workspaces(self, user):
        """The template variable `workspaces`: a function the home page calls (and Jinja,
        in JupyterHub's async mode, awaits), so the hub's loop stays free meanwhile; the
        job server asks the hub who the token is."""
        return lambda: self._fetch_workspaces(user)

    async def _fetch_workspaces(self, user) -> list[dict] | str:
        """The user's workspaces (or a sentence if the job server is away)."""
        from .jobserver import JobServer

        if user is None:
            return []
        token, expires = self._tokens.get(user.name, ("", 0.0))
        if expires < time.time() + 60:
            token = user.new_api_token(
                scopes=[ACCESS_JOBSERVER], expires_in=3600, note="jupyter-ext home page"
            )
            self._tokens[user.name] = (token, time.time() + 3600)
        try:
            return await JobServer(self.jobserver_url).workspaces(token)
        except Exception as exc:  # the page still works: it says why the list is missing
            self.log.warning("the job server did not list %s's workspaces: %s", user.name, exc)
            return "The job server cannot be reached just now: reload the page in a moment."


def loopback_only(bind_url: str) -> bool:
    from urllib.parse import urlparse

    host = urlparse(bind_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def configure(c) -> JupyterExtHub:
    settings = JupyterExtHub(config=c)
    settings.apply(c)
    return settings
