"""Provenance end to end: the real job server and runner (local executor) record what made each
output, a released file's chain leads back to its commit, and `jupyter ext runner verify`
runs a job again on the site from its recorded inputs."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from jupyter_ext.client import AsyncClient, Client
from jupyter_ext.client.errors import Forbidden, NotFound
from jupyter_ext.runner.agent import Agent
from jupyter_ext.runner.executors import LocalExecutor
from jupyter_ext.runner.provenance import dataset_digest, describe_interpreter, read_record
from jupyter_ext.schema import Lease

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from ..jobserver.test_jobserver_cli import environment, jupyter_ext
from .test_datasets_site import granting, register_on_site
from .test_local_runner import RunnerThread, wait_for

PROJECT = {
    "project.yaml": """version: "5"
actions:
  extract:
    run: python:v2 extract.py
    outputs: {highly_sensitive: {rows: out/rows.csv}}
  summarise:
    run: python:v2 summarise.py
    needs: [extract]
    outputs: {moderately_sensitive: {table: out/table.csv}}
  noisy:
    run: python:v2 noisy.py
    needs: [extract]
    outputs: {moderately_sensitive: {noise: out/noise.txt, stable: out/stable.csv}}
""",
    "extract.py": (
        "import os, pathlib\n"
        "rows = pathlib.Path(os.environ['JUPYTER_EXT_DATASETS'], 'cohort', 'rows.csv')\n"
        "pathlib.Path('out').mkdir(exist_ok=True)\n"
        "pathlib.Path('out/rows.csv').write_text(rows.read_text())\n"
    ),
    "summarise.py": (
        "import collections, csv, pathlib\n"
        "rows = list(csv.DictReader(open('out/rows.csv')))\n"
        "counts = collections.Counter(row['group'] for row in rows)\n"
        "lines = ['group,count'] + [f'{g},{n}' for g, n in sorted(counts.items())]\n"
        "pathlib.Path('out/table.csv').write_text('\\n'.join(lines) + '\\n')\n"
    ),
    "noisy.py": (
        "import os, pathlib\n"
        "pathlib.Path('out/noise.txt').write_text(os.urandom(16).hex())\n"
        "pathlib.Path('out/stable.csv').write_text(pathlib.Path('out/rows.csv').read_text())\n"
    ),
}
ROWS = "id,group\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(40))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """A workspace whose second and third actions need the first, run by a real runner; the
    summary table released through two reviews and a publisher."""
    tmp = tmp_path_factory.mktemp("provenance")
    source = tmp / "chain-src"
    source.mkdir()
    for name, text in PROJECT.items():
        (source / name).write_text(text)
    data = tmp / "data"
    data.mkdir()
    (data / "rows.csv").write_text(ROWS)
    world = build_world(JobServer(f"sqlite:///{tmp / 'js.sqlite'}", tmp), tmp)
    commit = make_repo(tmp / "repos" / "chain", source)
    world.workspace("sample-study", "chain", tmp / "repos" / "chain")
    for name, roles in {
        "checker1": ["output_checker"],
        "checker2": ["output_checker"],
        "publisher": ["output_publisher"],
    }.items():
        world.user(name, roles)
    clients = {name: Client(world.base_url, token=world.tokens[name]) for name in world.tokens}
    cohort = register_on_site(world, tmp / "site", "cohort", data)
    runner = RunnerThread(world, tmp / "site", data_roots=[str(tmp)])
    try:
        with granting(runner, {"extract": [cohort]}):
            request = clients["dev"].job_requests.create(
                "chain", backend="tpp", actions=["summarise", "noisy"]
            )
            done = wait_for(world, request.id)
            assert [j["state"] for j in done["jobs"]] == ["succeeded"] * 3, done["jobs"]
            jobs = {j["action"]: j["identifier"] for j in done["jobs"]}
            release = clients["dev"].releases.create(
                "chain",
                backend="tpp",
                groups={
                    "t": {
                        "context": "counts by group",
                        "disclosure_control": "none under 10",
                        "files": [{"job": jobs["summarise"], "path": "out/table.csv"}],
                    }
                },
            )
            (file,) = release.files
            unreleased_to_collab = _refused(lambda: clients["collab"].releases.provenance(file))
            for checker in ("checker1", "checker2"):
                clients[checker].releases.review(release, file, "approve")
            clients["publisher"].releases.publish(release)
        yield SimpleNamespace(
            world=world,
            clients=clients,
            jobs=jobs,
            file=file,
            commit=commit,
            data=data,
            site=tmp / "site",
            tmp=tmp,
            unreleased_to_collab=unreleased_to_collab,
            cohort=cohort,
        )
    finally:
        for client in clients.values():
            client.close()
        world.close()


def _refused(call) -> bool:
    try:
        call()
    except Forbidden:
        return True
    return False


def test_each_job_records_its_commit_environment_inputs_datasets_and_outputs(ran):
    dev = ran.clients["dev"]
    extract = dev.jobs.provenance(ran.jobs["extract"])
    summary = dev.jobs.provenance(ran.jobs["summarise"])
    for provenance, action in ((extract, "extract"), (summary, "summarise")):
        assert (provenance.commit, provenance.action) == (ran.commit, action)
        assert provenance.executor == "local" and provenance.interpreter == sys.executable
        assert provenance.packages.get("pydantic"), "the interpreter's packages"
        assert provenance.started_at <= provenance.completed_at
        assert provenance.runner_version
    rows = sha(ROWS.encode())
    # the dataset version the job was leased, by its registered hash; only the job leased it
    assert [(d.name, d.sha256, d.version) for d in extract.datasets] == [
        ("cohort", ran.cohort.sha256, 1)
    ]
    assert summary.datasets == []
    assert extract.inputs == [] and [(o.path, o.sha256) for o in extract.outputs] == [
        ("out/rows.csv", rows)
    ]
    (given,) = summary.inputs
    assert (given.path, given.sha256, given.job) == ("out/rows.csv", rows, ran.jobs["extract"])
    (table,) = summary.outputs
    kept = ran.site / "store" / table.sha256[:2] / table.sha256
    assert sha(kept.read_bytes()) == table.sha256  # the bytes, by hash, on the site
    job, made, hidden = read_record(ran.site / "records", "chain", "summarise")
    assert (job, made, hidden) == (ran.jobs["summarise"], {"out/table.csv": table.sha256}, set())
    assert read_record(ran.site / "records", "chain", "extract")[2] == {"out/rows.csv"}
    # the workspace folder's copy takes no room of its own: a hard link to the stored bytes
    copy = ran.site / "workspaces" / "chain" / "out" / "table.csv"
    assert copy.stat().st_ino == kept.stat().st_ino
    assert not (ran.site / "workspaces" / "chain" / ".jupyter-ext").exists()


def test_a_released_files_chain_leads_back_to_its_commit(ran):
    collab = ran.clients["collab"]
    assert ran.unreleased_to_collab  # before release only those who may see unreleased outputs
    chain = collab.releases.provenance(ran.file)
    assert (chain.file.path, chain.file.job) == ("out/table.csv", ran.jobs["summarise"])
    assert [s.job for s in chain.steps] == [ran.jobs["summarise"], ran.jobs["extract"]]
    assert [s.action for s in chain.steps] == ["summarise", "extract"]
    # the jobs back to the commit; the unreleased files each read, only to those who may see
    # unreleased outputs (tests/security/test_unreleased_metadata.py)
    assert chain.steps[0].provenance.inputs == []
    assert chain.steps[-1].provenance.commit == ran.commit
    assert chain.file.sha256 == chain.steps[0].provenance.outputs[0].sha256

    async def from_async():
        async with AsyncClient(ran.world.base_url, token=ran.world.tokens["dev"]) as client:
            return await client.releases.provenance(ran.file.id)

    full = asyncio.run(from_async())
    assert [s.job for s in full.steps] == [s.job for s in chain.steps]
    assert full.steps[0].provenance.inputs[0].job == full.steps[1].job
    with pytest.raises(Forbidden):
        ran.clients["outsider"].releases.provenance(ran.file)
    with pytest.raises(Forbidden):
        ran.clients["outsider"].jobs.provenance(ran.jobs["summarise"])
    audit = ran.world.client("admin").get("audit", params={"target_type": "release_file"})
    views = [e for e in audit.json()["items"] if e["action"] == "release_file.provenance"]
    assert {e["actor"] for e in views} >= {"collab", "dev"}


def test_a_job_without_provenance_says_why(ran):
    waiting = ran.clients["dev"].job_requests.create(  # no runner now: it stays pending
        "sample", backend="tpp", actions=["generate_dataset"]
    )
    with pytest.raises(NotFound) as missing:
        ran.clients["dev"].jobs.provenance(waiting.jobs[0].identifier)
    assert "no recorded provenance" in str(missing.value)


def verify(ran, job: str, workdir: Path | None = None):
    """`jupyter ext runner verify` as a site admin runs it: the runner's config file beside."""
    cwd = ran.tmp / "admin"
    cwd.mkdir(exist_ok=True)
    (cwd / "jupyter_ext_config.py").write_text(f"c.RunnerApp.data_roots = [{str(ran.tmp)!r}]\n")
    args = ("runner", "verify", job, "--workdir", str(workdir or ran.site))
    return jupyter_ext(*args, cwd=cwd, env=environment(), timeout=120)


