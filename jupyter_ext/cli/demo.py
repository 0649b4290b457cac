"""`jupyter ext demo`: the whole system on one machine, on loopback, in one command.

It starts the proxy, the hub (with a development login), the job server on
SQLite and a runner with the local executor and a synthetic dataset (registered
from the site, with dummy data), all in one demo folder; the first time it seeds
an organisation, a backend, a project with members in several roles and a
workspace whose repository is a local git repository made from
notebooks/sample-project. Running it again reuses the folder. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from traitlets import Integer, Unicode

from ..app import JupyterExtBase, base_aliases, base_flags
from .hubstack import BIN, HubStack, StackError, wait_until

ORG, BACKEND, PROJECT, WORKSPACE = "demo-university", "demo", "Demo study", "demo-study"
DEBUG_WORKSPACE, DEBUG_BRANCH = "demo-study-debug", "debug-me"
GIT_ENV = {"GIT_AUTHOR_NAME": "jupyter-ext demo", "GIT_AUTHOR_EMAIL": "demo@localhost",
           "GIT_COMMITTER_NAME": "jupyter-ext demo", "GIT_COMMITTER_EMAIL": "demo@localhost",
           "PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # fmt: skip
USERS = {  # login: (global roles, roles in the demo project)
    "analyst": ([], ["project_developer"]),
    "checker": (["output_checker"], ["project_collaborator"]),
    "checker2": (["output_checker"], ["project_collaborator"]),
    "publisher": (["output_publisher"], ["project_collaborator"]),
    "admin": (["core_developer"], ["project_coordinator"]),
    "governor": (["governance_reviewer"], []),  # decides which projects may use a dataset
}


def package_data(name: str) -> Path:
    """A folder shipped with the package (in a source checkout: beside it)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / name, package.parent / name):
        if candidate.exists():
            return candidate
    raise StackError(f"{name}/ is missing from this installation")


def is_loopback(ip: str) -> bool:
    import ipaddress

    try:
        return ip == "localhost" or ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class DemoApp(JupyterExtBase):
    name = "jupyter-ext-demo"
    description = __doc__.split("\n\n")[0]
    examples = "jupyter ext demo --port 8000 --dir ./jupyter_ext_demo"
    aliases = {**base_aliases, "port": "DemoApp.port", "dir": "DemoApp.dir", "ip": "DemoApp.ip"}
    flags = base_flags

    port = Integer(8000, help="The port of the hub (the proxy's public port).").tag(config=True)
    ip = Unicode("127.0.0.1", help="The address to listen on: loopback only.").tag(config=True)
    dir = Unicode("jupyter_ext_demo", help="The demo folder (reused when it exists).").tag(
        config=True
    )

    def run(self) -> None:
        if not is_loopback(self.ip):
            self.exit(
                f"error: the demo signs people in without passwords, so it listens on loopback "
                f"only, not {self.ip}: use --ip 127.0.0.1 (a real hub uses hub_config/ with GitHub)"
            )
        folder = Path(self.dir).resolve()
        try:
            demo = Demo(folder, self.port, self.log)
            demo.start()
        except StackError as exc:
            self.exit(f"error: {exc}")
        print(f"\njupyter-ext demo: {demo.stack.url}", flush=True)
        print(f"  sign in as {', '.join(USERS)} (any password; the development login)")
        print(f"  folder: {folder}\n  Ctrl-C stops everything.", flush=True)
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        while not stopped.wait(1):
            if demo.stack.process.poll() is not None:
                print("the hub exited: see hub.log in the demo folder", file=sys.stderr)
                break
        demo.stop()


