"""Datasets on the site: manifests computed where the data lives, `jupyter ext runner dataset`
against the real job server, data roots and links that leave them, and jobs that read exactly
the dataset versions they were leased (checked against their manifests first)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path

import pytest

from jupyter_ext import schema
from jupyter_ext.runner.datasets import Registry, build_manifest, table_summary

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from ..jobserver.mocking import MockJobServerApp
from ..jobserver.test_jobserver_cli import environment, jupyter_ext
from .test_local_runner import RunnerThread, wait_for

ROWS = "id,age,weight,smoker,seen,name,notes\n" + "".join(
    f"{i},{20 + i},{60 + i / 4},{'true' if i % 3 else 'false'},2024-01-{i + 1:02d},Zebedee{i},\n"
    for i in range(12)
)
PROJECT = """version: "5"
actions:
  read:
    run: python:v2 probe.py read
    outputs: {moderately_sensitive: {seen: out/read.json}}
  peek:
    run: python:v2 probe.py peek
    outputs: {moderately_sensitive: {seen: out/peek.json}}
"""
# what a job finds: the variable, the datasets under it, the stable container paths, and the
# datasets' folders on the host, tried directly (HOST is filled in with their paths)
PROBE = """import json, os, pathlib, sys
HOST = {}
def opens(path):
    try:
        open(path).read()
        return True
    except OSError:
        return False
