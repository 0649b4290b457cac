"""The runner of a backend against the real job server: latency, throughput, end to end.

    .venv/bin/python tests/benchmarks/bench_runner.py [--submissions N] [--lines N]
                                                      [--jobs N] [--capacity N] [--runs N]

The job server (a SQLite file, the real app under uvicorn on 127.0.0.1 with TCP_NODELAY)
runs in a child process, started as bench_jobserver.py starts it. The runner is the real
`jupyter-ext runner` command in another child process (local executor, capacity 4, one
backend), so neither shares a GIL with this process, which submits job requests and is
one SSE subscriber of `GET /api/v1/events` (job and log events), timing what it reads.
It prints:

1. submit to running: from just before `POST /job-requests` (one trivial action) to the
   subscriber reading that job's `job` event with state running (the job server sets it
   when the runner's long-poll takes the job); one submission at a time, each waited for
   to its end; p50/p99 over 100, after 5 untimed. The POST's own answer time is shown too.
2. a printed log line to the subscriber: an action prints 300 lines, each carrying
   `time.time()`, with pauses of 10 to 50 ms; arrival minus printed time, both read from
   this machine's clock; p50/p99.
3. jobs per second: one job request of 500 independent trivial actions (a generated
   project.yaml), run 4 at a time; jobs / seconds from just before the POST until the last
   one succeeded. One job of that workspace runs first, untimed, so the runner holds the
   repository's mirror, as a site's runner would after its first job.
4. the sample project end to end (`run_all`, its 5 actions, a fresh workspace or folder
   each run), median of 3 runs of each, interleaved run by run:
   (a) our runner + local executor, and (b) our runner + Docker executor (a second
   `jupyter-ext runner`, of a second backend, warmed up by one trivial job): from just
   before the POST to reading the last job's success; the runners are already running, as
   a backend's are;
   (c) the official local runner, `opensafely run run_all` of the `opensafely` package in
   the venv, on a fresh copy of the project folder: the command's wall-clock time, its own
   start-up included (its default concurrency, 2, is all the sample's graph can use). No
   image registry is reachable here: it runs on two images built from ours without
   network, named as the package expects (its registry read from the package): python:v2
   and busybox (for `sh` and `find`), both as root. Its version check is marked done and
   HTTP(S)_PROXY point at 127.0.0.1:9, so nothing leaves this machine. After each run the
   containers and volumes it labelled (`job-runner...`) and left are removed, and only
   those: `opensafely clean` would remove every OpenSAFELY container and volume here and
   prune images. Image tags this script made are removed at the end.
   (b) and (c) are skipped, saying why, without Docker or our image
   (`jupyter ext runner build-images` builds it).

Targets: (1) p50 under 150 ms; (2) p50 under 200 ms. Figures are printed, never asserted:
machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
from bench_jobserver import say, serving  # noqa: E402
from measure import median, nearest_rank  # noqa: E402

from jupyter_ext.runner.images import RECIPES  # noqa: E402

BIN = Path(sys.executable).parent
SAMPLE_PROJECT = HERE.parent.parent / "notebooks" / "sample-project"
WARMUP = 5
LINE_MARK = "bench-line"
FINAL = frozenset({"succeeded", "failed", "cancelled"})
RECIPE_LABEL = "jupyter-ext.bench-recipe"  # on the images built for `opensafely run`
GUARD_PROXY = "http://127.0.0.1:9"  # the discard port: whatever tries to leave, fails
SUBMIT_TARGET_P50 = 150.0
LOG_TARGET_P50 = 200.0


# -- the projects ----------------------------------------------------------------------------

TOUCH = """import pathlib, sys
out = pathlib.Path("out")
out.mkdir(exist_ok=True)
(out / f"{sys.argv[1]}.txt").write_text("done\\n")
"""

CHATTY = """import pathlib, time
for i in range(LINES):
    print(f"MARK {i} {time.time():.6f}", flush=True)
    time.sleep(0.01 * (1 + i % 5))
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/chatty.txt").write_text("done\\n")
"""


def _action(name: str, run: str) -> str:
    outputs = f"{{moderately_sensitive: {{out: out/{name}.txt}}}}"
    return f"  {name}:\n    run: python:v2 {run}\n    outputs: {outputs}\n"


def trivial_project(lines: int) -> dict[str, str]:
    """`hello` writes a file; `chatty` prints `lines` lines, each with the time it printed."""
    yaml = (
        'version: "5"\nactions:\n'
        + _action("hello", "touch.py hello")
        + _action("chatty", "chatty.py")
    )
    chatty = CHATTY.replace("LINES", str(lines)).replace("MARK", LINE_MARK)
    return {"project.yaml": yaml, "touch.py": TOUCH, "chatty.py": chatty}


def many_project(jobs: int) -> dict[str, str]:
    """`jobs` independent actions, each writing one file."""
    actions = "".join(_action(name, f"touch.py {name}") for name in many_actions(jobs))
    return {"project.yaml": 'version: "5"\nactions:\n' + actions, "touch.py": TOUCH}


def many_actions(jobs: int) -> list[str]:
    return [f"job_{i:04d}" for i in range(jobs)]


def make_repos(repos: Path, args: argparse.Namespace) -> None:
    from tests.jobserver.harness import git, make_repo

    for name, files in (
        ("trivial", trivial_project(args.lines)),
        ("many", many_project(args.jobs)),
    ):
        path = repos / name
        path.mkdir(parents=True)
        for file, text in files.items():
            (path / file).write_text(text)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", ".")
        git(path, "commit", "-q", "-m", "bench")
    make_repo(repos / "sample", SAMPLE_PROJECT)


def seed(url: str, repos: Path, runs: int) -> dict[str, str]:
    """Two backends (local, docker) of one org, `dev` in a project, its workspaces: tokens."""
    from tests.jobserver.harness import JobServer

    server = JobServer(url, repos)  # migrates; its own app is never served
    try:
        tokens = {slug: server.backend(slug) for slug in ("local", "docker")}
        server.org("uni", ["local", "docker"])
        tokens["dev"] = server.user("dev")
        project = server.project("uni", "Runner bench", {"dev": ["project_developer"]})
        server.workspace(project, "trivial", repos / "trivial")
        server.workspace(project, "many", repos / "many")
        for backend in ("local", "docker"):
            for run in range(runs):
                server.workspace(project, f"sample-{backend}-{run}", repos / "sample")
    finally:
        server.close()
    return tokens


# -- the runners, in child processes ---------------------------------------------------------


@contextlib.contextmanager
def runner(
    base: str, backend: str, token: str, executor: str, workdir: Path, capacity: int
) -> Iterator[None]:
    """`jupyter-ext runner` of `backend` in a child process; SIGTERM on leaving."""
    workdir.mkdir(parents=True)
    token_file = workdir / "runner.token"
    token_file.write_text(token)
    log_path = workdir / "runner.log"
    command = [
        str(BIN / "jupyter-ext"),
        "runner",
        "--server",
        base.removesuffix("/api/v1/"),
        "--backend",
        backend,
        "--token-file",
        str(token_file),
        "--executor",
        executor,
        "--workdir",
        str(workdir / "site"),
        "--capacity",
        str(capacity),
    ]
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        except BaseException:
            if text := tail(log_path):
                say(f"the {backend} runner's log ends:\n{text}")
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# -- the SSE subscriber ----------------------------------------------------------------------


def _parse(message: bytes) -> tuple[str | None, Any]:
    kind = data = None
    for line in message.split(b"\n"):
        if line.startswith(b"event: "):
            kind = line[7:].decode()
        elif line.startswith(b"data: "):
            data = line[6:]
    return kind, json.loads(data) if kind in ("job", "log") and data else None


class Watcher:
    """One subscriber of `GET /events`: when it read each job in each state, and how long
    each printed line took to reach it."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict] = {}  # identifier -> its latest shape
        self.seen: dict[str, dict[str, float]] = defaultdict(dict)  # id -> state -> first read
        self.line_delays: list[float] = []  # ms
        self.tick = asyncio.Event()
        self.connected = asyncio.Event()

    async def follow(self, http: httpx.AsyncClient) -> None:
        params = [("kind", "job"), ("kind", "log")]
        headers = {"Accept": "text/event-stream"}
        async with http.stream("GET", "events", params=params, headers=headers) as response:
            _ok(response)
            self.connected.set()
            buffer = b""
            async for chunk in response.aiter_bytes():
                at, wall = time.perf_counter(), time.time()
                buffer = (buffer + chunk).replace(b"\r\n", b"\n")
                *messages, buffer = buffer.split(b"\n\n")
                for message in messages:
                    self._take(*_parse(message), at, wall)
                self.tick.set()

    def _take(self, kind: str | None, data: Any, at: float, wall: float) -> None:
        if kind == "job":
            self.jobs[data["identifier"]] = data
            self.seen[data["identifier"]].setdefault(data["state"], at)
        elif kind == "log":
            for _, text in data["lines"]:
                if text.startswith(LINE_MARK):
                    self.line_delays.append((wall - float(text.rsplit(" ", 1)[1])) * 1000)

    async def until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self.tick.clear()
                    await self.tick.wait()
        except TimeoutError:
            raise RuntimeError(f"{what} did not happen within {timeout:g} s") from None

    def ended(self, identifiers: list[str]) -> bool:
        return all(self.jobs.get(i, {}).get("state") in FINAL for i in identifiers)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Stat:
    times: list[float]  # ms

    @property
    def p50(self) -> float:
        return median(self.times)

    @property
    def p99(self) -> float:
        return nearest_rank(self.times, 0.99)


