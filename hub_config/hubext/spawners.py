"""Workspace servers in Docker containers or Slurm jobs: the well-kept spawners, configured.

Both are the community's own spawners (DockerSpawner, batchspawner's
SlurmSpawner); this module only sets them up for workspaces.
"""

from __future__ import annotations

import random
import shlex
from pathlib import Path

from traitlets import Unicode, default

from .settings import BIN

try:
    from dockerspawner import DockerSpawner
except ImportError:  # the `docker` extra is not installed: only `local` and `slurm` work
    DockerSpawner = object

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


class HostNetworkDockerSpawner(DockerSpawner):
    """A container on the host's network, listening on 127.0.0.1 only.

    With `network_mode=host` Docker refuses port bindings, so the server gets a
    fresh free-looking port of its own and says where it is directly."""

    def _port_default(self) -> int:
        return random.randint(20000, 40000)

    async def get_ip_and_port(self):
        return "127.0.0.1", self.port

    async def start(self):
        self.port = self._port_default()
        self.extra_host_config = {**self.extra_host_config, "network_mode": "host"}
        return await super().start()

    def get_args(self):
        return [*super().get_args(), "--ip=127.0.0.1", f"--port={self.port}"]


def configure_docker(c, settings) -> None:
    c.JupyterHub.spawner_class = HostNetworkDockerSpawner
    c.DockerSpawner.image = settings.docker_image
    c.DockerSpawner.network_name = "host"
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.remove = True
    c.DockerSpawner.name_template = "jupyter-ext-{username}-{servername}"
    c.DockerSpawner.hub_connect_url = "http://127.0.0.1:8081"


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
