"""Workspace servers in Docker containers or Slurm jobs: the well-kept spawners, configured.

Both are the community's own spawners (DockerSpawner, batchspawner's
SlurmSpawner); this module only sets them up for workspaces.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
from pathlib import Path

from traitlets import Integer, Unicode, default

from .git import ASKPASS
from .settings import BIN

try:
    import docker.errors
    from dockerspawner import DockerSpawner
except ImportError:  # the `docker` extra is not installed: only `local` and `slurm` work
    DockerSpawner = None

try:
    from batchspawner import SlurmSpawner
    from batchspawner.api import BatchSpawnerAPIHandler
    from jupyterhub.apihandlers import default_handlers
    from tornado import web

    # importing batchspawner added its own call back to the hub's API: out with it, for any
    # spawner (see PortOnlyAPIHandler); configure_slurm puts ours in its place
    default_handlers[:] = [h for h in default_handlers if h[1] is not BatchSpawnerAPIHandler]
except ImportError:  # the `slurm` extra is not installed: only `local` and `docker` work
    SlurmSpawner = BatchSpawnerAPIHandler = object
    default_handlers = []

WORK = "/home/jovyan/work"  # where the image's user finds the checkout (settings.place_checkout)
CONTAINER_ASKPASS = "/opt/jupyter-ext-hub/askpass.sh"  # the hub's askpass.sh, mounted read-only


def free_port() -> int:
    """A port free on 127.0.0.1 just now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def own_tree(top: Path, uid: int, gid: int) -> int:
    """chown what under `top` is not uid:gid (symlinks themselves, never their targets, and
    never across into another file system); how many entries changed."""
    changed, device = 0, top.stat().st_dev
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if os.lstat(os.path.join(folder, d)).st_dev == device]
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            info = os.lstat(path)
            if (info.st_uid, info.st_gid) != (uid, gid):
                os.lchown(path, uid, gid)
                changed += 1
    return changed


if DockerSpawner is not None:

    class HostNetworkDockerSpawner(DockerSpawner):
        """A workspace server in a container on the host's network, listening on 127.0.0.1 only.

        On the host network Docker refuses port bindings, so there are none
        (`use_internal_ip`): each start takes a port free on 127.0.0.1, the server
        binds it there (JUPYTERHUB_SERVICE_URL), and the hub and proxy reach it at
        127.0.0.1:port, as the server reaches the hub and the job server. The
        checkout (the volume at /home/jovyan/work) is handed to the image's user
        first; the hub's askpass helper is mounted read-only and GIT_ASKPASS points
        at it, so git in the container uses the user's token as the hub's clone did."""

        work_uid = Integer(
            1000, help="The uid (and gid) the image's server runs as: it must own the checkout."
        ).tag(config=True)

        @default("ip")
        def _default_ip(self) -> str:
            return "127.0.0.1"

        async def start(self):
            self.port = free_port()
            for host, bind in self.volume_binds.items():
                if bind["bind"] == WORK and bind["mode"] == "rw":
                    await asyncio.to_thread(self._own_checkout, Path(host))
            return await super().start()

        def _own_checkout(self, checkout: Path) -> None:
            if os.geteuid() == 0:
                changed = own_tree(checkout, self.work_uid, self.work_uid)
                if changed:
                    self.log.info(
                        "%s: %d entries now owned by uid %d", checkout, changed, self.work_uid
                    )
            elif checkout.stat().st_uid != self.work_uid:
                self.log.warning(
                    "%s is owned by uid %d and the hub cannot chown it (not root): the server, "
                    "uid %d, cannot write there",
                    checkout,
                    checkout.stat().st_uid,
                    self.work_uid,
                )

        async def pull_image(self, image):
            """Images are built on the site (hubext/image.py), never pulled: say so if missing."""
            try:
                await self.docker("inspect_image", image)
            except docker.errors.ImageNotFound:
                raise RuntimeError(
                    f"the image {image} is not on this Docker engine: build it with "
                    "`python hub_config/hubext/image.py`"
                ) from None

        async def get_ip_and_port(self):
            return "127.0.0.1", self.port

        def _askpass_mounted(self) -> bool:
            return self.environment.get("GIT_ASKPASS") == str(ASKPASS)

        @property
        def volume_binds(self):
            binds = super().volume_binds
            if self._askpass_mounted():
                binds[str(ASKPASS)] = {"bind": CONTAINER_ASKPASS, "mode": "ro"}
            return binds

        def get_env(self):
            env = super().get_env()
            if self._askpass_mounted():
                env["GIT_ASKPASS"] = CONTAINER_ASKPASS
            return env


def configure_docker(c, settings) -> None:
    if DockerSpawner is None:
        raise ImportError(
            "spawner = 'docker' needs DockerSpawner: pip install 'jupyter-ext[docker]'"
        )
    c.JupyterHub.spawner_class = HostNetworkDockerSpawner
    c.DockerSpawner.image = settings.docker_image
    c.DockerSpawner.pull_policy = "never"  # built here (hubext/image.py): no registry to pull from
    c.DockerSpawner.network_name = "host"
    c.DockerSpawner.use_internal_ip = True  # no port bindings: the host network refuses them
    c.DockerSpawner.remove = True  # the container goes with its server; the checkout stays
    c.DockerSpawner.name_template = "jupyter-ext-{username}-{servername}"
    c.DockerSpawner.extra_host_config = {"init": True}  # an init as PID 1 reaps kernels' zombies
    # c.Spawner.cpu_limit and c.Spawner.mem_limit become the container's CPU quota and memory
    # limit (DockerSpawner's own traits of the same names read them)


