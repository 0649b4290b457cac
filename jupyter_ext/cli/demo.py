"""`jupyter ext demo`: the whole system on one machine, on loopback, in one command.

It starts the proxy, the hub (with a development login), the job server on
SQLite and a runner per site (`demo_sites.SITES`: the demo backend, and the two
sites north and south of the many-sites workshop), each with the local executor,
a folder of its own and a synthetic dataset of its own (registered from the
site, with dummy data), all in one demo folder; the first time it seeds an
organisation, the backends, a project with members in several roles, each site's
own output checker, and a workspace whose repository is a local git repository
made from notebooks/sample-project. Running it again reuses the folder (and adds
what an older demo folder lacks). Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx
from traitlets import Integer, Unicode

from ..app import JupyterExtBase, base_aliases, base_flags
from . import demo_files as files
from . import processes
from .demo_sites import RELEASE_RULES, SITES, Site
from .hubstack import BIN, HubStack, StackError, wait_until
from .processes import INTERRUPTS, Stopped

ORG, BACKEND, PROJECT, WORKSPACE = "demo-university", "demo", "Demo study", "demo-study"
DEBUG_WORKSPACE, DEBUG_BRANCH = "demo-study-debug", "debug-me"
USERS = {  # login: (global roles, roles in the demo project)
    "analyst": ([], ["project_developer"]),
    "checker": (["output_checker"], ["project_collaborator"]),
    "checker2": (["output_checker"], ["project_collaborator"]),
    "publisher": (["output_publisher"], ["project_collaborator"]),
    "admin": (["core_developer"], ["project_coordinator"]),
    "governor": (["governance_reviewer"], []),  # decides which projects may use a dataset
    # each reviews what leaves their own site only (named by it: no global role, no project)
    **{site.checker: ([], []) for site in SITES if site.checker},
}


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
        demo, failed = Demo(folder, self.port, self.log), None
        with INTERRUPTS as interrupts:
            try:
                try:
                    interrupts.arm()  # before the first process starts: Ctrl-C stops them all
                    processes.adopt_orphans()  # and whatever they start stays under the demo
                    demo.start()
                    say(f"\njupyter-ext demo: {demo.stack.url}")
                    say(f"  sign in as {', '.join(USERS)} (any password; the development login)")
                    say(f"  folder: {folder}\n  Ctrl-C stops everything.")
                    demo.watch()
                finally:
                    interrupts.disarm()  # from here a signal is only noted: the stop runs whole
            except Stopped:
                pass
            except StackError as exc:
                failed = exc
            finally:
                say("jupyter-ext demo: stopping")
                demo.stop()
        if failed is not None:
            self.exit(f"error: {failed} (hub.log and runner.log in {folder} say more)")
        say("jupyter-ext demo: stopped")


def say(line: str) -> None:
    """A line for the person at the terminal (gone when it was closed: SIGHUP stops the demo)."""
    with contextlib.suppress(OSError):
        print(line, flush=True)


class Demo:
    """The demo's parts in `folder`: what is seeded once, and the processes of each run."""

    def __init__(self, folder: Path, port: int, log) -> None:
        self.folder, self.port, self.log = folder, port, log
        self.runners: dict[str, subprocess.Popen] = {}
        self.stack: HubStack | None = None
        self.stopping = threading.Event()  # the seeding thread's cue to end quietly
        self.logs: list = []

    def start(self) -> None:
        """Each part in turn; a signal or an error at any point leaves `stop` to end what
        was started (it is recorded before anything waits on it)."""
        say(f"jupyter-ext demo: preparing {self.folder}")
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = files.keys(self.folder)
        repo = files.repository(self.folder, WORKSPACE, DEBUG_BRANCH)
        db = f"sqlite:///{self.folder / 'jobserver.sqlite'}"
        self._seed_accounts(db, keys)
        say("jupyter-ext demo: starting the hub, its proxy and the job server")
        self.stack = HubStack(
            self.folder,
            self.port,
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
            env={"JUPYTER_EXT_CRYPT_KEY": keys["jobserver"], "JUPYTERHUB_CRYPT_KEY": keys["hub"]},
            log=self._log("hub.log"),
        )
        self.stack.start(timeout=180)  # a busy machine: the job server may take its time
        say("jupyter-ext demo: seeding the demo project")
        self._seed_project(repo)
        for site in SITES:
            self._register_dataset(site)
            self._approve_dataset(site)
        say(f"jupyter-ext demo: starting the runners of {', '.join(s.backend for s in SITES)}")
        for site in SITES:
            runner_log = self._log(
                "runner.log" if site.backend == BACKEND else f"runner-{site.backend}.log"
            )
            with INTERRUPTS.shielded():  # a Ctrl-C now finds the runner recorded, to be stopped
                self.runners[site.backend] = subprocess.Popen(
                    [
                        *self._runner_command(site, "runner"),
                        "--executor",
                        "local",
                        f"--RunnerApp.release_rules={RELEASE_RULES}",
                    ],
                    cwd=site.home(self.folder),
                    stdout=runner_log,
                    stderr=runner_log,
                    start_new_session=True,
                )
        self.seeding = threading.Thread(target=self._seed_release, daemon=True)
        self.seeding.start()

    def watch(self) -> None:
        """Until a signal (raised as `Stopped`) or the hub's end (an error); a runner that ends
        is said, and the demo runs on without it."""
        said, ticks = set(), 0
        while self.stack.process.poll() is None:
            for backend, runner in self.runners.items():
                if runner.poll() is not None and backend not in said:
                    say(f"jupyter-ext demo: the runner of {backend} exited: see its log")
                    said.add(backend)
            if (ticks := ticks + 1) % 20 == 0:
                ours = {r.pid for r in self.runners.values()} | {self.stack.process.pid}
                processes.reap_adopted(ours)
            time.sleep(0.5)
        raise StackError(f"the hub exited with status {self.stack.process.returncode}")

    def stop(self) -> None:
        """Whatever `start` reached, newest first: the seeding, the runners (and their jobs),
        the hub (with its proxy, job server and workspace servers); each waited for, then
        killed."""
        self.stopping.set()
        for runner in self.runners.values():
            processes.stop(runner, 15)
        if self.stack is not None:
            self.stack.stop()
        processes.end(processes.leftovers())  # orphans of a part that ended on its own
        processes.reap_adopted(set())
        for log in self.logs:
            log.close()

    def _log(self, name: str):
        log = (self.folder / name).open("a")
        self.logs.append(log)
        return log

    def _runner_command(self, site: Site, *command: str) -> list[str]:
        """`jupyter-ext runner ...` with a site's settings: its job server, backend, token,
        work folder, and the folder of its datasets as the one data root."""
        return [
            str(BIN / "jupyter-ext"),
            *command,
            "--server",
            self.stack.jobserver_url,
            "--backend",
            site.backend,
            "--token-file",
            str(site.token_file(self.folder)),
            "--workdir",
            str(site.workdir(self.folder)),
            f"--RunnerApp.data_roots={[str(site.data_root(self.folder))]}",
        ]

    def _register_dataset(self, site: Site) -> None:
        """The site's synthetic dataset, registered from the site with its dummy data (first
        run): its manifest and the dummy rows go to the job server; the rows stay there."""
        registry = site.workdir(self.folder) / "datasets.json"
        if registry.exists() and "synthetic" in json.loads(registry.read_text())["datasets"]:
            return
        dataset = files.dataset(site.data_root(self.folder), site.rows, site.seed, site.risk)
        dummy = files.dummy_data(self.folder)
        command = self._runner_command(site, "runner", "dataset", "add", "synthetic", str(dataset))
        with INTERRUPTS.shielded():  # registered and recorded on the site, or not begun
            _run(
                [
                    *command,
                    "--description",
                    f"Synthetic patients of the {site.name.lower()}: age, sex, region "
                    "and whether they have the condition, one row per patient.",
                    "--owner",
                    ORG,
                    "--dummy",
                    str(dummy),
                ],
                self.folder,
                {},
            )

    def _approve_dataset(self, site: Site) -> None:
        """The demo project may use the site's synthetic dataset (first run): the analyst asks
        for it with a purpose and the governance reviewer approves, as a project and a
        Governance Reviewer would; the demo runs on without it if that fails, and the log
        says why."""
        from ..client import Client

        marker = site.home(self.folder) / "dataset.approved"
        if marker.exists():
            return
        url, tokens = self.stack.jobserver_url, self.tokens
        try:
            with INTERRUPTS.shielded():  # asked and approved, or not begun
                with Client(url, token=tokens["analyst"], workspace=WORKSPACE) as analyst:
                    asked = analyst.datasets.request(
                        "synthetic",
                        "The workshop: rates of the condition by region",
                        backend=site.backend,
                    )
                with Client(url, token=tokens["governor"]) as governor:
                    governor.datasets.approve(asked, "fits the demo study's purpose")
                marker.write_text(asked.id)
        except Exception as exc:
            self.log.warning(
                "the dataset approval at %s could not be seeded: %s", site.backend, exc
            )

    def _seed_accounts(self, db: str, keys: dict[str, str]) -> None:
        """Users, the organisation and its backends, through `jupyter ext admin` (first run);
        the job server's database brought up to this version (every run).

        The first site's runner token is written last: without it the seeding did not finish
        (a Ctrl-C), and the job server's database, which nothing else has used yet, is made
        again."""
        token_file = SITES[0].token_file(self.folder)
        env = {"JUPYTER_EXT_CRYPT_KEY": keys["jobserver"]}

        def admin(*args: str) -> str:
            return _run([str(BIN / "jupyter-ext"), *args, "--db-url", db], self.folder, env)

        first = not token_file.exists()
        if first:
            say("jupyter-ext demo: seeding the accounts (first run)")
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.folder / f"jobserver.sqlite{suffix}").unlink(missing_ok=True)
        with INTERRUPTS.shielded():  # a migration is not cut short
            admin("jobserver", "--upgrade-db")
        if not first:  # only the users and sites added to the demo since
            tokens = self.tokens
            with INTERRUPTS.shielded():  # a user added is a user whose token is kept
                for login in USERS.keys() - tokens.keys():
                    admin("admin", "add-user", login, *(f"--role={r}" for r in USERS[login][0]))
                    tokens[login] = admin("admin", "token", login).strip()
                files.write_whole(self.folder / "tokens.json", json.dumps(tokens), private=True)
                self._seed_sites(admin)
            return
        for login, (roles, _) in USERS.items():
            admin("admin", "add-user", login, *(f"--role={r}" for r in roles))
        tokens = {login: admin("admin", "token", login).strip() for login in USERS}
        files.write_whole(self.folder / "tokens.json", json.dumps(tokens), private=True)
        admin("admin", "add-org", ORG, "--name", "Demo University")
        self._seed_sites(admin)  # the first site's token last: the mark of a whole seeding

    def _seed_sites(self, admin) -> None:
        """Each site without its runner's token: its backend (made if new), usable by the
        organisation, and a new token in the site's folder."""
        for site in sorted(SITES, key=lambda s: s.backend == BACKEND):
            token_file = site.token_file(self.folder)
            if token_file.exists():
                continue
            token = admin("admin", "add-backend", site.backend, "--org", ORG, "--name", site.name)
            token_file.parent.mkdir(parents=True, exist_ok=True)
            files.write_whole(token_file, token.strip(), private=True)

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
                request = analyst.job_requests.create(
                    actions=["make_table", "make_plot"], backend=BACKEND
                )
                request = request.wait(timeout=300, progress=False)
                jobs = {job.action: job.identifier for job in request.jobs}
                files = [
                    {"job": jobs["make_table"], "path": "output/table_by_region.csv"},
                    {"job": jobs["make_plot"], "path": "output/plot_rates.svg"},
                ]
                group = {
                    "context": "Condition rates by region, the demo's first results",
                    "disclosure_control": "counts rounded to 5, cells under 7 suppressed",
                    "files": files,
                }
                release = analyst.releases.create(backend=BACKEND, groups={"results": group})
            for checker in ("checker", "checker2"):
                with Client(url, token=tokens[checker]) as client:
                    for file in release.files:
                        client.releases.review(release, file, "approve", "fine to release")
            with Client(url, token=tokens["publisher"]) as publisher:
                publisher.releases.publish(release)
            marker.write_text(release.id)
        except Exception as exc:  # the demo runs on without it; the log says why
            if not self.stopping.is_set():  # stopped meanwhile: the next run seeds it
                self.log.warning("the demo's release could not be seeded: %s", exc)

    def _seed_project(self, repo: Path) -> None:
        """The project, its members and the workspaces, through the API (first run): a few
        quick calls, made whole (a Ctrl-C waits for them), so a next run finds all or none."""
        token = self.tokens["admin"]
        api = httpx.Client(
            base_url=f"{self.stack.jobserver_url}api/v1/",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        with api:
            wait_until(lambda: api.get("me").status_code == 200, "the job server", 30)
            for site in SITES:  # each names its own checker (every run: an older demo's too)
                if site.checker:
                    named = api.put(
                        f"backends/{site.backend}/members/{site.checker}",
                        json={"roles": ["output_checker"]},
                    )
                    if named.status_code != 200:
                        raise StackError(f"naming {site.backend}'s checker failed: {named.text}")
            if api.get(f"workspaces/{DEBUG_WORKSPACE}").status_code == 200:
                return
            with INTERRUPTS.shielded():
                project = api.post("projects", json={"org": ORG, "name": PROJECT})
                if project.status_code not in (201, 409):
                    raise StackError(f"seeding the project failed: {project.text}")
                slug = PROJECT.lower().replace(" ", "-")
                for login, (_, roles) in USERS.items():
                    if roles:
                        api.post(
                            f"projects/{slug}/members", json={"username": login, "roles": roles}
                        )
                for name, branch in ((WORKSPACE, "main"), (DEBUG_WORKSPACE, DEBUG_BRANCH)):
                    if api.get(f"workspaces/{name}").status_code == 200:
                        continue  # made by an older demo that was stopped here
                    body = {"name": name, "project": slug, "repo": str(repo), "branch": branch}
                    made = api.post("workspaces", json=body)
                    if made.status_code != 201:
                        raise StackError(f"seeding the workspace {name} failed: {made.text}")


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    """A seeding command, in a session of its own: the terminal's Ctrl-C reaches the demo
    only, which kills the command (SQLite undoes its transaction) or, in a shielded step,
    lets it finish."""
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            start_new_session=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        raise StackError(f"{' '.join(argv[1:4])} did not finish within 300 s") from None
    if done.returncode != 0:
        raise StackError(f"{' '.join(argv[1:4])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