@dataclass
class Submitted:
    start: float  # perf_counter just before the POST
    answered: float  # ... when its answer was read
    identifiers: list[str]


def _ok(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in (expected or (200,)):
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response


async def submit(
    http: httpx.AsyncClient, workspace: str, backend: str, actions: list[str]
) -> Submitted:
    body = {"workspace": workspace, "backend": backend, "actions": actions}
    start = time.perf_counter()
    response = await http.post("job-requests", json=body)
    answered = time.perf_counter()
    jobs = _ok(response, 201).json()["jobs"]
    return Submitted(start, answered, [job["identifier"] for job in jobs])


async def finish(watcher: Watcher, request: Submitted, timeout: float) -> float:
    """Wait for the request's jobs to end; when the last success was read (perf_counter)."""
    ids = request.identifiers
    await watcher.until(lambda: watcher.ended(ids), timeout, f"the end of {len(ids)} jobs")
    failed = [
        f"{watcher.jobs[i]['action']}: {watcher.jobs[i]['state']} "
        f"({watcher.jobs[i]['status_message']})"
        for i in ids
        if watcher.jobs[i]["state"] != "succeeded"
    ]
    if failed:
        raise RuntimeError(f"{len(failed)} jobs did not succeed: {'; '.join(failed[:3])}")
    return max(watcher.seen[i]["succeeded"] for i in ids)


async def submit_to_running(
    http: httpx.AsyncClient, watcher: Watcher, samples: int
) -> tuple[Stat, Stat]:
    """(1) One trivial job at a time: to the `running` event, and to the POST's answer."""
    running, answered = [], []
    for i in range(WARMUP + samples):
        request = await submit(http, "trivial", "local", ["hello"])
        await finish(watcher, request, 60)
        if i >= WARMUP:
            running_at = watcher.seen[request.identifiers[0]]["running"]
            running.append((running_at - request.start) * 1000)
            answered.append((request.answered - request.start) * 1000)
    return Stat(running), Stat(answered)


async def log_delivery(http: httpx.AsyncClient, watcher: Watcher, lines: int) -> Stat:
    """(2) Printed time to arrival of each line of `chatty`."""
    watcher.line_delays.clear()
    await finish(watcher, await submit(http, "trivial", "local", ["chatty"]), 120)
    await watcher.until(lambda: len(watcher.line_delays) >= lines, 10, f"{lines} log lines")
    return Stat(list(watcher.line_delays))


async def throughput(http: httpx.AsyncClient, watcher: Watcher, jobs: int) -> float:
    """(3) Seconds from submitting `jobs` independent jobs in one request to the last success.

    One job of the workspace runs first, untimed, so the runner has the repository's mirror,
    as it would on a site: the figure is the steady state, not the first clone."""
    await finish(watcher, await submit(http, "many", "local", many_actions(1)), 60)
    request = await submit(http, "many", "local", many_actions(jobs))
    return await finish(watcher, request, max(600.0, jobs * 2.0)) - request.start


async def sample_once(http: httpx.AsyncClient, watcher: Watcher, backend: str, run: int) -> float:
    """(4a, 4b) The sample project's run_all in a fresh workspace: seconds to the last success."""
    request = await submit(http, f"sample-{backend}-{run}", backend, ["run_all"])
    return await finish(watcher, request, 300) - request.start


# -- Docker and the official local runner ----------------------------------------------------


def docker_client() -> tuple[Any, str]:
    """The Docker engine with our python image, or None and why not."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        return None, f"the Docker engine cannot be reached ({type(exc).__name__}: {exc})"
    tag = RECIPES["python"].tag
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None, f"the image {tag} is missing: `jupyter ext runner build-images` builds it"
    return client, ""


def peer_images() -> dict[str, str]:
    """The images `opensafely run` needs, as Dockerfiles on top of ours: {tag: Dockerfile}."""
    from opensafely.jobrunner import config

    base = f"FROM {RECIPES['python'].tag}\nUSER root\n"
    return {
        f"{config.DOCKER_REGISTRY}/python:v2": base,
        f"{config.DOCKER_REGISTRY}/busybox:latest": base + 'ENTRYPOINT []\nCMD ["sh"]\n',
    }


def build_peer_images(client) -> list[str]:
    """Build them with no network, unless built so already; returns the tags that were new.

    Each carries a label naming its recipe (Dockerfile and base image): Docker's build
    cache misses on `ENTRYPOINT []`, and a rebuild each run would leave an image behind."""
    import docker.errors

    base = client.images.get(RECIPES["python"].tag).id
    made = []
    for tag, dockerfile in peer_images().items():
        recipe = hashlib.sha256(f"{base}\n{dockerfile}".encode()).hexdigest()[:16]
        try:
            if client.images.get(tag).labels.get(RECIPE_LABEL) == recipe:
                continue
        except docker.errors.ImageNotFound:
            made.append(tag)
        dockerfile += f"LABEL {RECIPE_LABEL}={recipe}\n"
        client.images.build(
            fileobj=io.BytesIO(dockerfile.encode()),
            tag=tag,
            network_mode="none",
            pull=False,
            rm=True,
        )
    return made


def prepare_opensafely(client) -> tuple[str, list[str]]:
    """Why (c) cannot run ('' if it can), and the image tags made for it."""
    if client is None:
        return "", []
    if not (BIN / "opensafely").exists():
        return "the `opensafely` package is not installed in the venv", []
    try:
        return "", build_peer_images(client)
    except Exception as exc:
        return f"its images could not be built here ({type(exc).__name__}: {exc})", []


@contextlib.contextmanager
def removing_opensafely_leftovers(client) -> Iterator[None]:
    """Remove the containers and volumes that `opensafely run` labelled and left meanwhile."""
    from opensafely.jobrunner.lib.docker import LABEL  # each run's label starts with it

    def its_own(labels: dict | None) -> bool:
        return any(key.startswith(LABEL) for key in labels or {})

    containers = {c.id for c in client.containers.list(all=True)}
    volumes = {v.name for v in client.volumes.list()}
    try:
        yield
    finally:
        for container in client.containers.list(all=True):
            if container.id not in containers and its_own(container.labels):
                with contextlib.suppress(Exception):
                    container.remove(force=True)
        for volume in client.volumes.list():
            if volume.name not in volumes and its_own(volume.attrs.get("Labels")):
                with contextlib.suppress(Exception):
                    volume.remove(force=True)


def opensafely_once(client, workdir: Path, run: int) -> float:
    """(4c) `opensafely run run_all` on a fresh copy of the sample project: wall-clock seconds."""
    import opensafely

    project = workdir / f"opensafely-{run}" / "sample-project"
    shutil.copytree(SAMPLE_PROJECT, project)
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env |= {
        name: GUARD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
    }
    log = project.parent / "opensafely.log"
    opensafely.update_version_check()  # it skips its PyPI check for 4 hours
    with log.open("w") as out, removing_opensafely_leftovers(client):
        start = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "opensafely"), "run", "run_all"],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
        seconds = time.perf_counter() - start
    if done.returncode != 0 or not (project / "output" / "report.md").exists():
        raise RuntimeError(f"exit code {done.returncode}:\n{tail(log)}")
    return seconds


# -- the end-to-end comparison ---------------------------------------------------------------


@dataclass
class Contender:
    label: str
    once: Callable[[int], Awaitable[float]]  # seconds of run i
    skipped: str = ""  # why it did not run, or stopped
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else math.nan


async def end_to_end(
    http: httpx.AsyncClient,
    watcher: Watcher,
    base: str,
    tokens: dict[str, str],
    workdir: Path,
    args: argparse.Namespace,
) -> list[Contender]:
    """(4) The three, run by run: local executor, Docker executor, `opensafely run`."""
    client, no_docker = docker_client()
    no_opensafely, made = prepare_opensafely(client)
    contenders = [
        Contender("our runner + local executor", lambda i: sample_once(http, watcher, "local", i)),
        Contender(
            "our runner + Docker executor",
            lambda i: sample_once(http, watcher, "docker", i),
            no_docker,
        ),
        Contender(
            "opensafely run run_all (Docker)",
            lambda i: asyncio.to_thread(opensafely_once, client, workdir, i),
            no_docker or no_opensafely,
        ),
    ]
    try:
        with contextlib.ExitStack() as stack:
            if not no_docker:
                stack.enter_context(
                    runner(
                        base,
                        "docker",
                        tokens["docker"],
                        "docker",
                        workdir / "runner-docker",
                        args.capacity,
                    )
                )
                try:  # the Docker runner's first job, untimed
                    await finish(watcher, await submit(http, "trivial", "docker", ["hello"]), 120)
                except RuntimeError as exc:
                    contenders[1].skipped = f"its first (warm-up) job failed: {exc}"
            for run in range(args.runs):
                for contender in contenders:
                    if contender.skipped:
                        continue
                    say(f"   run {run + 1}/{args.runs}: {contender.label} ...")
                    try:
                        contender.seconds.append(await contender.once(run))
                    except RuntimeError as exc:
                        contender.skipped = f"run {run + 1} failed: {exc}"
    finally:
        for tag in made:
            with contextlib.suppress(Exception):
                client.images.remove(tag)
    return contenders


# -- all of it -------------------------------------------------------------------------------


@dataclass
class Results:
    running: Stat | None = None
    answered: Stat | None = None
    lines: Stat | None = None
    many_seconds: float = math.nan
    contenders: list[Contender] = field(default_factory=list)


async def measure(
    base: str, tokens: dict[str, str], workdir: Path, args: argparse.Namespace
) -> Results:
    results = Results()
    http = httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {tokens['dev']}"},
        timeout=httpx.Timeout(30, read=None),
        trust_env=False,
    )
    async with http:
        watcher = Watcher()
        follow = asyncio.create_task(watcher.follow(http))
        try:
            await asyncio.wait_for(watcher.connected.wait(), 30)
            with runner(
                base, "local", tokens["local"], "local", workdir / "runner-local", args.capacity
            ):
                say(f"1/4 submit to running: {args.submissions} trivial jobs, one at a time ...")
                results.running, results.answered = await submit_to_running(
                    http, watcher, args.submissions
                )
                say(f"2/4 log lines: {args.lines} printed lines ...")
                results.lines = await log_delivery(http, watcher, args.lines)
                say(f"3/4 throughput: {args.jobs} queued jobs ...")
                results.many_seconds = await throughput(http, watcher, args.jobs)
                say(f"4/4 the sample project end to end, {args.runs} runs each ...")
                results.contenders = await end_to_end(http, watcher, base, tokens, workdir, args)
        finally:
            follow.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await follow
    return results


# -- report ----------------------------------------------------------------------------------


def report(results: Results, args: argparse.Namespace, seconds: float) -> None:
    print(
        f"runner: the job server (SQLite) and `jupyter-ext runner` (local executor, capacity "
        f"{args.capacity}) in child processes; this process submits and reads SSE; "
        f"{os.cpu_count()} CPUs"
    )
    print()
    print(f"{'':<46}{'p50':>9}{'p99':>9}{'n':>6}   target")

    def row(label: str, stat: Stat, target: float | None) -> None:
        verdict = (
            ""
            if target is None
            else f"p50 < {target:g} ms: " + ("met" if stat.p50 < target else "MISSED")
        )
        print(f"{label:<46}{stat.p50:>9.1f}{stat.p99:>9.1f}{len(stat.times):>6}   {verdict}")

    row("1. submit -> running, read on SSE (ms)", results.running, SUBMIT_TARGET_P50)
    row("   (of which POST /job-requests answered)", results.answered, None)
    row("2. printed log line -> SSE subscriber (ms)", results.lines, LOG_TARGET_P50)
    rate = args.jobs / results.many_seconds
    print(
        f"3. {args.jobs} queued jobs, one request, capacity {args.capacity}: {rate:.1f} jobs/s "
        f"({results.many_seconds:.1f} s from submit to the last success)"
    )
    print()
    print(
        f"4. the sample project, run_all (5 actions), fresh workspace each run: "
        f"median of {args.runs} runs, seconds"
    )
    print(f"   {'':<34}{'median':>8}   {'speed-up':>8}   each run")
    official = results.contenders[-1]
    for contender in results.contenders:
        if not contender.seconds:
            print(f"   {contender.label:<34}skipped: {contender.skipped}")
            continue
        speed = f"{official.median / contender.median:.1f}x" if official.seconds else "-"
        each = " ".join(f"{s:.2f}" for s in contender.seconds)
        print(f"   {contender.label:<34}{contender.median:>8.2f}   {speed:>8}   {each}")
        if contender.skipped:
            print(f"   {'':<34}then stopped: {contender.skipped}")
    if official.seconds:
        print("   (speed-up: the median of opensafely run over each median)")
    print()
    print(
        f"targets: submit -> running p50 under {SUBMIT_TARGET_P50:g} ms; "
        f"log line p50 under {LOG_TARGET_P50:g} ms. Whole benchmark: {seconds:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=100, help="timed jobs for (1)")
    parser.add_argument("--lines", type=int, default=300, help="printed lines for (2)")
    parser.add_argument("--jobs", type=int, default=500, help="queued jobs for (3)")
    parser.add_argument("--capacity", type=int, default=4, help="jobs each runner runs at once")
    parser.add_argument("--runs", type=int, default=3, help="end-to-end runs of each, for (4)")
    args = parser.parse_args()

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as tmp:
        workdir = Path(tmp)
        repos = workdir / "repos"
        make_repos(repos, args)
        url = f"sqlite:///{workdir / 'jobserver.sqlite'}"
        tokens = seed(url, repos, args.runs)
        with serving(url, repos) as base:
            results = asyncio.run(measure(base, tokens, workdir, args))
            say("stopping the job server (uvicorn cuts the stopped runners' last long-polls)")
    report(results, args, time.perf_counter() - began)


if __name__ == "__main__":
    main()
