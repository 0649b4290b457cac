"""JupyterHub for jupyter-ext: GitHub login, the job server, one server per workspace.

Start it with `jupyterhub -f hub_config/jupyterhub_config.py` (the demo,
`jupyter ext demo`, does this for you with a development login). Set what your
site needs in the first part; `configure(c)` turns it into JupyterHub's own
configuration, and anything of JupyterHub, its authenticator or its spawner can
still be set after it. `jupyterhub --help-all` lists JupyterHub's options;
`hub_config/hubext/settings.py` documents every `c.JupyterExtHub` option.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the hubext package beside this file

from hubext import configure

c = get_config()  # noqa: F821 (JupyterHub provides it)

# -- who may sign in: GitHub (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAUTH_CALLBACK_URL from the
# environment, as oauthenticator reads them), and JUPYTERHUB_CRYPT_KEY to keep tokens encrypted
c.JupyterExtHub.login = "github"
c.JupyterExtHub.allowed_organizations = {"my-research-org"}
c.JupyterExtHub.admin_users = set()

# -- the job server (a managed service of the hub) and where workspaces are checked out
c.JupyterExtHub.jobserver_port = 8100
c.JupyterExtHub.jobserver_db_url = "sqlite:///jupyter_ext_jobserver.sqlite"
c.JupyterExtHub.workspaces_root = "workspaces"

# -- how workspace servers run: "local", "docker" or "slurm" (kubespawner_example.py for k8s)
c.JupyterExtHub.spawner = "local"

# -- the demo and the tests set all of the above through a file of their own
if os.environ.get("JUPYTER_EXT_HUB_CONFIG"):
    load_subconfig(os.environ["JUPYTER_EXT_HUB_CONFIG"])  # noqa: F821

configure(c)
