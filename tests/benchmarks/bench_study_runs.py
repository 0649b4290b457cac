"""One study at 1, 2 and 4 sites: do the sites work in parallel?

    .venv/bin/python tests/benchmarks/bench_study_runs.py [--runs N] [--capacity N]

The job server (a SQLite file, the real app under uvicorn on 127.0.0.1) runs in a child
process, as bench_jobserver.py starts it. Each site is a backend with its own
`jupyter-ext runner` in a child process of its own, its own work folder, capacity 2 (all
the sample's graph can use): four with the local executor, and four with the Docker
executor (each warmed up by one trivial job, as a site's runner would be after its first).
Two projects, each `run_all` submitted as one study run (`POST /runs`) at the first 1, 2
and 4 sites, in a fresh workspace each time:

- `sample`: the sample project (5 actions that compute: Python start-up, a thousand rows);
- `waiting`: the sample's graph (the same 5 actions, the same needs) whose jobs each wait
  0.5 s and write a file: jobs that spend their time away from this machine's CPUs, as a
  real site's jobs do on the site's own machines. Four sites here share this machine's
  CPUs, so `sample` at 4 sites measures the CPUs' share as much as our parallelism; this
  one measures ours (job server, leasing, long-polls, runners).

The time is from just before the POST to this process's SSE subscriber reading the last
job's success at the last site. Median of `--runs` runs of each, interleaved run by run.
It prints each median and its ratio to one site. Target: at most 1.2x at 4 sites (the sites
working in parallel). Figures are printed, never asserted. The Docker rows are skipped,
saying why, without Docker or our image (`jupyter ext runner build-images` builds it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
from bench_jobserver import say, serving  # noqa: E402
from bench_runner import (  # noqa: E402
    SAMPLE_PROJECT,
    Watcher,
    _ok,
    docker_client,
    finish,
    runner,
    submit,
    trivial_project,
)

SITES = (1, 2, 4)
EXECUTORS = ("local", "docker")
PROJECTS = ("sample", "waiting")
TARGET_RATIO = 1.2
WAIT = """import pathlib, sys, time
time.sleep(0.5)
pathlib.Path("out").mkdir(exist_ok=True)
(pathlib.Path("out") / f"{sys.argv[1]}.txt").write_text("done\\n")
"""
GRAPH = {  # the sample project's actions and needs
    "generate_dataset": [],
    "derive_measures": ["generate_dataset"],
    "make_table": ["derive_measures"],
    "make_plot": ["derive_measures"],
    "report": ["make_table", "make_plot"],
}


def waiting_project() -> dict[str, str]:
    """The sample's graph, each job waiting 0.5 s and writing one file."""
    actions = "".join(
        f"  {name}:\n    run: python:v2 wait.py {name}\n"
        + (f"    needs: [{', '.join(needs)}]\n" if needs else "")
        + f"    outputs: {{moderately_sensitive: {{out: out/{name}.txt}}}}\n"
        for name, needs in GRAPH.items()
    )
    return {"project.yaml": 'version: "5"\nactions:\n' + actions, "wait.py": WAIT}


def site(executor: str, i: int) -> str:
    return f"{executor}-site-{i}"


def make_repos(repos: Path) -> None:
    from tests.jobserver.harness import git, make_repo

    for name, files in (("trivial", trivial_project(1)), ("waiting", waiting_project())):
        path = repos / name
        path.mkdir(parents=True)
        for file, text in files.items():
            (path / file).write_text(text)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", ".")
        git(path, "commit", "-q", "-m", "bench")
    make_repo(repos / "sample", SAMPLE_PROJECT)


def seed(url: str, repos: Path, runs: int) -> dict[str, str]:
    """Four sites per executor, one org that may use them all, `dev` in a project, and a
    fresh workspace of the sample for each timed run: the tokens."""
    from tests.jobserver.harness import JobServer

    server = JobServer(url, repos)  # migrates; its own app is never served
    try:
        backends = [site(e, i) for e in EXECUTORS for i in range(max(SITES))]
        tokens = {slug: server.backend(slug) for slug in backends}
        server.org("uni", backends)
        tokens["dev"] = server.user("dev")
        project = server.project("uni", "Study bench", {"dev": ["project_developer"]})
        server.workspace(project, "trivial", repos / "trivial")
        for kind in PROJECTS:
            for executor in EXECUTORS:
                for n in SITES:
                    for run in range(runs):
                        name = f"{kind}-{executor}-{n}-{run}"
                        server.workspace(project, name, repos / kind)
    finally:
        server.close()
    return tokens


