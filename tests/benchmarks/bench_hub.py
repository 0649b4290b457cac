"""Signing in and starting workspace servers: the product's hub against a plain JupyterHub.

    .venv/bin/python tests/benchmarks/bench_hub.py [--users 5] [--workshop 30] [--keep]

Two hubs, one after the other, each in its own temporary folder on 127.0.0.1,
both JupyterHub with the local spawner (SimpleLocalProcessSpawner), named
servers, the same single-user command (this environment's
jupyterhub-singleuser, with --allow-root when root) and a login without
passwords (DummyAuthenticator, restricted to the listed users):

- jupyter-ext: hub_config/ through `HubStack` with the development login, as
  `jupyter ext demo` runs it: the job server as a managed service, seeded with
  the users, an organisation, a project whose members they all are and its
  workspace `study` (a local git repository of the sample project); the
  pre-spawn hook asks the job server whether the user may use the workspace
  and clones it, the home page lists the user's workspaces from the job server;
- plain: a minimal config written here, without any of that.

Each person is an httpx client with cookies of their own, doing what a browser
does: GET the login form (untimed), then, timed, POST it (following the
redirect to /hub/home), GET /hub/spawn/<user>/study (the spawn-pending page),
read the server's progress stream (SSE) until it says ready, then GET
/user/<user>/study/lab through the proxy (the OAuth hop included) until the lab
page answers 200 (its HTML: the page's scripts and API calls are not loaded).

1. sign-in to a ready server: that, for --users people one after the other
   (each server stopped through the API before the next person); p50.
2. a workshop: --workshop people at once (asyncio, one client each), released
   together after their login forms are loaded; the time from the release
   until the last lab page answered 200, and the ratio of the two hubs.
   Target: jupyter-ext at most 10% slower than the plain hub. A spawn that
   fails is counted and shown with its reason (and the hub's error lines go to
   stderr); a hub that started fewer servers had less to do, so the ratio is
   then printed as not comparable. Also printed: the CPU seconds the hub, the
   proxy, the job server and the servers used during the workshop, and their
   memory (RSS) once all were ready.

Limits, the same on both hubs: concurrent_spawn_limit 100 (the default, above
the workshop), active_server_limit 0 (none), and the spawner's start_timeout
and http_timeout raised from 60 s and 30 s to 600 s, so that a slow start on a
busy machine is measured rather than failed (the jupyter-ext hook's call to
the job server waits up to c.JupyterExtHub.jobserver_timeout, 30 s, as on a
site). The plain hub's servers run without jupyter-ext's server extension.
jupyter-ext runs first: its
first person also warms the disk cache for both.

At the end each hub gets SIGTERM (it stops its servers, its proxy and its
service); every process seen under it is checked to be gone (and killed by its
PID if not, which is reported). Figures are printed, never asserted: machines
are noisy, and 2 CPUs starting 30 JupyterLab servers are very busy.
Everything lives in one temporary folder, removed at the end (--keep keeps it,
with both hubs' logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
import psutil  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from jupyter_ext.cli.hubstack import (  # noqa: E402
    BIN,
    HubStack,
    StackError,
    free_port,
)
from tests.jobserver.harness import make_repo  # noqa: E402

WORKSPACE = "study"
TARGET_RATIO = 1.10
LIMITS = {
    "JupyterHub.concurrent_spawn_limit": 100,
    "JupyterHub.active_server_limit": 0,
    "Spawner.start_timeout": 600,
    "Spawner.http_timeout": 600,
}
ROOT_ARGS = ["--allow-root"] if os.getuid() == 0 else []
TIMEOUT = httpx.Timeout(600, connect=30)
KINDS = ("hub", "proxy", "job server", "server")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the two hubs ----------------------------------------------------------------------------


def plain_hub(folder: Path, users: list[str]) -> HubStack:
    """JupyterHub with nothing of jupyter-ext: the same kind of login, spawner and single-user
    command, and no jupyter-ext server extension in its servers either."""
    folder.mkdir(parents=True, exist_ok=True)
    no_extension = '--ServerApp.jpserver_extensions={"jupyter_ext.serverext": False}'
    return HubStack(
        folder,
        free_port(),
        {
            "JupyterHub.authenticator_class": "dummy",
            "Authenticator.allowed_users": set(users),
            "JupyterHub.allow_named_servers": True,
            "JupyterHub.spawner_class": "simple",
            "Spawner.cmd": [str(BIN / "jupyterhub-singleuser")],
            "Spawner.args": [*ROOT_ARGS, no_extension],
            "SimpleLocalProcessSpawner.home_dir_template": str(folder / "homes/{username}"),
            **LIMITS,
        },
        log=(folder / "hub.log").open("a"),
        plain=True,
    )


def cli(folder: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "jupyter-ext"), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    if done.returncode != 0:
        raise StackError(f"jupyter-ext {' '.join(args[:2])} failed: {done.stderr[-500:]}")
    return done.stdout.strip()


def ext_hub(folder: Path, users: list[str]) -> HubStack:
    """The product's hub (the development login, as the demo's), seeded so that every user
    is a member of the project of the workspace `study`."""
    folder.mkdir(parents=True)
    make_repo(folder / "repos" / WORKSPACE)
    env = {"JUPYTER_EXT_CRYPT_KEY": Fernet.generate_key().decode()}
    db = f"sqlite:///{folder / 'jobserver.sqlite'}"
    cli(folder, env, "jobserver", "--upgrade-db", "--db-url", db)
    cli(folder, env, "admin", "add-user", "admin", "--role=core_developer", "--db-url", db)
    admin_token = cli(folder, env, "admin", "token", "admin", "--db-url", db)
    cli(folder, env, "admin", "add-org", "uni", "--db-url", db)
    stack = HubStack(
        folder,
        free_port(),
        {
            "JupyterExtHub.login": "dev",
            "JupyterExtHub.dev_users": users,
            "JupyterExtHub.admin_users": {"admin"},
            "JupyterExtHub.jobserver_db_url": db,
            "JupyterExtHub.jobserver_args": [
                f"--JobServerApp.local_repo_roots={[str(folder / 'repos')]}",
                f"--JobServerApp.release_dir={folder / 'releases'}",
            ],
            "JupyterExtHub.workspaces_root": str(folder / "workspaces"),
            **LIMITS,
        },
        env=env,
        log=(folder / "hub.log").open("a"),
    )
    stack.start()
    try:
        seed(stack, admin_token, users, folder / "repos" / WORKSPACE)
    except Exception:
        stack.stop()
        raise
    return stack


def seed(stack: HubStack, admin_token: str, users: list[str], repo: Path) -> None:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=f"{stack.jobserver_url}api/v1/", headers=headers, timeout=30) as api:
        for user in users:
            api.post("users", json={"username": user}).raise_for_status()
        api.post("projects", json={"org": "uni", "name": "Study"}).raise_for_status()
        for user in users:
            member = {"username": user, "roles": ["project_developer"]}
            api.post("projects/study/members", json=member).raise_for_status()
        api.post(
            "workspaces",
            json={"name": WORKSPACE, "project": "study", "branch": "main", "repo": str(repo)},
        ).raise_for_status()


# -- a person at a browser -------------------------------------------------------------------


@dataclass
class Timeline:
    """Seconds from the login POST: home page shown, server ready, lab page 200."""

    login: float = 0.0
    ready: float = 0.0
    lab: float = 0.0
    error: str = ""


class Person:
    def __init__(self, hub_url: str, login: str) -> None:
        self.login = login
        self.http = httpx.AsyncClient(base_url=hub_url, follow_redirects=True, timeout=TIMEOUT)

    def _xsrf(self) -> str:
        return self.http.cookies.get("_xsrf", path="/hub/") or ""

    async def open_login_form(self) -> None:
        (await self.http.get("hub/login")).raise_for_status()

    async def sign_in_and_start(self) -> Timeline:
        """From the login POST to the lab page's 200, as the browser goes."""
        t = Timeline()
        begin = time.perf_counter()
        try:
            home = await self.http.post(
                "hub/login",
                params={"next": "/hub/home"},
                data={"username": self.login, "password": "any", "_xsrf": self._xsrf()},
            )
            if home.status_code != 200 or home.url.path != "/hub/home":
                raise RuntimeError(f"login: {home.status_code} at {home.url.path}")
            t.login = time.perf_counter() - begin
            pending = await self.http.get(f"hub/spawn/{self.login}/{WORKSPACE}")
            if pending.status_code != 200:
                raise RuntimeError(f"spawn: {pending.status_code} {pending.text[-300:]}")
            await self._wait_ready()
            t.ready = time.perf_counter() - begin
            lab = await self.http.get(f"user/{self.login}/{WORKSPACE}/lab")
            if lab.status_code != 200 or not lab.url.path.endswith("/lab"):
                raise RuntimeError(f"lab: {lab.status_code} at {lab.url.path}")
            t.lab = time.perf_counter() - begin
        except (RuntimeError, httpx.HTTPError) as exc:
            t.error = f"{self.login}: {exc!r}"[:300]
        return t

    async def _wait_ready(self) -> None:
        """The spawn-pending page's EventSource: the progress stream until `ready`."""
        xsrf = self._xsrf()
        url = f"hub/api/users/{self.login}/servers/{WORKSPACE}/progress"
        async with self.http.stream(
            "GET", url, params={"_xsrf": xsrf}, headers={"X-XSRFToken": xsrf}
        ) as stream:
            if stream.status_code != 200:
                raise RuntimeError(f"progress: {stream.status_code}")
            async for line in stream.aiter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("ready"):
                    return
                if event.get("failed"):
                    raise RuntimeError(f"spawn failed: {event.get('message')}")
        raise RuntimeError("the progress stream ended before the server was ready")

    async def stop_server(self, timeout: float = 120) -> None:
        headers = {"X-XSRFToken": self._xsrf()}
        stopping = await self.http.delete(
            f"hub/api/users/{self.login}/servers/{WORKSPACE}", headers=headers
        )
        stopping.raise_for_status()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = await self.http.get(f"hub/api/users/{self.login}", headers=headers)
            if WORKSPACE not in model.json().get("servers", {}):
                return
            await asyncio.sleep(0.25)
        raise RuntimeError(f"{self.login}'s server did not stop")

    async def close(self) -> None:
        await self.http.aclose()