def test_verify_says_a_deterministic_job_is_byte_identical(ran):
    result = verify(ran, ran.jobs["summarise"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "byte-identical" in result.stdout and "note:" not in result.stdout


def test_verify_says_which_output_of_a_random_job_differs(ran):
    result = verify(ran, ran.jobs["noisy"])
    assert result.returncode == 1, result.stdout + result.stderr
    recorded = {
        o.path: o.sha256 for o in ran.clients["dev"].jobs.provenance(ran.jobs["noisy"]).outputs
    }
    assert "out/noise.txt" in result.stdout and recorded["out/noise.txt"] in result.stdout
    assert "out/stable.csv" not in result.stdout and "1 of 2 outputs differ" in result.stdout


def test_verify_refuses_when_an_inputs_bytes_changed_in_the_store(ran):
    site = ran.tmp / "tampered-site"
    shutil.copytree(ran.site, site, symlinks=True)
    rows = sha(ROWS.encode())
    stored = site / "store" / rows[:2] / rows
    stored.chmod(0o644)
    stored.write_text("id,group\n1,a\n")
    result = verify(ran, ran.jobs["summarise"], site)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "out/rows.csv" in result.stderr and "changed" in result.stderr
    stored.unlink()
    gone = verify(ran, ran.jobs["summarise"], site)
    assert gone.returncode == 2 and "no longer in the site's store" in gone.stderr
    unknown = verify(ran, "nosuchjob", site)
    assert unknown.returncode == 2 and "holds no provenance of job nosuchjob" in unknown.stderr


def test_a_record_in_the_workspace_folder_brings_nothing(tmp_path):
    """Records a job could write are not trusted: the runner reads which job made a need's
    outputs from the site's own records only, so a `.jupyter-ext/<action>.json` in the
    workspace folder (the old place, which a declared output could overwrite) brings nothing."""
    space = tmp_path / "site" / "workspaces" / "w"
    (space / "out").mkdir(parents=True)
    (space / "out" / "rows.csv").write_text(ROWS)
    (space / ".jupyter-ext").mkdir()
    forged = {"job": "j1", "outputs": {"../../../../elsewhere": sha(ROWS.encode())}}
    (space / ".jupyter-ext" / "extract.json").write_text(json.dumps(forged))
    now = dt.datetime.now(dt.UTC)
    lease = Lease(
        identifier="j2",
        job_request="r",
        workspace="w",
        action="summarise",
        repo="x",
        sha="0" * 40,
        run="python:v2 s.py",
        needs=["extract"],
        wait_for=[],
        outputs={},
        lease_expires_at=now,
    )
    agent = Agent(None, LocalExecutor(), tmp_path / "site")
    (tmp_path / "job").mkdir()
    assert agent._bring_needs(lease, tmp_path / "job") == ([], [])
    assert list((tmp_path / "job").iterdir()) == []
    assert read_record(tmp_path / "site" / "records", "w", "extract") == (None, {}, set())


def test_an_interpreters_packages_are_asked_once_until_its_package_folders_change(tmp_path):
    search = "/usr/local/bin:/usr/bin:/bin"
    found, packages = describe_interpreter(sys.executable, search, tmp_path)
    assert found == sys.executable and "pydantic" in packages
    (entry,) = (tmp_path / "interpreters").iterdir()
    cached = json.loads(entry.read_text())
    entry.write_text(json.dumps({**cached, "packages": {"marker": "1"}}))
    assert describe_interpreter(sys.executable, search, tmp_path)[1] == {"marker": "1"}
    folder = next(iter(cached["dirs"]))
    entry.write_text(
        json.dumps(
            {**cached, "packages": {"marker": "1"}, "dirs": {**cached["dirs"], folder: [0, 0]}}
        )
    )
    assert describe_interpreter(sys.executable, search, tmp_path)[1] == packages


def test_a_datasets_files_are_hashed_again_only_when_they_change(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "b.csv").write_text("b")
    (data / "sub" / "a.csv").write_text("a")
    first = dataset_digest("cohort", data, tmp_path / "cache")
    lines = f"b.csv\0{sha(b'b')}\nsub/a.csv\0{sha(b'a')}\n"
    assert first.sha256 == sha(lines.encode())
    (entry,) = (tmp_path / "cache" / "datasets").iterdir()
    known = json.loads(entry.read_text())
    known["b.csv"][2] = "f" * 64  # a cached hash is trusted while size and mtime stay
    entry.write_text(json.dumps(known))
    assert dataset_digest("cohort", data, tmp_path / "cache").sha256 != first.sha256
    (data / "b.csv").write_text("bb")
    changed = dataset_digest("cohort", data, tmp_path / "cache")
    assert changed.sha256 == sha(f"b.csv\0{sha(b'bb')}\nsub/a.csv\0{sha(b'a')}\n".encode())


def test_verify_checks_the_dataset_version_a_job_read_against_its_manifest(ran):
    extract = ran.jobs["extract"]
    result = verify(ran, extract)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = ran.data / "rows.csv"
    try:
        rows.write_text(ROWS.replace("0,a", "0,b", 1))  # same size, other bytes
        changed = verify(ran, extract)
        assert changed.returncode == 2, changed.stdout + changed.stderr
        assert "the dataset cohort (version 1) does not match its manifest" in changed.stderr
        assert "rows.csv has changed since it was registered" in changed.stderr
    finally:
        rows.write_text(ROWS)