class Demo:
    """The demo's parts in `folder`: what is seeded once, and the processes of each run."""

    def __init__(self, folder: Path, port: int, log) -> None:
        self.folder, self.port, self.log = folder, port, log
        self.runner: subprocess.Popen | None = None
        self.stack: HubStack | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = self._keys()
        repo = self._repository()
        dataset = self._dataset()
        db = f"sqlite:///{self.folder / 'jobserver.sqlite'}"
        self._seed_accounts(db, keys)
        self.hub_log = (self.folder / "hub.log").open("a")
        self.stack = HubStack(
            self.folder, self.port,
            {
                "JupyterExtHub.login": "dev",
                "JupyterExtHub.dev_users": list(USERS),
                "JupyterExtHub.admin_users": {"admin"},
                "JupyterExtHub.jobserver_db_url": db,
                "JupyterExtHub.jobserver_args": [
                    f"--JobServerApp.local_repo_roots={[str(repo.parent)]}",
                    f"--JobServerApp.release_dir={self.folder / 'releases'}",
                ],
                "JupyterExtHub.workspaces_root": str(self.folder / "workspaces"),
            },
            env={"JUPYTER_EXT_CRYPT_KEY": keys["jobserver"],
                 "JUPYTERHUB_CRYPT_KEY": keys["hub"]},
            log=self.hub_log,
        )  # fmt: skip
        self.stack.start()
        self._seed_project(repo)
        self._register_dataset(dataset)
        self._approve_dataset()
        self.runner_log = (self.folder / "runner.log").open("a")
        self.runner = subprocess.Popen(
            [*self._runner_command("runner"), "--executor", "local"],
            cwd=self.folder, stdout=self.runner_log, stderr=self.runner_log,
            start_new_session=True,
        )  # fmt: skip
        self.seeding = threading.Thread(target=self._seed_release, daemon=True)
        self.seeding.start()

    def _runner_command(self, *command: str) -> list[str]:
        """`jupyter-ext runner ...` with the demo site's settings: its job server, backend,
        token, work folder, and the folder of its datasets as the one data root."""
        return [str(BIN / "jupyter-ext"), *command, "--server", self.stack.jobserver_url,
                "--backend", BACKEND, "--token-file", str(self.folder / "runner.token"),
                "--workdir", str(self.folder / "site"),
                f"--RunnerApp.data_roots={[str(self.folder / 'datasets')]}"]  # fmt: skip

    def _register_dataset(self, dataset: Path) -> None:
        """The synthetic dataset, registered from the site with its dummy data (first run):
        its manifest and the dummy rows go to the job server; the rows stay on the site."""
        registry = self.folder / "site" / "datasets.json"
        if registry.exists() and "synthetic" in json.loads(registry.read_text())["datasets"]:
            return
        _run([*self._runner_command("runner", "dataset", "add", "synthetic", str(dataset)),
              "--description", "Synthetic patients of the demo backend: age, sex, region and "
              "whether they have the condition, one row per patient.", "--owner", ORG,
              "--dummy", str(self._dummy_data())], self.folder, {})  # fmt: skip

    def _approve_dataset(self) -> None:
        """The demo project may use the synthetic dataset (first run): the analyst asks for it
        with a purpose and the governance reviewer approves, as a project and a Governance
        Reviewer would; the demo runs on without it if that fails, and the log says why."""
        from ..client import Client

        marker = self.folder / "dataset.approved"
        if marker.exists():
            return
        url, tokens = self.stack.jobserver_url, self.tokens
        try:
            with Client(url, token=tokens["analyst"], workspace=WORKSPACE) as analyst:
                asked = analyst.datasets.request(
                    "synthetic", "The workshop: rates of the condition by region", backend=BACKEND
                )
            with Client(url, token=tokens["governor"]) as governor:
                governor.datasets.approve(asked, "fits the demo study's purpose")
            marker.write_text(asked.id)
        except Exception as exc:
            self.log.warning("the demo's dataset approval could not be seeded: %s", exc)

    def stop(self) -> None:
        if self.runner is not None and self.runner.poll() is None:
            self.runner.send_signal(signal.SIGTERM)
            try:
                self.runner.wait(15)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()
        if self.stack is not None:
            self.stack.stop()

    # -- made once, reused after --------------------------------------------------------------

    def _keys(self) -> dict[str, str]:
        path = self.folder / "keys.json"
        if not path.exists():
            import secrets

            path.write_text(json.dumps(
                {"jobserver": Fernet.generate_key().decode(), "hub": secrets.token_hex(32)}
            ))  # fmt: skip
            path.chmod(0o600)
        return json.loads(path.read_text())

    def _repository(self) -> Path:
        """A bare repository (so learners can push to it) of the sample project, with a
        branch `debug-me` whose derive_measures.py has a bug, for the debugging notebook."""
        repo = self.folder / "repos" / f"{WORKSPACE}.git"
        if (repo / "HEAD").exists():
            return repo
        work = self.folder / "repos" / ".work"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(package_data("notebooks") / "sample-project", work)
        git = lambda *args: subprocess.run(["git", *args], cwd=work, env=GIT_ENV, check=True,  # noqa: E731
                                           capture_output=True)  # fmt: skip
        git("init", "-q", "-b", "main")
        git("add", ".")
        git("commit", "-q", "-m", "The sample project")
        git("checkout", "-q", "-b", DEBUG_BRANCH)
        script = work / "analysis" / "derive_measures.py"
        script.write_text(script.read_text().replace('row["region"]', 'row["regoin"]'))
        git("commit", "-q", "-am", "Tidy derive_measures (with a typo to find)")
        git("checkout", "-q", "main")
        subprocess.run(["git", "clone", "-q", "--bare", str(work), str(repo)], env=GIT_ENV,
                       check=True, capture_output=True)  # fmt: skip
        shutil.rmtree(work)
        return repo

    def _dataset(self) -> Path:
        """A synthetic dataset on the demo backend's site (rows of made-up patients)."""
        folder = self.folder / "datasets" / "synthetic"
        if not (folder / "patients.csv").exists():
            folder.mkdir(parents=True, exist_ok=True)
            _write_patients(folder / "patients.csv", 1000, random.Random(20240101))
        return folder

    def _dummy_data(self) -> Path:
        """Dummy data of the synthetic dataset: the same columns, other made-up rows, few; it
        may leave the site, so analysts can try their code on it in their workspace."""
        folder = self.folder / "dummy-data" / "synthetic"
        if not (folder / "patients.csv").exists():
            folder.mkdir(parents=True, exist_ok=True)
            _write_patients(folder / "patients.csv", 50, random.Random(7))
        return folder

    def _seed_accounts(self, db: str, keys: dict[str, str]) -> None:
        """Users, the organisation and its backend, through `jupyter ext admin` (first run)."""
        token_file = self.folder / "runner.token"
        env = {"JUPYTER_EXT_CRYPT_KEY": keys["jobserver"]}

        def admin(*args: str) -> str:
            return _run([str(BIN / "jupyter-ext"), *args, "--db-url", db], self.folder, env)

        if token_file.exists():  # seeded before: only the users added to the demo since
            tokens = self.tokens
            for login in USERS.keys() - tokens.keys():
                admin("admin", "add-user", login, *(f"--role={r}" for r in USERS[login][0]))
                tokens[login] = admin("admin", "token", login).strip()
            (self.folder / "tokens.json").write_text(json.dumps(tokens))
            return

        _run([str(BIN / "jupyter-ext"), "jobserver", "--upgrade-db", "--db-url", db],
             self.folder, env)  # fmt: skip
        for login, (roles, _) in USERS.items():
            admin("admin", "add-user", login, *(f"--role={r}" for r in roles))
        tokens = {login: admin("admin", "token", login).strip() for login in USERS}
        (self.folder / "tokens.json").write_text(json.dumps(tokens))
        (self.folder / "tokens.json").chmod(0o600)
        admin("admin", "add-org", ORG, "--name", "Demo University")
        token = admin("admin", "add-backend", BACKEND, "--org", ORG, "--name", "Demo backend")
        token_file.write_text(token.strip())
        token_file.chmod(0o600)

    @property
    def tokens(self) -> dict[str, str]:
        return json.loads((self.folder / "tokens.json").read_text())

    def _seed_release(self) -> None:
        """A released table and chart to browse from the first minute (first run only): the
        analyst runs make_table and make_plot, two checkers approve, the publisher publishes,
        and the runner uploads them on its next heartbeat."""
        from ..client import Client

        marker = self.folder / "release.seeded"
        if marker.exists():
            return
        url, tokens = self.stack.jobserver_url, self.tokens
        try:
            with Client(url, token=tokens["analyst"], workspace=WORKSPACE) as analyst:
                request = analyst.job_requests.create(actions=["make_table", "make_plot"],
                                                      backend=BACKEND)  # fmt: skip
                request = request.wait(timeout=300, progress=False)
                jobs = {job.action: job.identifier for job in request.jobs}
                files = [{"job": jobs["make_table"], "path": "output/table_by_region.csv"},
                         {"job": jobs["make_plot"], "path": "output/plot_rates.svg"}]  # fmt: skip
                group = {"context": "Condition rates by region, the demo's first results",
                         "disclosure_control": "counts rounded to 5, cells under 7 suppressed",
                         "files": files}  # fmt: skip
                release = analyst.releases.create(backend=BACKEND, groups={"results": group})
            for checker in ("checker", "checker2"):
                with Client(url, token=tokens[checker]) as client:
                    for file in release.files:
                        client.releases.review(release, file, "approve", "fine to release")
            with Client(url, token=tokens["publisher"]) as publisher:
                publisher.releases.publish(release)
            marker.write_text(release.id)
        except Exception as exc:  # the demo runs on without it; the log says why
            self.log.warning("the demo's release could not be seeded: %s", exc)

    def _seed_project(self, repo: Path) -> None:
        """The project, its members and the workspace, through the API (first run)."""
        token = self.tokens["admin"]
        api = httpx.Client(base_url=f"{self.stack.jobserver_url}api/v1/", timeout=30,
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        with api:
            wait_until(lambda: api.get("me").status_code == 200, "the job server", 30)
            if api.get(f"workspaces/{WORKSPACE}").status_code == 200:
                return
            project = api.post("projects", json={"org": ORG, "name": PROJECT})
            if project.status_code not in (201, 409):
                raise StackError(f"seeding the project failed: {project.text}")
            slug = PROJECT.lower().replace(" ", "-")
            for login, (_, roles) in USERS.items():
                if not roles:
                    continue
                api.post(f"projects/{slug}/members", json={"username": login, "roles": roles})
            for name, branch in ((WORKSPACE, "main"), (DEBUG_WORKSPACE, DEBUG_BRANCH)):
                body = {"name": name, "project": slug, "repo": str(repo), "branch": branch}
                made = api.post("workspaces", json=body)
                if made.status_code != 201:
                    raise StackError(f"seeding the workspace {name} failed: {made.text}")


def _write_patients(path: Path, rows: int, rng: random.Random) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["patient_id", "age", "sex", "region", "has_condition"])
        for i in range(rows):
            out.writerow([i, rng.randint(18, 95), rng.choice("FM"),
                          rng.choice(["North", "South", "East", "West"]),
                          int(rng.random() < 0.2)])  # fmt: skip


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    import os

    done = subprocess.run(argv, cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True)
    if done.returncode != 0:
        raise StackError(f"{' '.join(argv[1:4])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
