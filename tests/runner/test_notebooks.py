"""Notebook actions (`run: jupyter:v1 ...`) run by a real runner, against the real job server.

The same project runs on the local executor, in Docker (the `jupyter` image, built from
Debian) and on a single-node Slurm cluster: a notebook with a parameters cell, one that fails,
one whose cell outlives its limit, and one written in OpenSAFELY's `jupyter nbconvert` form.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_ext.notebook_html import notebook_cells
from jupyter_ext.runner.policy import LogPolicy

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from .test_local_runner import RunnerThread, wait_for

PROJECT = """version: "5"
actions:
  explore:
    run: jupyter:v1 analysis/explore.ipynb --ipynb output/explore.ipynb
    config: {threshold: 4}
    outputs:
      moderately_sensitive: {html: output/explore.html, counts: output/count.csv}
      highly_sensitive: {executed: output/explore.ipynb}
  broken:
    run: jupyter:v1 broken.ipynb
    outputs: {moderately_sensitive: {html: output/broken.html}}
  slow:
    run: jupyter:v1 slow.ipynb --cell-timeout 1
    outputs: {moderately_sensitive: {html: output/slow.html}}
  report:
    run: >-
      jupyter:v1 jupyter nbconvert /workspace/analysis/report.ipynb --execute --to html
      --output-dir=/workspace/output --ExecutePreprocessor.timeout=86400 --no-input
    outputs: {moderately_sensitive: {html: output/report.html}}