# -- processes -------------------------------------------------------------------------------


class Watch:
    """Every process seen under a hub, what it is, and its memory and CPU."""

    def __init__(self, hub: subprocess.Popen) -> None:
        self.hub = psutil.Process(hub.pid)
        self.seen: dict[int, psutil.Process] = {}

    @staticmethod
    def kind(proc: psutil.Process) -> str:
        try:
            line = " ".join(proc.cmdline())
        except psutil.Error:
            return "gone"
        if "jupyterhub-singleuser" in line:
            return "server"
        if "configurable-http-proxy" in line:
            return "proxy"
        if "jobserver" in line:
            return "job server"
        return "other"

    def look(self) -> dict[str, list[psutil.Process]]:
        found: dict[str, list[psutil.Process]] = {"hub": [self.hub]}
        for proc in self.hub.children(recursive=True):
            self.seen.setdefault(proc.pid, proc)
            found.setdefault(self.kind(proc), []).append(proc)
        return found

    @staticmethod
    def rss_mb(procs: list[psutil.Process]) -> float:
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 2**20

    @staticmethod
    def cpu_s(procs: list[psutil.Process]) -> float:
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                pass
        return total

    def left_over(self, folder: Path) -> list[str]:
        """Processes seen under the hub still alive, and any other with its working folder in
        the temp folder; each is killed by its PID."""
        left = [p for p in self.seen.values() if alive(p)]
        for proc in psutil.process_iter(["pid", "cwd"]):
            cwd = proc.info.get("cwd") or ""
            if cwd.startswith(str(folder)) and proc.pid not in {p.pid for p in left}:
                left.append(proc)
        names = []
        for proc in left:
            names.append(f"{proc.pid} {self.kind(proc)}")
            with contextlib.suppress(psutil.Error):
                proc.kill()
        return names


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Workshop:
    seconds: float = 0.0
    timelines: list[Timeline] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds during it, by kind
    rss: dict[str, float] = field(default_factory=dict)  # MB when all were ready, by kind
    servers: int = 0
    load: float = 0.0