async def study_once(
    http: httpx.AsyncClient, watcher: Watcher, kind: str, executor: str, n: int, run: int
) -> float:
    """A project's run_all at the first `n` sites: seconds to the last site's last success."""
    body = {
        "workspace": f"{kind}-{executor}-{n}-{run}",
        "backends": [site(executor, i) for i in range(n)],
        "actions": ["run_all"],
    }
    start = time.perf_counter()
    made = _ok(await http.post("runs", json=body), 201).json()
    ids = [job["identifier"] for s in made["sites"] for job in s["job_request"]["jobs"]]
    await watcher.until(lambda: watcher.ended(ids), 600, f"the end of {len(ids)} jobs")
    failed = [i for i in ids if watcher.jobs[i]["state"] != "succeeded"]
    if failed:
        job = watcher.jobs[failed[0]]
        raise RuntimeError(f"{len(failed)} jobs failed, e.g. {job['action']} at {job['backend']}")
    return max(watcher.seen[i]["succeeded"] for i in ids) - start


async def measure(
    base: str, tokens: dict[str, str], workdir: Path, args: argparse.Namespace
) -> dict[tuple[str, str], dict[int, list[float]] | str]:
    """{(project, executor): {sites: [seconds, ...]}}, or why an executor was skipped."""
    _, no_docker = docker_client()
    results: dict[tuple[str, str], dict[int, list[float]] | str] = {}
    if no_docker:
        results.update({(kind, "docker"): no_docker for kind in PROJECTS})
    executors = [e for e in EXECUTORS if not (no_docker and e == "docker")]
    http = httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {tokens['dev']}"},
        timeout=httpx.Timeout(30, read=None),
        trust_env=False,
    )
    watcher = Watcher()
    follow = asyncio.create_task(watcher.follow(http))
    try:
        await asyncio.wait_for(watcher.connected.wait(), 10)
        with contextlib.ExitStack() as stack:
            for executor in executors:
                for i in range(max(SITES)):
                    slug = site(executor, i)
                    stack.enter_context(
                        runner(base, slug, tokens[slug], executor, workdir / slug, args.capacity)
                    )
            for executor in executors:  # each site's first job, untimed
                say(f"warming up the {executor} sites ...")
                for i in range(max(SITES)):
                    first = await submit(http, "trivial", site(executor, i), ["hello"])
                    await finish(watcher, first, 180)
                results.update({(kind, executor): {n: [] for n in SITES} for kind in PROJECTS})
            for run in range(args.runs):
                for kind in PROJECTS:
                    for executor in executors:
                        for n in SITES:
                            say(f"   run {run + 1}/{args.runs}: {kind}, {executor}, {n} site(s)")
                            seconds = await study_once(http, watcher, kind, executor, n, run)
                            results[kind, executor][n].append(seconds)
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await follow
        await http.aclose()
    return results


def report(results: dict, args: argparse.Namespace, took: float) -> None:
    print()
    print("One study run (run_all, 5 jobs per site) at 1, 2 and 4 sites: median of")
    print(f"{args.runs} runs; each site its own runner (capacity {args.capacity}); this machine")
    print(f"has {os.cpu_count()} CPUs, shared by every site here (`waiting` jobs barely use them).")
    print()
    head = f"{'project':8} {'executor':9} {'sites':>5} {'submit to last success':>24}"
    print(f"{head} {'ratio to 1 site':>16}")
    for kind in PROJECTS:
        for executor in EXECUTORS:
            timed = results.get((kind, executor))
            if isinstance(timed, str):
                print(f"{kind:8} {executor:9} skipped: {timed}")
                continue
            one = statistics.median(timed[1])
            for n in SITES:
                median = statistics.median(timed[n])
                spread = f"({min(timed[n]):.2f} to {max(timed[n]):.2f})"
                row = f"{kind:8} {executor:9} {n:5} {median:9.2f} s {spread:>14}"
                print(f"{row} {median / one:15.2f}x")
    print()
    print(f"target: at most {TARGET_RATIO}x at 4 sites. The whole benchmark took {took:.0f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs at each number of sites")
    parser.add_argument("--capacity", type=int, default=2, help="jobs each site runs at once")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        workdir = Path(tmp)
        repos = workdir / "repos"
        make_repos(repos)
        url = f"sqlite:///{workdir / 'jobserver.sqlite'}"
        tokens = seed(url, repos, args.runs)
        with serving(url, repos) as base:
            results = asyncio.run(measure(base, tokens, workdir, args))
    report(results, args, time.perf_counter() - began)


if __name__ == "__main__":
    main()
