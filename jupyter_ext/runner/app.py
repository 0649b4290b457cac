"""`jupyter ext runner`: the runner of one backend, as a traitlets Application.

    jupyter ext runner --server URL --backend SLUG --token-file FILE --executor local --workdir DIR
    jupyter ext runner build-images
    jupyter ext runner verify JOB --workdir DIR
    jupyter ext runner dataset add NAME PATH --description TEXT [--owner ORG] [--dummy PATH]
    jupyter ext runner dataset list | update NAME [PATH] | retire NAME

Flags are aliases of traits; a config file holds the rest (image map, limits,
data roots, log policy). The executor is a plug-in: `--executor` takes the short name a
package registers in the entry-point group `jupyter_ext.executors` (`executors/plugins.py`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pydantic
from traitlets import Bool, Dict, Enum, Float, Instance, Integer, List, Unicode, default

from .. import schema
from ..app import JupyterExtBase, base_aliases, base_flags
from ..schema.runner import MAX_OUTPUTS
from .executors.plugins import GROUP, EntryPointType, installed_classes
from .lines import MAX_LINE_BYTES
from .lock import WorkdirHeld, WorkdirLock
from .policy import POLICIES, LogPolicy

EXECUTOR_BASE = "jupyter_ext.runner.executors.base.Executor"


class ExecutorCannotStart(Exception):
    """The configured executor could not be made (e.g. no Docker engine): the sentence why."""


class BuildImagesApp(JupyterExtBase):
    name = "jupyter-ext-runner-build-images"
    description = """Build the images of the Docker executor locally, from a Debian root file
    system (debootstrap from the site's Debian mirror), into the local Docker engine: python
    and jupyter (notebook actions), or those named. Images already there are kept, unless the
    runner's files in them (the notebook runner) have changed."""
    aliases = {**base_aliases, "mirror": "BuildImagesApp.mirror"}
    mirror = Unicode("", help="Debian mirror URL ('' = the one this machine's apt uses).").tag(
        config=True
    )

    def run(self) -> None:
        import docker

        from .images import ImageBuildError, ensure_images

        try:
            ensure_images(docker.from_env(), self.extra_args or None, self.mirror or None)
        except (ImageBuildError, KeyError) as exc:
            self.exit(f"error: {exc}")
        except docker.errors.DockerException as exc:
            self.exit(f"error: the Docker engine cannot be reached: {exc}")


class RunnerApp(JupyterExtBase):
    name = "jupyter-ext-runner"
    description = "Run a backend's jobs: long-poll the job server, run each job by the data."
    examples = (
        "jupyter ext runner --server http://127.0.0.1:8100 --backend tpp --token-file runner.token"
    )
    aliases = {
        **base_aliases,
        "server": "RunnerApp.server",
        "backend": "RunnerApp.backend",
        "token-file": "RunnerApp.token_file",
        "executor": "RunnerApp.executor",
        "workdir": "RunnerApp.workdir",
        "capacity": "RunnerApp.capacity",
    }
    flags = base_flags
    subcommands = {
        "build-images": (BuildImagesApp, BuildImagesApp.description.splitlines()[0]),
        "verify": (
            "jupyter_ext.runner.app.VerifyApp",
            "Run a job of this site again from its recorded inputs; say if its outputs are "
            "byte-identical.",
        ),
        "dataset": (
            "jupyter_ext.runner.dataset_cli.DatasetApp",
            "Register the backend's datasets (add, list, update, retire): only manifests leave.",
        ),
    }

    server = Unicode("http://127.0.0.1:8100", help="The job server's address.").tag(config=True)
    backend = Unicode("", help="The slug of the backend this runner serves.").tag(config=True)
    token_file = Unicode(
        "", help="File holding the backend's runner token (never give it on the command line)."
    ).tag(config=True)
    executor = EntryPointType(
        default_value="local",
        klass=EXECUTOR_BASE,
        entry_point_group=GROUP,
        help="""How jobs run: the short name of an installed executor (local, docker, slurm
        or one a package of the site registers in the entry-point group
        `jupyter_ext.executors`), a dotted import string or the class, a subclass of
        `jupyter_ext.runner.executors.base.Executor`. Example: c.RunnerApp.executor = "docker"
        """,
    ).tag(config=True)
    job_executor = Instance(
        EXECUTOR_BASE, help="The executor of this runner: `executor`, built with parent=self."
    )
    heartbeat_interval = Float(
        10.0,
        min=0.1,
        help="""Seconds between two heartbeats: each renews the leases of the jobs running,
        brings their cancellations (a cancelled job stops within this time and a second) and
        the published files to upload, and tells the job server the runner is online.""",
    ).tag(config=True)
    poll_wait = Float(
        25.0,
        min=0,
        max=60,
        help="""Seconds the job server may hold the runner's request for jobs open when it
        has none to give (a long poll, at most 60): a new job starts as soon as it is queued
        either way; shorter makes more requests when the queue is empty.""",
    ).tag(config=True)
    workdir = Unicode(
        help="""Folder of checkouts, workspaces' outputs and logs, on the site; also each job's
        provenance (provenance/<job>.json) and every output's bytes by sha256 (store/), which
        `jupyter ext runner verify` reads."""
    ).tag(config=True)
    capacity = Integer(2, help="Jobs run at once.").tag(config=True)
    job_disk_mb = Integer(
        10240,
        help="""Disk a job's folder may use (its checkout, inputs and all it writes), in MB.
        As root each job's folder is a file system of that size of its own (a sparse image,
        loop-mounted); otherwise the folder is measured each second. A job over it fails,
        saying so.""",
    ).tag(config=True)
    outputs_quota_mb = Integer(
        2048,
        help="""Bytes of one job's matched outputs the site keeps, in MB. A job whose outputs
        are bigger fails, saying so, and none of them is kept (each is copied into the site's
        store once; the workspace folder's copy is a hard link to it).""",
    ).tag(config=True)
    review_copies = Bool(
        True,
        help="""Send a file someone asked to release to the job server for its output checkers
        to read while they vote (its frozen bytes, checked against the site's own record, kept
        apart there and served to them alone). False keeps every file on the site until it is
        published: each review copy is refused, saying so, and checkers judge a file by its
        size, hash, rows, columns and the release rules' findings.""",
    ).tag(config=True)
    max_outputs = Integer(
        MAX_OUTPUTS,
        min=1,
        max=MAX_OUTPUTS,
        help=f"""Files one job's declared outputs may match. A job whose patterns match more
        fails, saying so, and none of them is kept or reported. At most {MAX_OUTPUTS:,}: the
        job server accepts no more in one report.""",
    ).tag(config=True)
    log_cap = Integer(100_000, help="Log lines per job sent to the job server.").tag(config=True)
    data_roots = List(
        Unicode(),
        help="""Folders that may hold datasets. `jupyter ext runner dataset add` refuses a
        dataset outside them, or with a symbolic link that leaves its folder, and the runner
        checks it again before each job.""",
    ).tag(config=True)
    datasets = Dict(
        help="""Gone: it gave every dataset to every job. Register each dataset with
        `jupyter ext runner dataset add NAME PATH --description TEXT`; a job then reads only
        the versions its project is approved for. Setting it stops the runner, saying so."""
    ).tag(config=True)
    log_policy = Enum(
        list(POLICIES),
        "full",
        help="""What of a job's log leaves the site: full (lines, with log_redact applied),
        redacted (numbers and identifiers masked as well) or status (no line, and no text a
        job chose). The runner keeps to it whatever the job server says; when the job
        server's policy for the backend is stricter, the stricter holds.""",
    ).tag(config=True)
    log_redact = List(
        Unicode(),
        help="""Regular expressions whose matches are replaced by [redacted] in lines sent;
        matched in any case, on the line with escapes and invisible characters removed and
        Unicode normalised (NFKC).""",
    ).tag(config=True)
    log_line_max_bytes = Integer(
        MAX_LINE_BYTES,
        help="""Bytes of one log line kept: the rest of a longer line is dropped on the site,
        with a note saying how much.""",
    ).tag(config=True)
    metrics_port = Integer(
        0,
        min=0,
        max=65535,
        help="""A port of 127.0.0.1 (never another address) where the runner serves its
        Prometheus metrics at /metrics: jobs running, jobs finished by state, log lines and
        bytes shipped, heartbeats failed, leases received. 0 (the default): none. E.g.
        `c.RunnerApp.metrics_port = 9101` for the site's own monitoring to scrape.""",
    ).tag(config=True)
    lock_wait = Float(
        30.0,
        help="""Seconds to wait at start for another runner on the same workdir to stop
        (only one runner may use a site folder); then the runner refuses to start.""",
    ).tag(config=True)
    release_rules = Dict(
        help="""The backend's pre-release rules, checked on every moderately sensitive output
        when its job ends and again before a published file is uploaded; reported to the job
        server, which checks release requests and notebooks against them. Keys (each optional,
        the rest keep their defaults): allowed_types (['.csv', ...]), max_size (bytes,
        16 MiB), max_csv_rows (5000), forbidden_columns (['patient_id']),
        small_number_threshold (7; 0 turns it off), small_numbers ('refuse' or 'flag'), and
        rounding, a dict of rules over count columns, each off unless set: multiple_of (N:
        counts must be multiples of N, e.g. 5), midpoint (N: counts must be midpoint-N
        rounded, 0 or k*N - N//2, e.g. 6), suppression_marker (what every suppressed count
        holds, e.g. '[REDACTED]'; an empty or otherwise marked cell is then reported) and
        verdict ('refuse' or 'flag', 'refuse' by default). Every CSV or TSV output is also
        summarised on the site (per numeric column its extremes, sum, counts under the
        threshold, rounding), so checkers read the summary rather than the table. E.g.
        c.RunnerApp.release_rules = {'small_number_threshold': 7,
        'rounding': {'multiple_of': 5, 'suppression_marker': '[REDACTED]'}}.
        The rounding rules and the summaries are new in 0.1.0."""
    ).tag(config=True)

    @property
    def classes(self) -> list[type]:  # type: ignore[override]
        return [*super().classes, *installed_classes()]

    @default("job_executor")
    def _default_job_executor(self):
        executor = self.executor(parent=self)
        executor.line_max_bytes = self.log_line_max_bytes
        return executor

    def start_executor(self):
        """The executor, or ExecutorCannotStart saying why not (e.g. no Docker engine)."""
        try:
            return self.job_executor
        except Exception as exc:  # whatever the engine's client raises
            name = getattr(self.executor, "name", self.executor.__name__)
            raise ExecutorCannotStart(f"the {name} executor cannot start: {exc}") from None

    @default("workdir")
    def _default_workdir(self) -> str:
        return str(Path.cwd() / "jupyter_ext_runner")

    def run(self) -> None:
        try:
            token = self._read_token()
        except OSError as exc:
            self.exit(f"error: cannot read the token file {self.token_file}: {exc.strerror}")
        if not token:
            self.exit("error: give the backend's runner token in a file: --token-file FILE")
        if self.datasets:
            self.exit(
                "error: c.RunnerApp.datasets gave every dataset to every job and is no longer "
                "read: register each with `jupyter ext runner dataset add NAME PATH "
                "--description TEXT` (inside c.RunnerApp.data_roots), then remove it; a job "
                "reads only the versions its project is approved for"
            )
        try:
            policy = LogPolicy(self.log_policy, list(self.log_redact))
            rules = release_rules(self.release_rules)
        except ValueError as exc:
            self.exit(f"error: {exc}")
        from .agent import RunnerRefused

        try:
            self.start_executor()
        except ExecutorCannotStart as exc:
            self.exit(f"error: {exc}")
        lock = WorkdirLock(Path(self.workdir))
        try:
            lock.acquire(self.lock_wait, self.log.warning)
        except WorkdirHeld as exc:
            self.exit(f"error: {exc}")
        try:
            asyncio.run(self._serve(token, policy, rules))
        except RunnerRefused as exc:
            self.exit(f"error: {exc}")
        finally:  # its jobs are let go of by now: the next runner may take them
            lock.release()

    def _read_token(self) -> str:
        """The runner token; its file is made readable by its owner alone (a job running as
        another user must not read it), or the runner stops saying why."""
        if not self.token_file:
            return ""
        path = Path(self.token_file)
        info = path.stat()
        if info.st_mode & 0o077:
            if info.st_uid != os.geteuid():
                self.exit(
                    f"error: the token file {path} can be read by other users and is not "
                    f"this runner's to change: chmod 600 {path}"
                )
            path.chmod(0o600)
            self.log.warning("The token file %s could be read by other users: now 600", path)
        return path.read_text().strip()

    async def _serve(self, token: str, policy: LogPolicy, rules: schema.ReleaseRules) -> None:
        from .agent import Agent
        from .api import JobServerAPI
        from .metrics import RunnerMetrics

        api = JobServerAPI(self.server, token)
        metrics = RunnerMetrics()
        stop_metrics = self._serve_metrics(metrics)
        agent = Agent(
            api,
            self.job_executor,
            Path(self.workdir),
            self.capacity,
            self.log_cap,
            heartbeat_every=self.heartbeat_interval,
            data_roots=list(self.data_roots),
            log_policy=policy,
            release_rules=rules,
            job_disk_mb=self.job_disk_mb,
            outputs_quota=self.outputs_quota_mb << 20,
            max_outputs=self.max_outputs,
            review_copies=self.review_copies,
            metrics=metrics,
        )
        task = asyncio.create_task(agent.run_forever(self.poll_wait))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        self.log.info(
            "Running %s's jobs from %s (%s executor)",
            self.backend or "the backend",
            self.server,
            self.job_executor.name,
        )
        try:
            await task
        except asyncio.CancelledError:
            if agent.running:  # their tasks end with this loop; the jobs themselves run on
                let_go = len(agent.running)
                self.log.info("Stopping: %d jobs let go of, for the next runner to follow", let_go)
        finally:
            stop_metrics()
            await api.close()

    def _serve_metrics(self, metrics):
        """`/metrics` on 127.0.0.1:metrics_port if it is set; what stops it (or nothing)."""
        from .metrics import serve

        if not self.metrics_port:
            return lambda: None
        try:
            port, stop = serve(metrics, self.metrics_port)
        except OSError as exc:
            self.exit(f"error: cannot serve metrics on 127.0.0.1:{self.metrics_port}: {exc}")
        self.log.info("Metrics at http://127.0.0.1:%d/metrics", port)
        return stop


def release_rules(config: dict) -> schema.ReleaseRules:
    """The configured rules, or a ValueError naming each bad key: a typo must stop the runner,
    not leave a rule at its default unnoticed."""
    try:
        return schema.ReleaseRules.model_validate(config)
    except pydantic.ValidationError as exc:
        known = ", ".join(schema.ReleaseRules.model_fields)
        problems = [_rule_problem(error, known) for error in exc.errors()]
        raise ValueError(f"c.RunnerApp.release_rules: {'; '.join(problems)}") from None


def _rule_problem(error: dict, known: str) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(the whole value)"
    if error["type"] == "extra_forbidden" and error["loc"][:1] == ("rounding",):
        rounding = ", ".join(schema.RoundingRules.model_fields)
        return f"{key!r} is not a rounding rule (the rounding rules: {rounding})"
    if error["type"] == "extra_forbidden":
        return f"{key!r} is not a rule (the rules: {known})"
    return f"{key!r}: {error['msg']}"


class VerifyApp(JupyterExtBase):
    name = "jupyter-ext-runner-verify"
    description = """Run a job of this site again from its recorded provenance and say whether
    its outputs are byte-identical, and which differ.

    It reads <workdir>/provenance/JOB.json, checks the recorded commit out from the site's
    repository cache, puts the job's inputs back from the site's store (refusing if their
    bytes are gone or changed), checks the dataset versions it read against their
    registered manifests, runs the action in the executor in a fresh folder and compares
    each declared output's sha256 with the recorded one. It never contacts the job server.
    It reads the runner's settings (c.RunnerApp.workdir, executor, data_roots and the
    executor's own) and the site's dataset registry. Exit code: 0 byte-identical, 1 not, 2 it
    cannot verify (the reason is printed)."""
    examples = "jupyter ext runner verify 3f2a9c1d0b7e4a11 --workdir /srv/jupyter-ext"
    aliases = {**base_aliases, "workdir": "RunnerApp.workdir", "executor": "RunnerApp.executor"}
    flags = base_flags

    @property
    def classes(self) -> list[type]:  # type: ignore[override]
        return [type(self), RunnerApp, *installed_classes()]

    def run(self) -> None:
        from .verify import CANNOT, DIFFERENT, IDENTICAL, CannotVerify, verify

        if len(self.extra_args) != 1:
            self._cannot("name one job: jupyter ext runner verify JOB", CANNOT)
        job = self.extra_args[0]
        settings = RunnerApp(config=self.config)
        try:
            executor = settings.start_executor()
        except ExecutorCannotStart as exc:  # e.g. no Docker engine: say so, do not crash
            self._cannot(str(exc), CANNOT)
        roots = list(settings.data_roots)
        try:
            outcome = asyncio.run(verify(job, Path(settings.workdir), executor, roots, _echo))
        except CannotVerify as exc:
            self._cannot(f"cannot verify job {job}: {exc}", CANNOT)
        print(outcome.report())
        self.exit(IDENTICAL if outcome.identical else DIFFERENT)

    def _cannot(self, why: str, code: int) -> None:
        print(f"error: {why}", file=sys.stderr)
        self.exit(code)


def _echo(line: str) -> None:
    """The re-run's log, on stderr: stdout is the report."""
    print(f"| {line}", file=sys.stderr)