@dataclass
class HubResult:
    label: str
    one_by_one: list[Timeline] = field(default_factory=list)
    workshop: Workshop = field(default_factory=Workshop)
    processes: int = 0
    left: list[str] = field(default_factory=list)
    shutdown: float = 0.0
    start: float = 0.0


async def one_by_one(url: str, users: list[str], watch: Watch) -> list[Timeline]:
    timelines = []
    for user in users:
        person = Person(url, user)
        try:
            await person.open_login_form()
            timeline = await person.sign_in_and_start()
            timelines.append(timeline)
            watch.look()
            say(f"  {user}: " + (timeline.error or f"lab 200 after {timeline.lab:.2f} s"))
            if not timeline.error:
                await person.stop_server()
        finally:
            await person.close()
    return timelines


async def workshop(url: str, users: list[str], watch: Watch) -> Workshop:
    people = [Person(url, user) for user in users]
    result = Workshop()
    try:
        await asyncio.gather(*(p.open_login_form() for p in people))
        found = watch.look()
        cpu = {kind: watch.cpu_s(found.get(kind, [])) for kind in KINDS}
        done = 0

        async def go(person: Person) -> Timeline:
            nonlocal done
            timeline = await person.sign_in_and_start()
            done += 1
            if timeline.error or done % 5 == 0 or done == len(people):
                say(f"  {done}/{len(people)} " + (timeline.error or f"ready ({person.login})"))
            return timeline

        begin = time.perf_counter()
        result.timelines = await asyncio.gather(*(go(p) for p in people))
        result.seconds = time.perf_counter() - begin
        result.load = os.getloadavg()[0]
        found = watch.look()
        for kind in KINDS:
            result.cpu[kind] = watch.cpu_s(found.get(kind, [])) - cpu[kind]
            result.rss[kind] = watch.rss_mb(found.get(kind, []))
        result.servers = len(found.get("server", []))
    finally:
        await asyncio.gather(*(p.close() for p in people))
    return result