"""

# The kernel runs in the notebook's folder, as in JupyterLab and nbconvert: hence `../output`.
EXPLORE = [
    new_markdown_cell("# Rows over a threshold"),
    new_code_cell("threshold = 10", metadata={"tags": ["parameters"]}),
    new_code_cell(
        "import os\nrows = [1, 5, 12, 30, 44]\ncount = sum(r > threshold for r in rows)\n"
        "os.makedirs('../output', exist_ok=True)\n"
        "open('../output/count.csv', 'w').write(f'threshold,count\\n{threshold},{count}\\n')\n"
        "print('counted', count)"
    ),
    new_code_cell("count * 2"),
]
BROKEN = [new_code_cell("x = 1"), new_code_cell("x / 0"), new_code_cell("print('never')")]
SLOW = [new_code_cell("import time\ntime.sleep(30)")]
REPORT = [new_markdown_cell("# Report"), new_code_cell("print('in', __import__('os').getcwd())")]
NOTEBOOKS = {
    "analysis/explore.ipynb": EXPLORE,
    "broken.ipynb": BROKEN,
    "slow.ipynb": SLOW,
    "analysis/report.ipynb": REPORT,
}
KERNEL = {"name": "python3", "language": "python", "display_name": "Python 3"}
HANG_GUARD = 240  # seconds before a test gives up on a job (not a timing check)


def notebooks_world(tmp_path):
    """The usual world, plus a workspace `nb` whose actions are the notebooks above."""
    source = tmp_path / "nb-src"
    (source / "analysis").mkdir(parents=True)
    (source / "project.yaml").write_text(PROJECT)
    for path, cells in NOTEBOOKS.items():
        nbformat.write(new_notebook(cells=cells, metadata={"kernelspec": KERNEL}), source / path)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "nb", source)
    world.workspace("sample-study", "nb", tmp_path / "repos" / "nb")
    return world


def submit(world, action: str, parameters: dict | None = None) -> dict:
    body = {"workspace": "nb", "backend": "tpp", "actions": [action]}
    if parameters is not None:
        body["parameters"] = {action: parameters}
    reply = world.client("dev").post("job-requests", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def run_actions(world, site, executor=None, **options) -> dict[str, dict]:
    """Each action run once by one runner: {action: its job}."""
    with RunnerThread(world, site, executor=executor, **options):
        requests = {
            "explore": submit(world, "explore", {"threshold": 20}),
            "broken": submit(world, "broken"),
            "slow": submit(world, "slow"),
            "report": submit(world, "report"),
        }
        return {a: wait_for(world, r["id"], HANG_GUARD)["jobs"][0] for a, r in requests.items()}


def check_jobs(world, site, jobs: dict[str, dict]) -> None:
    """What every executor must give: see the module's docstring."""
    explore = jobs["explore"]
    # every file the notebook left is declared: no kernel file, no .ipython, no .local
    assert (explore["state"], explore["status_message"]) == ("succeeded", "3 outputs"), explore
    kept = site / "workspaces" / "nb" / "output"
    assert (
        kept / "count.csv"
    ).read_text() == "threshold,count\n20,2\n"  # 30 and 44 (config: 4, default: 10)
    executed = nbformat.read(kept / "explore.ipynb", as_version=4)
    tags = [c.metadata.get("tags", []) for c in executed.cells]
    assert tags[1] == ["parameters"] and tags[2] == ["injected-parameters"]
    assert executed.cells[2].source == "# Parameters injected by jupyter-ext\nthreshold = 20"
    assert executed.cells[3].outputs[0]["text"] == "counted 2\n"
    assert executed.cells[4].outputs[0]["data"]["text/plain"] == "4"
    html = (kept / "explore.html").read_text()
    cells = notebook_cells(html)  # as a review page reads it, whichever nbconvert wrote it
    assert [c.anchor for c in cells] == [f"cell-id=cell-{n}" for n in range(1, 6)]
    assert [c.kind for c in cells] == ["markdown", "code", "code", "code", "code"]
    assert cells[2].first_line == "# Parameters injected by jupyter-ext"
    assert "counted 2" in html
    provenance = json.loads((site / "provenance" / f"{explore['identifier']}.json").read_text())
    assert provenance["provenance"]["parameters"] == {"threshold": 20}
    logs = [
        line["text"]
        for line in world.client("dev").get(f"jobs/{explore['identifier']}/logs").json()
    ]
    assert "counted 2" in logs and any(
        re.fullmatch(r"cell 5 of 5 ran in [\d.]+ s", t) for t in logs
    )

    broken = jobs["broken"]
    message = "the notebook failed at cell 2 of 3: ZeroDivisionError: division by zero"
    assert (broken["state"], broken["status_message"], broken["exit_code"]) == (
        "failed",
        message,
        1,
    )
    slow = jobs["slow"]
    message = "the notebook failed at cell 1 of 1: the cell ran longer than its limit of 1 s"
    assert (slow["state"], slow["status_message"]) == ("failed", message)

    report = jobs["report"]  # OpenSAFELY's form: the HTML in --output-dir, named as the notebook
    assert (report["state"], report["status_message"]) == ("succeeded", "1 outputs"), report
    html = (site / "workspaces" / "nb" / "output" / "report.html").read_text()
    assert re.search(r"in \S*/analysis\b", html)  # it ran in the notebook's folder
    assert "print(" not in html  # --no-input: outputs only


def test_notebook_actions_run_on_the_local_executor(tmp_path):
    world = notebooks_world(tmp_path)
    try:
        jobs = run_actions(world, tmp_path / "site")
        check_jobs(world, tmp_path / "site", jobs)
    finally:
        world.close()


