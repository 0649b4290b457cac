"""Workspace servers in Docker containers or Slurm jobs: the well-kept spawners, configured.

Both are the community's own spawners (DockerSpawner, batchspawner's
SlurmSpawner); this module only sets them up for workspaces.
"""

from __future__ import annotations

import random

try:
    from dockerspawner import DockerSpawner
except ImportError:  # the `docker` extra is not installed: only `local` and `slurm` work
    DockerSpawner = object


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


def configure_slurm(c, settings, root_args: list[str]) -> None:
    c.JupyterHub.spawner_class = "batchspawner.SlurmSpawner"
    c.Spawner.cmd = ["jupyterhub-singleuser"]
    c.Spawner.args = root_args