def run_hub(label: str, start, folder: Path, solo: list[str], crowd: list[str]) -> HubResult:
    result = HubResult(label)
    say(f"{label}: starting the hub ...")
    began = time.perf_counter()
    hub = start()
    result.start = time.perf_counter() - began
    watch = Watch(hub.process)
    try:
        watch.look()
        say(f"{label}: 1. {len(solo)} people one after the other ...")
        result.one_by_one = asyncio.run(one_by_one(hub.url, solo, watch))
        say(f"{label}: 2. {len(crowd)} people at once ...")
        result.workshop = asyncio.run(workshop(hub.url, crowd, watch))
        watch.look()
    finally:
        say(f"{label}: stopping the hub (SIGTERM; it stops its servers, proxy and service) ...")
        began = time.perf_counter()
        hub.stop(timeout=120)
        result.shutdown = time.perf_counter() - began
        if hub.log and not hub.log.closed:
            hub.log.close()
        result.processes = len(watch.seen)
        result.left = watch.left_over(folder)
    if any(t.error for t in result.one_by_one + result.workshop.timelines):
        say(f"{label}: what the hub logged about its failures:")
        lines = (hub.folder / "hub.log").read_text(errors="replace").splitlines()
        for line in [line for line in lines if line.startswith("[E")][:20]:
            say("  " + line[:300])
    return result


# -- report ----------------------------------------------------------------------------------


def stat(values: list[float]) -> str:
    if not values:
        return f"{'-':>8}{'-':>8}{'-':>8}"
    return f"{statistics.median(values):>8.2f}{min(values):>8.2f}{max(values):>8.2f}"