def test_a_failed_notebook_says_nothing_of_its_cells_under_the_status_policy(tmp_path):
    world = notebooks_world(tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site", log_policy=LogPolicy("status")):
            job = wait_for(world, submit(world, "broken")["id"], HANG_GUARD)["jobs"][0]
    finally:
        world.close()
    message = "the notebook failed: which cell, and why, stay on the site"
    assert (job["state"], job["status_message"], job["exit_code"]) == ("failed", message, None)
    on_site = (tmp_path / "site" / "logs" / f"{job['identifier']}.log").read_text()
    assert "failed at cell 2 of 3: ZeroDivisionError" in on_site  # the site's log has it all


@pytest.mark.usefixtures("notebook_image")
def test_notebook_actions_run_in_docker(tmp_path):
    from jupyter_ext.runner.executors.docker import DockerExecutor

    world = notebooks_world(tmp_path)
    try:
        jobs = run_actions(world, tmp_path / "site", executor=DockerExecutor(grace=0.2))
        check_jobs(world, tmp_path / "site", jobs)
    finally:
        world.close()


def test_notebook_actions_run_on_slurm(slurm_cluster, tmp_path):
    from .test_slurm_executor import new_executor

    world = notebooks_world(tmp_path)
    try:
        executor = new_executor(slurm_cluster, memory_mb=1024)
        jobs = run_actions(world, tmp_path / "site", executor=executor)
        check_jobs(world, tmp_path / "site", jobs)
    finally:
        world.close()


def test_a_cancelled_notebook_job_stops_its_kernel_too(tmp_path):
    """The kernel has a session of its own, so the executor's signal to the job's process
    group misses it: the notebook runner stops it on SIGTERM."""
    import asyncio

    from jupyter_ext.runner.executors import LocalExecutor
    from jupyter_ext.runner.job_spec import job_spec

    from .test_notebook_parts import lease

    folder = tmp_path / "job"
    hang = new_code_cell(
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)"
    )
    folder.mkdir()
    nbformat.write(new_notebook(cells=[hang], metadata={"kernelspec": KERNEL}), folder / "h.ipynb")
    spec = job_spec(lease("jupyter:v1 h.ipynb"), folder, tmp_path / "scratch", {})
    executor = LocalExecutor(grace=5)  # SIGTERM is answered well before SIGKILL

    async def main():
        running = asyncio.create_task(executor.run(spec, lambda line: None))
        while not (folder / "kernel.pid").exists() or not (folder / "kernel.pid").read_text():
            await asyncio.sleep(0.05)
        await executor.cancel(spec.identifier)
        return await asyncio.wait_for(running, HANG_GUARD)

    execution = asyncio.run(main())
    assert execution.cancelled
    kernel = int((folder / "kernel.pid").read_text())
    for _ in range(HANG_GUARD * 20):  # until it is gone (a zombie is gone)
        try:
            state = Path(f"/proc/{kernel}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            break
        if state in ("Z", "X"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the kernel {kernel} outlived its cancelled job")


def run_script(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """notebook_main.py as the local executor runs it: the runner's Python, HOME the folder."""
    from jupyter_ext.runner.notebooks import NOTEBOOK_MAIN

    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, str(NOTEBOOK_MAIN), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )


def test_the_whole_notebook_limit_stops_it_and_an_unreadable_notebook_says_why(tmp_path):
    cells = [new_code_cell("import time\ntime.sleep(30)"), new_code_cell("print('never')")]
    nbformat.write(new_notebook(cells=cells), tmp_path / "long.ipynb")
    done = run_script(tmp_path, "long.ipynb", "--html", "out/long.html", "--timeout", "1")
    last = done.stdout.splitlines()[-1]
    assert (done.returncode, last) == (
        1,
        "jupyter-ext: the notebook failed at cell 1 of 2: "
        "the notebook ran longer than its limit of 1 s",
    )
    assert "TimeoutError" in (tmp_path / "out" / "long.html").read_text()  # written all the same
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.ipynb", "out"]  # nothing else

    (tmp_path / "bad.ipynb").write_text("{ not json")
    done = run_script(tmp_path, "bad.ipynb", "--html", "out/bad.html")
    assert done.returncode == 2
    assert done.stdout.startswith("jupyter-ext: the notebook bad.ipynb cannot be read: ")
    done = run_script(tmp_path, "gone.ipynb", "--html", "out/gone.html")
    assert (done.returncode, done.stdout) == (
        2,
        "jupyter-ext: the notebook gone.ipynb is not in the repository\n",
    )