root = os.environ.get("JUPYTER_EXT_DATASETS")
cohort = pathlib.Path(root or "/nowhere", "cohort", "rows.csv")
seen = {
    "variable": root is not None,
    "given": sorted(p.name for p in pathlib.Path(root).iterdir()) if root else [],
    "rows": len(cohort.read_text().splitlines()) if cohort.exists() else None,
    "container": {n: os.path.exists("/datasets/" + n) for n in ("cohort", "other")},
    "host": {n: opens(p) for n, p in HOST.items()},
}
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out", sys.argv[1] + ".json").write_text(json.dumps(seen))
"""


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- manifests ---------------------------------------------------------------------------


def test_a_manifest_describes_files_and_tables_without_a_single_value(tmp_path):
    data = tmp_path / "cohort"
    (data / "raw").mkdir(parents=True)
    (data / "patients.csv").write_text(ROWS)
    blob = bytes(range(256)) * 40
    (data / "raw" / "scan.bin").write_bytes(blob)
    (data / "visits.tsv").write_text(
        'when\tcount\tnote\n2024-02-01\t3\t"a\nb"\n\t\t\n2024-02-03\t\t\n'
    )
    with gzip.open(data / "codes.csv.gz", "wt") as f:
        f.write("code,share\nA1,0.5\nB2,-1e3\n")
    (data / "empty.csv").write_text("")
    manifest = build_manifest(data, [str(tmp_path)], tmp_path / "cache")
    files = {f.path: f for f in manifest.files}
    assert list(files) == [
        "codes.csv.gz",
        "empty.csv",
        "patients.csv",
        "raw/scan.bin",
        "visits.tsv",
    ]
    patients = files["patients.csv"]
    assert (patients.size, patients.sha256, patients.rows) == (len(ROWS), sha(ROWS.encode()), 12)
    assert [(c.name, c.type) for c in patients.columns] == [
        ("id", "integer"),
        ("age", "integer"),
        ("weight", "number"),
        ("smoker", "boolean"),
        ("seen", "date"),
        ("name", "text"),
        ("notes", "empty"),
    ]
    scan = files["raw/scan.bin"]
    assert (scan.size, scan.sha256, scan.rows, scan.columns) == (len(blob), sha(blob), None, None)
    visits = files["visits.tsv"]  # a quoted newline is inside a row; blank cells are missing
    assert visits.rows == 3
    assert [(c.name, c.type) for c in visits.columns] == [
        ("when", "date"),
        ("count", "integer"),
        ("note", "text"),
    ]
    assert [(c.name, c.type) for c in files["codes.csv.gz"].columns] == [
        ("code", "text"),
        ("share", "number"),
    ]
    assert (files["empty.csv"].rows, files["empty.csv"].columns) == (0, [])
    assert manifest.sha256 == schema.manifest_digest(manifest.files)
    text = manifest.model_dump_json()
    assert "Zebedee" not in text and "2024-01-03" not in text and "A1" not in text  # no value


def test_a_column_is_of_the_narrowest_type_every_value_fits(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("a,b,c,d\n1,1,yes,2024-02-30\n2.5,x,no,2024-02-28\n")
    rows, columns = table_summary(table)
    assert rows == 2
    assert [c.type for c in columns] == ["number", "text", "boolean", "text"]  # no 30 February


# -- the command line against the real job server --------------------------------------------


@pytest.fixture
def site(tmp_path):
    """The job server with a backend, and a site folder with its data root, token and config."""
    world = build_world(
        JobServer(
            f"sqlite:///{tmp_path / 'js.sqlite'}",
            tmp_path,
            MockJobServerApp(release_dir=str(tmp_path / "releases")),
        ),
        tmp_path,
    )
    root = tmp_path / "data"
    (root / "cohort").mkdir(parents=True)
    (root / "cohort" / "patients.csv").write_text(ROWS)
    (root / "cohort" / "notes.bin").write_bytes(b"\x00\x01 private bytes")
    dummy = tmp_path / "dummy"
    dummy.mkdir()
    (dummy / "patients.csv").write_text(ROWS.replace("Zebedee", "Made-up"))
    admin = tmp_path / "admin"
    admin.mkdir()
    (admin / "runner.token").write_text(world.runner_token)
    (admin / "jupyter_ext_config.py").write_text(
        f"c.RunnerApp.server = {world.base_url.removesuffix('/api/v1/')!r}\n"
        f"c.RunnerApp.token_file = 'runner.token'\n"
        f"c.RunnerApp.workdir = {str(tmp_path / 'site')!r}\n"
        f"c.RunnerApp.data_roots = [{str(root)!r}]\n"
    )
    world.root, world.dummy, world.admin, world.site = root, dummy, admin, tmp_path / "site"
    yield world
    world.close()


def dataset_cli(site, *args: str):
    return jupyter_ext("runner", "dataset", *args, cwd=site.admin, env=environment(), timeout=120)


def test_add_list_update_and_retire_a_dataset_from_the_site(site):
    added = dataset_cli(
        site,
        "add",
        "cohort",
        str(site.root / "cohort"),
        "--description",
        "Made-up patients",
        "--owner",
        "uni",
        "--dummy",
        str(site.dummy),
    )
    assert added.returncode == 0, added.stderr
    assert "cohort version 1: 2 files" in added.stdout, added.stdout
    assert "1 table (12 rows)" in added.stdout and "dummy data: 1 file sent" in added.stdout
    (listed,) = site.client("collab").get("datasets", params={"backend": "tpp"}).json()
    assert (listed["description"], listed["owner"], listed["status"]) == (
        "Made-up patients",
        "uni",
        "active",
    )
    (v1,) = listed["versions"]
    patients = next(f for f in v1["manifest"]["files"] if f["path"] == "patients.csv")
    assert patients["rows"] == 12 and patients["columns"][4] == {"name": "seen", "type": "date"}
    assert "Zebedee" not in json.dumps(listed)  # the manifest carries no value
    assert [f["path"] for f in v1["dummy"]["files"]] == ["patients.csv"]
    entry = Registry(site.site).get("cohort")
    assert entry["versions"]["1"]["path"] == str(site.root / "cohort")
    assert entry["versions"]["1"]["sha256"] == v1["manifest"]["sha256"]

    # the dummy data's bytes left the site; anyone signed in may download them
    download = site.client("collab").get("datasets/tpp/cohort/dummy/patients.csv")
    assert download.status_code == 200, download.text
    assert download.content == (site.dummy / "patients.csv").read_bytes()
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    assert site.client().get("datasets/tpp/cohort/dummy/patients.csv").status_code == 401
    missing = site.client("collab").get("datasets/tpp/cohort/dummy/other.csv")
    assert missing.status_code == 404 and "has no file 'other.csv'" in missing.json()["detail"]

    again = dataset_cli(
        site, "add", "cohort", str(site.root / "cohort"), "--description", "x", "--owner", "uni"
    )
    assert again.returncode == 2 and "registered on this site already" in again.stderr

    listing = dataset_cli(site, "list")
    assert listing.returncode == 0, listing.stderr
    assert "cohort (active), owned by uni: version 1 of 1, 2 files" in listing.stdout

    same = dataset_cli(site, "update", "cohort")
    assert same.returncode == 0 and "stays at version 1" in same.stdout, same.stderr
    with (site.root / "cohort" / "patients.csv").open("a") as f:
        f.write("99,40,70,false,2024-03-01,Zebedee99,\n")
    updated = dataset_cli(site, "update", "cohort", "--description", "Made-up patients, more")
    assert updated.returncode == 0, updated.stderr
    assert "cohort version 2" in updated.stdout and "version 1 and older stay" in updated.stdout
    (listed,) = site.client("collab").get("datasets").json()
    assert [v["version"] for v in listed["versions"]] == [2, 1]  # the old one kept
    assert listed["description"] == "Made-up patients, more"
    rows = {
        v["version"]: f["rows"]
        for v in listed["versions"]
        for f in v["manifest"]["files"]
        if f["path"] == "patients.csv"
    }
    assert rows == {1: 12, 2: 13}
    assert set(Registry(site.site).get("cohort")["versions"]) == {"1", "2"}
    # the dummy data went with version 2 too (its bytes are stored once, by hash)
    assert (
        site.client("dev")
        .get("datasets/tpp/cohort/dummy/patients.csv", params={"version": 1})
        .status_code
        == 200
    )

    retired = dataset_cli(site, "retire", "cohort")
    assert retired.returncode == 0 and "Retired cohort" in retired.stdout, retired.stderr
    assert site.client("collab").get("datasets").json()[0]["status"] == "retired"
    assert Registry(site.site).get("cohort")["status"] == "retired"
    late = dataset_cli(site, "update", "cohort")
    assert late.returncode == 2 and "retired" in late.stderr


def test_a_dataset_outside_the_data_roots_or_linking_out_is_refused_and_nothing_is_sent(site):
    outside = site.admin.parent / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text("a\n1\n")
    result = dataset_cli(site, "add", "leak", str(outside), "--description", "d", "--owner", "uni")
    assert result.returncode == 2
    assert f"{outside} is outside the data roots ({site.root})" in result.stderr
    assert "nothing was registered" in result.stderr

    linked = site.root / "linked"
    linked.mkdir()
    (linked / "fine.csv").write_text("a\n1\n")
    (linked / "sub").mkdir()
    (linked / "sub" / "secret.csv").symlink_to(outside / "secret.csv")
    result = dataset_cli(site, "add", "linked", str(linked), "--description", "d", "--owner", "uni")
    assert result.returncode == 2
    assert "sub/secret.csv is a symbolic link pointing out of the data roots" in result.stderr

    (site.root / "way-out").symlink_to(outside, target_is_directory=True)  # the path itself
    result = dataset_cli(
        site, "add", "x", str(site.root / "way-out"), "--description", "d", "--owner", "uni"
    )
    assert result.returncode == 2 and "is outside the data roots" in result.stderr
    assert not (site.site / "cache").exists()  # no file of them was even hashed

    dummy_is_data = dataset_cli(
        site,
        "add",
        "cohort",
        str(site.root / "cohort"),
        "--description",
        "d",
        "--owner",
        "uni",
        "--dummy",
        str(site.root / "cohort" / "patients.csv"),
    )
    assert dummy_is_data.returncode == 2 and "dummy data leaves the site" in dummy_is_data.stderr
    copy = site.admin.parent / "copy"
    copy.mkdir()
    (copy / "p.csv").write_text(ROWS)  # the real bytes under another name
    same_bytes = dataset_cli(
        site,
        "add",
        "cohort",
        str(site.root / "cohort"),
        "--description",
        "d",
        "--owner",
        "uni",
        "--dummy",
        str(copy),
    )
    assert same_bytes.returncode == 2
    assert "p.csv has the same bytes as the dataset's patients.csv" in same_bytes.stderr

    assert site.client("collab").get("datasets").json() == []  # nothing reached the job server
    assert not (site.site / "datasets.json").exists()


def test_dummy_bytes_that_do_not_match_the_manifest_are_refused(site):
    manifest = build_manifest(site.root / "cohort")
    dummy = build_manifest(site.dummy)
    runner = site.client(token=site.runner_token)
    body = {
        "name": "cohort",
        "description": "d",
        "owner": "uni",
        "manifest": manifest.model_dump(mode="json"),
        "dummy": dummy.model_dump(mode="json"),
    }
    assert runner.post("runner/datasets", json=body).status_code == 200
    url = "runner/datasets/cohort/versions/1/dummy/patients.csv"
    wrong = runner.put(url, content=b"id\n1\n")
    assert wrong.status_code == 422 and "do not match the dummy data's manifest" in wrong.text
    assert site.client("dev").get("datasets/tpp/cohort/dummy/patients.csv").status_code == 409
    assert site.client("dev").put(url, content=b"x").status_code == 401  # runners only
    assert (
        runner.put("runner/datasets/cohort/versions/1/dummy/nope.csv", content=b"x").status_code
        == 404
    )
    good = runner.put(url, content=(site.dummy / "patients.csv").read_bytes())
    assert good.status_code == 204, good.text
    assert runner.put(url, content=b"").status_code == 204  # held already: nothing read
    served = site.client("dev").get("datasets/tpp/cohort/dummy/patients.csv")
    assert served.content == (site.dummy / "patients.csv").read_bytes()


# -- jobs read exactly what they were leased ---------------------------------------------------


def register_on_site(world, site: Path, name: str, folder: Path) -> schema.LeasedDataset:
    """A dataset registered as `dataset add` does: the manifest to the real job server, the
    answer into the site's registry. Returns the lease entry of its version."""
    manifest = build_manifest(folder)
    body = {
        "name": name,
        "description": f"{name} for tests",
        "owner": "uni",
        "manifest": manifest.model_dump(mode="json"),
    }
    answer = world.client(token=world.runner_token).post("runner/datasets", json=body)
    answer.raise_for_status()
    dataset = schema.Dataset.model_validate(answer.json())
    version = Registry(site).record(name, dataset, folder, None)
    return schema.LeasedDataset(name=name, version=version, sha256=manifest.sha256)