class WorkspaceSlurmSpawner(SlurmSpawner):
    """batchspawner's SlurmSpawner, and its batch script, with two choices of ours.

    `home_dir_template`: when the hub's own OS user runs the jobs, the person
    signed in need not be an OS user: the job's home (HOME, its working folder
    and Slurm's output file) is their folder of workspaces, as with the local
    spawner. Empty: their OS account's home, as batchspawner does.

    `server_ip`: where the server listens on its node (`--ip`). A specific
    address is one the hub can reach on any node (127.0.0.1 on a single node
    that is the hub's machine), so the hub connects there; with 0.0.0.0 it
    connects to the node by its name, as squeue gives it."""

    home_dir_template = Unicode("", help="The job's home, e.g. /srv/ws/{username}.").tag(
        config=True
    )
    server_ip = Unicode("0.0.0.0", help="Where the server listens on its node.").tag(config=True)

    @default("req_homedir")
    def _home_of_the_job(self) -> str:
        if self.home_dir_template:
            return self.format_string(self.home_dir_template)
        return super()._req_homedir_default()  # the OS account's

    def user_env(self, env: dict) -> dict:
        if not self.home_dir_template:
            return super().user_env(env)
        return {**env, "USER": self.user.name, "HOME": self.req_homedir}

    def get_args(self) -> list[str]:
        return [*super().get_args(), f"--ip={self.server_ip}"]

    def state_gethost(self) -> str:
        if self.server_ip not in ("", "0.0.0.0"):
            return self.server_ip
        return super().state_gethost()


class PortOnlyAPIHandler(BatchSpawnerAPIHandler):
    """`POST /hub/api/batchspawner`: a starting job says which port its server took.

    batchspawner's own handler sets whatever spawner attribute the JSON names,
    with the server's token, which the person in that server can read: they
    could set `exec_prefix` and `batch_cancel_cmd`, commands the hub runs, as
    itself. This one takes a port, from a server that is starting, and nothing else."""

    @web.authenticated
    def post(self) -> None:
        body = self.get_json_body() or {}
        port = body.get("port")
        if set(body) != {"port"} or type(port) is not int or not 0 < port < 65536:
            raise web.HTTPError(400, "only the server's port may be set here")
        token = self.get_auth_token()
        spawner = next(
            (s for s in self.current_user.spawners.values() if s.api_token == token), None
        )
        if spawner is None or spawner.pending != "spawn":
            raise web.HTTPError(409, "no server of this token is starting")
        spawner.port = port
        self.set_status(201)
        self.finish({"message": "BatchSpawner data configured"})


def use_port_only_api() -> None:
    """Add PortOnlyAPIHandler to the hub's API (before the hub makes its app)."""
    if not any(handler is PortOnlyAPIHandler for _, handler in default_handlers):
        default_handlers.append((r"/api/batchspawner", PortOnlyAPIHandler))


def configure_slurm(c, settings, root_args: list[str]) -> None:
    """A server per Slurm job: `srun batchspawner-singleuser jupyterhub-singleuser`, from this
    environment (the compute nodes share its file system), with the pre-spawn hook's
    environment; the job tells the hub its port. batchspawner's own traits (c.SlurmSpawner.*,
    e.g. req_options, req_srun, batch_script) can still be set after configure(c)."""
    use_port_only_api()
    c.JupyterHub.spawner_class = WorkspaceSlurmSpawner
    c.Spawner.cmd = [shlex.quote(str(BIN / "jupyterhub-singleuser"))]
    c.Spawner.args = root_args
    # The job is exported these variables' names (--export): the hook's `environment` and the
    # hub's own (JUPYTERHUB_*), and these of the hub's, SLURM_CONF if the hub has one.
    c.Spawner.env_keep = ["JUPYTERHUB_SINGLEUSER_APP", "PATH", "LANG", "SLURM_CONF"]
    c.SlurmSpawner.batchspawner_singleuser_cmd = shlex.quote(str(BIN / "batchspawner-singleuser"))
    c.SlurmSpawner.exec_prefix = settings.slurm_exec_prefix
    c.SlurmSpawner.req_partition = settings.slurm_partition
    c.SlurmSpawner.req_runtime = settings.slurm_runtime
    c.SlurmSpawner.req_memory = settings.slurm_memory
    c.SlurmSpawner.req_nprocs = str(settings.slurm_cpus)
    c.WorkspaceSlurmSpawner.server_ip = settings.slurm_server_ip
    if not settings.slurm_exec_prefix:  # jobs run as the hub's user: homes are workspace folders
        root = Path(settings.workspaces_root).expanduser().resolve()
        c.WorkspaceSlurmSpawner.home_dir_template = str(root / "{username}")
