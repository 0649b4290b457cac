"""`MockJobServerApp`: the job server's configuration for tests, as JupyterHub's `MockHub`.

Its `@default`s keep a test away from the machine's environment (no JupyterHub service
variables, no JUPYTER_EXT_CRYPT_KEY): a fresh encryption key, no hub sign-in, the root as
base URL. A test sets the traits it cares about, e.g.
`MockJobServerApp(release_dir=str(tmp_path / "releases"), lease_seconds=1)`, and configures
the parts built with `parent=` it through `config`, e.g.
`MockJobServerApp(config=Config({"Notifier": {"interval": 0.1}}))`.
"""

from __future__ import annotations

from cryptography.fernet import Fernet
from traitlets import default

from jupyter_ext.jobserver.app import JobServerApp


class MockJobServerApp(JobServerApp):
    @default("crypt_keys")
    def _default_crypt_keys(self) -> list[str]:
        return [Fernet.generate_key().decode()]

    @default("hub_auth")
    def _default_hub_auth(self) -> bool:
        return False

    @default("base_url")
    def _default_base_url(self) -> str:
        return "/"
