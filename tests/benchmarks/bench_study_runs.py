"""One study at 1, 2 and 4 sites: do the sites work in parallel?

    .venv/bin/python tests/benchmarks/bench_study_runs.py [--runs N] [--capacity N]

The job server (a SQLite file, the real app under uvicorn on 127.0.0.1) runs in a child
process, as bench_jobserver.py starts it. Each site is a backend with its own
`jupyter-ext runner` in a child process of its own, its own work folder, capacity 2 (all
the sample's graph can use): four with the local executor, and four with the Docker
executor (each warmed up by one trivial job, as a site's runner would be after its first).
The sample project's `run_all` (5 actions) is submitted as one study run (`POST /runs`) at
the first 1, 2 and 4 sites, in a fresh workspace each time; the time is from just before the
POST to this process's SSE subscriber reading the last job's success at the last site.
Median of `--runs` runs of each, interleaved run by run.

It prints each median and its ratio to one site. Target: at most 1.2x at 4 sites (the sites
working in parallel). The machine's CPUs are printed too: four sites on one machine share
them, where real sites each have their own. Figures are printed, never asserted. The Docker
rows are skipped, saying why, without Docker or our image (`jupyter ext runner
build-images` builds it).
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
TARGET_RATIO = 1.2


def site(executor: str, i: int) -> str:
    return f"{executor}-site-{i}"


def make_repos(repos: Path) -> None:
    from tests.jobserver.harness import git, make_repo

    path = repos / "trivial"
    path.mkdir(parents=True)
    for file, text in trivial_project(1).items():
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
        for executor in EXECUTORS:
            for n in SITES:
                for run in range(runs):
                    server.workspace(project, f"sample-{executor}-{n}-{run}", repos / "sample")
    finally:
        server.close()
    return tokens


async def study_once(
    http: httpx.AsyncClient, watcher: Watcher, executor: str, n: int, run: int
) -> float:
    """The sample's run_all at the first `n` sites: seconds to the last site's last success."""
    body = {
        "workspace": f"sample-{executor}-{n}-{run}",
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
) -> dict[str, dict[int, list[float]] | str]:
    """{executor: {sites: [seconds, ...]}}, or why an executor was skipped."""
    _, no_docker = docker_client()
    results: dict[str, dict[int, list[float]] | str] = {"docker": no_docker} if no_docker else {}
    executors = [e for e in EXECUTORS if e not in results]
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
                results[executor] = {n: [] for n in SITES}
            for run in range(args.runs):
                for executor in executors:
                    for n in SITES:
                        say(f"   run {run + 1}/{args.runs}: {executor}, {n} site(s) ...")
                        seconds = await study_once(http, watcher, executor, n, run)
                        results[executor][n].append(seconds)
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await follow
        await http.aclose()
    return results


def report(results: dict, args: argparse.Namespace, took: float) -> None:
    print()
    print("One study run of the sample project (run_all, 5 jobs per site), at 1, 2 and 4 sites:")
    print(f"median of {args.runs} runs; each site its own runner (capacity {args.capacity});")
    print(f"this machine has {os.cpu_count()} CPUs, shared by every site here.")
    print()
    print(f"{'executor':10} {'sites':>5} {'submit to last success':>24} {'ratio to 1 site':>16}")
    for executor in EXECUTORS:
        timed = results.get(executor)
        if isinstance(timed, str):
            print(f"{executor:10} skipped: {timed}")
            continue
        one = statistics.median(timed[1])
        for n in SITES:
            median = statistics.median(timed[n])
            spread = f"({min(timed[n]):.2f} to {max(timed[n]):.2f})"
            print(f"{executor:10} {n:5} {median:9.2f} s {spread:>14} {median / one:15.2f}x")
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