def granting(runner: RunnerThread, grants: dict[str, list[schema.LeasedDataset]]) -> RunnerThread:
    """The runner's leases carry `grants` (action -> dataset versions): what the job server
    puts in a lease from the project's approvals, given here so that this test is of the site's
    part alone (the approvals' own tests are the job server's)."""
    poll = runner.api.poll

    async def poll_with_grants(capacity: int, wait: float):
        return [
            lease.model_copy(update={"datasets": grants.get(lease.action, [])})
            for lease in await poll(capacity, wait)
        ]

    runner.api.poll = poll_with_grants
    return runner


@pytest.fixture
def leased(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    roots = tmp_path / "data"
    for name in ("cohort", "other"):
        (roots / name).mkdir(parents=True)
        (roots / name / "rows.csv").write_text(ROWS)
    source = tmp_path / "src"
    source.mkdir()
    (source / "project.yaml").write_text(PROJECT)
    host = {name: str(roots / name / "rows.csv") for name in ("cohort", "other")}
    (source / "probe.py").write_text(PROBE.replace("HOST = {}", f"HOST = {host!r}"))
    make_repo(tmp_path / "repos" / "reads", source)
    world.workspace("sample-study", "reads", tmp_path / "repos" / "reads")
    world.site, world.roots = tmp_path / "site", roots
    world.cohort = register_on_site(world, world.site, "cohort", roots / "cohort")
    world.other = register_on_site(world, world.site, "other", roots / "other")
    yield world
    world.close()


def run_actions(world, actions: list[str], executor=None) -> dict:
    """The actions run by a real runner whose leases give `read` the cohort and `peek` none."""
    grants = {"read": [world.cohort], "peek": []}
    runner = RunnerThread(world, world.site, executor=executor, data_roots=[str(world.roots)])
    with granting(runner, grants):
        request = (
            world.client("dev")
            .post("job-requests", json={"workspace": "reads", "backend": "tpp", "actions": actions})
            .json()
        )
        return wait_for(world, request["id"], timeout=180)


def seen_by(world, action: str) -> dict:
    return json.loads((world.site / "workspaces" / "reads" / "out" / f"{action}.json").read_text())


def succeeded(done: dict) -> dict[str, str]:
    states = {j["action"]: (j["state"], j["status_message"]) for j in done["jobs"]}
    assert all(state == "succeeded" for state, _ in states.values()), states
    return {j["action"]: j["identifier"] for j in done["jobs"]}


def test_a_job_reads_its_leased_dataset_and_one_without_has_none(leased):
    jobs = succeeded(run_actions(leased, ["read", "peek"]))
    read, peek = seen_by(leased, "read"), seen_by(leased, "peek")
    assert (read["variable"], read["given"], read["rows"]) == (True, ["cohort"], 13)
    assert (peek["variable"], peek["given"], peek["rows"]) == (False, [], None)
    # the local executor does not isolate: the host's folders are open to any job (it says so)
    assert read["host"] == peek["host"] == {"cohort": True, "other": True}
    backend = leased.client("dev").get("backends/tpp").json()
    assert "no isolation" in backend["executor"]
    provenance = leased.client("dev").get(f"jobs/{jobs['read']}/provenance").json()
    assert provenance["datasets"] == [
        {"name": "cohort", "sha256": leased.cohort.sha256, "version": 1}
    ]
    assert leased.client("dev").get(f"jobs/{jobs['peek']}/provenance").json()["datasets"] == []


def test_a_dataset_changed_since_its_manifest_fails_the_job_naming_the_file(leased):
    with (leased.roots / "cohort" / "rows.csv").open("a") as f:
        f.write("99,1,1,true,2024-01-01,x,\n")
    (job,) = run_actions(leased, ["read"])["jobs"]
    assert job["state"] == "failed"
    assert "the dataset cohort (version 1) does not match its manifest" in job["status_message"]
    assert "rows.csv has" in job["status_message"]
    (leased.roots / "cohort" / "extra.csv").write_text("a\n")
    (leased.roots / "cohort" / "rows.csv").write_text(ROWS)  # back as registered
    done = run_actions(leased, ["read"])
    assert "extra.csv is not in the registered manifest" in done["jobs"][0]["status_message"]
    (leased.roots / "cohort" / "extra.csv").unlink()
    (leased.roots / "cohort" / "rows.csv").write_text(ROWS.replace("Zebedee1,", "Zebedee7,"))
    done = run_actions(leased, ["read"])  # same size, other bytes: the sha256 tells
    assert "rows.csv has changed since it was registered" in done["jobs"][0]["status_message"]


def test_a_lease_of_a_version_the_site_does_not_hold_fails_saying_so(leased):
    leased.cohort = leased.cohort.model_copy(update={"version": 7})
    done = run_actions(leased, ["read"])
    assert done["jobs"][0]["state"] == "failed"
    assert "cohort (version 7) is not registered on this site" in done["jobs"][0]["status_message"]


@pytest.mark.usefixtures("docker_images")
def test_in_docker_a_job_sees_only_its_leased_datasets_even_by_their_host_path(leased):
    from jupyter_ext.runner.executors.docker import DockerExecutor

    succeeded(run_actions(leased, ["read", "peek"], executor=DockerExecutor()))
    read, peek = seen_by(leased, "read"), seen_by(leased, "peek")
    assert (read["variable"], read["given"], read["rows"]) == (True, ["cohort"], 13)
    assert read["container"] == {"cohort": True, "other": False}  # only the leased one
    assert (peek["variable"], peek["given"], peek["rows"]) == (False, [], None)
    assert peek["container"] == {"cohort": False, "other": False}
    assert read["host"] == peek["host"] == {"cohort": False, "other": False}


def test_unchanged_files_are_not_hashed_again_before_each_job(tmp_path):
    from jupyter_ext.runner.datasets import manifest_problem

    data = tmp_path / "data" / "cohort"
    data.mkdir(parents=True)
    (data / "rows.csv").write_text(ROWS)
    cache = tmp_path / "cache"
    manifest = build_manifest(data, [str(tmp_path / "data")], cache)
    assert manifest_problem(data, manifest, [str(tmp_path / "data")], cache) is None
    (entry,) = (cache / "dataset-files").iterdir()
    known = json.loads(entry.read_text())
    known["rows.csv"][2] = "f" * 64  # a cached hash is trusted while size and mtime stay
    entry.write_text(json.dumps(known))
    trusted = manifest_problem(data, manifest, None, cache)
    assert trusted is not None and "rows.csv has changed" in trusted
    stamp = (data / "rows.csv").stat().st_mtime_ns
    os.utime(data / "rows.csv", ns=(stamp + 10**9, stamp + 10**9))  # a new mtime: hashed again

    assert manifest_problem(data, manifest, None, cache) is None


@pytest.mark.parametrize("executor", ["local", "docker"])
def test_registered_asked_for_approved_and_read_end_to_end(site, tmp_path, executor, request):
    """A data owner registers a dataset from the site; a project asks for it, a Governance
    Reviewer approves, and its action reads it through the real job server and runner; a
    job of another project cannot."""
    if executor == "docker":
        request.getfixturevalue("docker_images")
        from jupyter_ext.runner.executors.docker import DockerExecutor

        engine = DockerExecutor()
    else:
        engine = None
    source = tmp_path / "src"
    source.mkdir()
    (source / "project.yaml").write_text(PROJECT)
    (source / "datasets.yaml").write_text("version: 1\nactions:\n  read: [cohort]\n")
    host = {"cohort": str(site.root / "cohort" / "patients.csv")}
    (source / "probe.py").write_text(
        PROBE.replace("HOST = {}", f"HOST = {host!r}").replace("rows.csv", "patients.csv")
    )
    repo = tmp_path / "repos" / "reads"
    make_repo(repo, source)
    site.workspace("sample-study", "reads", repo)
    site.project("uni", "Other study", {"dev": ["project_developer"]})
    site.workspace("other-study", "other-reads", repo)

    added = dataset_cli(
        site,
        "add",
        "cohort",
        str(site.root / "cohort"),
        "--description",
        "Made-up patients",
        "--owner",
        "uni",
        "--dummy",
        str(site.dummy),
    )
    assert added.returncode == 0, added.stderr
    site.user("governor", ["governance_reviewer"])
    dev = site.client("dev")
    submit = {"workspace": "reads", "backend": "tpp", "actions": ["read", "peek"]}
    refused = dev.post("job-requests", json=submit)
    assert refused.status_code == 422 and "may not use the dataset cohort" in refused.text
    ask = {
        "project": "sample-study",
        "backend": "tpp",
        "dataset": "cohort",
        "purpose": "counting patients",
    }
    access = dev.post("dataset-access", json=ask).json()
    approved = site.client("governor").post(f"dataset-access/{access['id']}/approve", json={})
    assert approved.status_code == 200, approved.text

    other = dev.post("job-requests", json={**submit, "workspace": "other-reads"})
    assert other.status_code == 422 and "other-study may not use the dataset cohort" in other.text
    created = dev.post("job-requests", json=submit)
    assert created.status_code == 201, created.text
    roots = [str(site.root)]
    with RunnerThread(site, site.site, executor=engine, data_roots=roots):
        done = wait_for(site, created.json()["id"], timeout=180)
        alone = dev.post(
            "job-requests", json={**submit, "workspace": "other-reads", "actions": ["peek"]}
        ).json()
        alone_done = wait_for(site, alone["id"], timeout=180)
    jobs = succeeded(done)
    succeeded(alone_done)
    read = json.loads((site.site / "workspaces" / "reads" / "out" / "read.json").read_text())
    assert (read["variable"], read["given"], read["rows"]) == (True, ["cohort"], 13)
    peek = json.loads((site.site / "workspaces" / "other-reads" / "out" / "peek.json").read_text())
    assert (peek["variable"], peek["given"], peek["rows"]) == (False, [], None)
    if executor == "docker":  # isolated: not even by its path on the host
        assert read["container"] == {"cohort": True, "other": False}
        assert peek["host"] == {"cohort": False} and peek["container"]["cohort"] is False
    (digest,) = dev.get(f"jobs/{jobs['read']}/provenance").json()["datasets"]
    (version,) = dev.get("datasets/tpp/cohort").json()["versions"]
    assert digest == {"name": "cohort", "version": 1, "sha256": version["manifest"]["sha256"]}