def report(results: list[HubResult], args: argparse.Namespace, seconds: float) -> None:
    memory = psutil.virtual_memory().total / 2**30
    print(
        f"hub: JupyterHub {version('jupyterhub')}, SimpleLocalProcessSpawner, named servers, "
        f"jupyterhub-singleuser {' '.join(ROOT_ARGS)} (JupyterLab {version('jupyterlab')}), "
        f"DummyAuthenticator; {os.cpu_count()} CPUs, {memory:.0f} GiB"
    )
    print(
        "limits on both hubs: concurrent_spawn_limit 100 (default 100), active_server_limit 0 "
        "(none, default), Spawner.start_timeout 600 s (default 60), Spawner.http_timeout "
        "600 s (default 30)"
    )
    print(
        "hub started in: "
        + ", ".join(f"{r.label} {r.start:.1f} s" for r in results)
        + " (jupyter-ext: with its job server)"
    )
    print()
    print(
        f"1. sign-in to a ready server, {args.users} people one after the other "
        "(seconds from the login POST)"
    )
    print(f"{'':<36}{'p50':>8}{'min':>8}{'max':>8}   each")
    phases = (
        ("login POST -> home page 200", lambda t: t.login),
        ("  -> server ready (progress SSE)", lambda t: t.ready - t.login),
        ("  -> lab page 200 via the proxy", lambda t: t.lab - t.ready),
    )
    for r in results:
        good = [t for t in r.one_by_one if not t.error]
        each = " ".join(f"{t.lab:.2f}" for t in good)
        failed = len(r.one_by_one) - len(good)
        print(
            f"{r.label + ': sign-in -> lab 200':<36}{stat([t.lab for t in good])}   {each}"
            + (f"   ({failed} FAILED)" if failed else "")
        )
        for name, part in phases:
            print(f"{'  ' + name:<36}{stat([part(t) for t in good])}")
    print()
    print(f"2. workshop: {args.workshop} people sign in and start their servers at once")
    head = f"{'':<36}{'all ready':>10}{'p50':>8}{'min':>8}{'max':>8}   (per person, s)"
    print(head)
    for r in results:
        w = r.workshop
        good = [t for t in w.timelines if not t.error]
        failed = len(w.timelines) - len(good)
        print(
            f"{r.label:<36}{w.seconds:>10.1f}{stat([t.lab for t in good])}"
            + (f"   ({failed} FAILED)" if failed else "")
        )
        for name, part in phases:
            print(f"{'  ' + name:<36}{'':>10}{stat([part(t) for t in good])}")
    print()
    print(
        f"the workshop's processes{'':<12}{'hub':>9}{'proxy':>9}{'job srv':>9}"
        f"{'servers':>10}{'each':>9}"
    )
    for r in results:
        w = r.workshop
        cells = "".join(f"{w.cpu.get(k, 0):>8.1f}s" for k in KINDS[:3])
        each = w.cpu.get("server", 0) / w.servers if w.servers else 0
        print(
            f"{r.label + ': CPU during it':<36}{cells}{w.cpu.get('server', 0):>9.1f}s{each:>8.1f}s"
        )
        cells = "".join(f"{w.rss.get(k, 0):>6.0f} MB" for k in KINDS[:3])
        each = w.rss.get("server", 0) / w.servers if w.servers else 0
        print(
            f"{'  RSS when all were ready':<36}{cells}{w.rss.get('server', 0):>7.0f} MB"
            f"{each:>6.0f} MB   ({w.servers} servers; load average {w.load:.1f})"
        )
    print()
    ext, plain = results
    errors = [t.error for r in results for t in r.one_by_one + r.workshop.timelines if t.error]
    if ext.workshop.seconds and plain.workshop.seconds:
        ratio = ext.workshop.seconds / plain.workshop.seconds
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        started = [sum(not t.error for t in r.workshop.timelines) for r in results]
        if started != [args.workshop] * 2:  # fewer servers is less work: not the same race
            verdict = (
                f"NOT COMPARABLE: jupyter-ext started {started[0]} of {args.workshop}, "
                f"plain {started[1]} of {args.workshop}"
            )
        print(
            f"ratio jupyter-ext / plain, all {args.workshop} ready: {ext.workshop.seconds:.1f} / "
            f"{plain.workshop.seconds:.1f} s = {ratio:.2f} (target <= {TARGET_RATIO:.2f}: "
            f"{verdict})"
        )
    for error in errors[:10]:
        print(f"  failed: {error}")
    for r in results:
        print(
            f"{r.label}: {r.processes} processes seen under the hub; after SIGTERM "
            f"({r.shutdown:.1f} s to exit): "
            + (f"LEFT and killed: {', '.join(r.left)}" if r.left else "none left")
        )
    print(f"Whole benchmark: {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=5, help="people one after the other, for 1")
    parser.add_argument("--workshop", type=int, default=30, help="people at once, for 2")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (hub logs)")
    args = parser.parse_args()

    solo = [f"solo{i}" for i in range(1, args.users + 1)]
    crowd = [f"user{i:02d}" for i in range(1, args.workshop + 1)]
    began = time.perf_counter()
    results = []
    folder = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    say(f"bench-hub: in {folder}; load average {os.getloadavg()[0]:.1f}")
    try:
        results.append(
            run_hub(
                "jupyter-ext",
                lambda: ext_hub(folder / "ext", solo + crowd),
                folder,
                solo,
                crowd,
            )
        )
        results.append(
            run_hub(
                "plain JupyterHub",
                lambda: plain_hub(folder / "plain", solo + crowd).start(),
                folder,
                solo,
                crowd,
            )
        )
    except Exception:
        for log in sorted(folder.glob("*/hub.log")):
            say(f"--- the end of {log}:\n" + log.read_text(errors="replace")[-3000:])
        raise
    finally:
        if args.keep:
            say(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(results, args, time.perf_counter() - began)


if __name__ == "__main__":
    main()
