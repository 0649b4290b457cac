"""Workspace servers on Kubernetes: an example to copy into jupyterhub_config.py, after
`configure(c)` (with `pip install jupyterhub-kubespawner`; not tested here: this machine runs
no Kubernetes).

The workspace's checkout is made by the hub's pre-spawn hook into `workspaces_root` on the hub;
on Kubernetes, mount that folder from a shared volume (NFS, CephFS) into both the hub and the
user pods, as below.
"""

c = get_config()  # noqa: F821

c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
c.KubeSpawner.image = "registry.example.org/jupyter-ext/singleuser:bookworm"
c.KubeSpawner.cpu_limit = 2
c.KubeSpawner.mem_limit = "4G"
c.KubeSpawner.volumes = [
    {"name": "workspaces", "persistentVolumeClaim": {"claimName": "jupyter-ext-workspaces"}}
]
c.KubeSpawner.volume_mounts = [
    {"name": "workspaces", "mountPath": "/home/jovyan/work", "subPath": "{username}/{servername}"}
]
c.KubeSpawner.notebook_dir = "/home/jovyan/work"
c.JupyterExtHub.workspaces_root = "/srv/jupyter-ext/workspaces"  # the same volume, on the hub
