"""The pages a reader of results meets: a released file's chain of jobs back to its commit,
a released Markdown file rendered in a sandbox, the same breadcrumbs on every page of a
workspace, and state badges from the one palette. Real job server, runner side over HTTP."""

from __future__ import annotations

import hashlib
import html
import re

import pytest

from .harness import leased_job

DATASET = b"patient_id,region\n1,north\n"
TABLE = b"region,count\nnorth,35\n"
REPORT = b"""# Rates <em>by</em> region

| Region | Count |
| --- | ---: |
| north | 35 |

<script>parent.document.title = "pwned"</script>
<img src=x onerror="parent.document.title = 'pwned'">
[click](javascript:parent.document.title='pwned')
![beacon](http://127.0.0.1:9/beacon.png)
"""
HOSTILE_RUN = 'python:v2 analysis/make_table.py "<script>alert(1)</script>"'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def root(world) -> str:
    return world.base_url.removesuffix("api/v1/")


def get(world, who: str, path: str):
    return world.client(who).get(root(world) + path.lstrip("/"), follow_redirects=False)


def finish(world, job: str, files: dict[str, bytes], inputs: list[dict], run: str) -> None:
    """The runner's report of a succeeded job: its outputs and its provenance."""
    runner = world.client(token=world.runner_token)
    outputs = [
        {"path": p, "size": len(d), "sha256": sha(d), "privacy_level": "moderately_sensitive"}
        for p, d in files.items()
    ]
    provenance = {
        "repo": "https://github.com/uni/sample",
        "commit": world.sha,
        "action": "a",
        "run": run,
        "executor": "docker",
        "image": "ghcr.io/opensafely-core/python:v2",
        "image_digest": "sha256:" + "ab" * 32,
        "inputs": inputs,
        "outputs": [{"path": p, "sha256": sha(d)} for p, d in files.items()],
    }
    report = {"outputs": outputs, "provenance": provenance}
    assert runner.post(f"runner/jobs/{job}/outputs", json=report).status_code == 204
    done = {"state": "succeeded", "exit_code": 0}
    assert runner.post(f"runner/jobs/{job}/status", json=done).status_code == 200


@pytest.fixture
def chain(world):
    return released_chain(world)


def released_chain(world, report: bytes = REPORT, report_path: str = "output/report.md"):
    """generate_dataset, then a job that read its output and wrote a table and a report, both
    released after two votes."""
    for name, roles in (
        ("checker1", ["output_checker"]),
        ("checker2", ["output_checker"]),
        ("publisher", ["output_publisher"]),
    ):
        world.user(name, roles)
    first = leased_job(world, "generate_dataset")
    finish(world, first, {"output/dataset.csv": DATASET}, [], "python:v2 generate.py")
    second = leased_job(world, "make_table")
    read = [{"path": "output/dataset.csv", "sha256": sha(DATASET), "job": first}]
    finish(world, second, {"output/table.csv": TABLE, report_path: report}, read, HOSTILE_RUN)
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": second, "path": p} for p in ("output/table.csv", report_path)],
    }
    body = {"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    release = world.client("dev").post("releases", json=body).json()
    files = {f["path"]: f["id"] for f in release["files"]}
    for checker in ("checker1", "checker2"):
        for fid in files.values():
            vote = f"releases/{release['id']}/files/{fid}/reviews"
            world.client(checker).post(vote, json={"decision": "approve"}).raise_for_status()
    world.client("publisher").post(f"releases/{release['id']}/publish").raise_for_status()
    runner = world.client(token=world.runner_token)
    for path, data in (("output/table.csv", TABLE), (report_path, report)):
        runner.put(f"runner/release-files/{files[path]}", content=data).raise_for_status()
    world.first, world.second, world.release, world.files = first, second, release["id"], files
    world.here = f"/uni/sample-study/sample/releases/{release['id']}"
    return world


def steps(text: str) -> list[str]:
    return re.findall(r'<li id="step-([^"]+)" class="jx-step"', text)


def test_a_released_files_chain_is_a_page_back_to_the_commit(chain):
    world = chain
    file_page = get(world, "dev", f"{world.here}/files/{world.files['output/table.csv']}")
    link = f"{world.here}/files/{world.files['output/table.csv']}/provenance"
    assert "/provenance" in file_page.text and 'id="provenance-link"' in file_page.text
    shown = get(world, "dev", link)
    assert shown.status_code == 200, shown.text
    text = shown.text
    assert steps(text) == [world.second, world.first]  # the making job, then its input's
    # its input, with the job that made it, linked to that step
    assert f'href="#step-{world.first}">generate_dataset, job <code>{world.first}</code>' in text
    assert sha(DATASET)[:12] in text and sha(TABLE)[:12] in text
    assert "<strong>· this file</strong>" in text
    assert f'href="https://github.com/uni/sample/commit/{world.sha}"' in text  # the code
    assert 'id="the-code"' in text and "ghcr.io/opensafely-core/python:v2" in text
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)" in text
    assert "api/v2/releases/file/" in text  # the same as JSON, for scripts
    audit = world.client("admin").get("audit", params={"limit": 100}).json()["items"]
    assert any(e["action"] == "release_file.provenance" for e in audit)


def test_a_jobs_chain_is_a_page_linked_from_the_job(chain):
    world = chain
    job_page = get(world, "dev", f"/jobs/{world.second}")
    assert f'jobs/{world.second}/provenance" id="provenance-link"' in job_page.text
    shown = get(world, "dev", f"/jobs/{world.second}/provenance")
    assert shown.status_code == 200 and steps(shown.text) == [world.second, world.first]
    assert "output/dataset.csv" in shown.text


def test_a_chain_names_to_each_reader_only_what_they_may_see(chain):
    world = chain
    link = f"{world.here}/files/{world.files['output/table.csv']}/provenance"
    collab = get(world, "collab", link)  # may read released files, not unreleased outputs
    assert collab.status_code == 200
    assert steps(collab.text) == [world.second, world.first]  # the jobs, as the API says
    assert "output/table.csv" in collab.text
    assert "output/dataset.csv" not in collab.text and sha(DATASET)[:12] not in collab.text
    assert get(world, "collab", f"/jobs/{world.second}/provenance").status_code == 403
    assert get(world, "outsider", link).status_code == 403
    assert get(world, "outsider", f"/jobs/{world.second}/provenance").status_code == 403
    other = link.replace(world.release, "01J0000000000000000000000")
    assert get(world, "dev", other).status_code == 404


def test_a_released_markdown_file_is_rendered_in_a_frame_that_runs_nothing(chain):
    world = chain
    shown = get(world, "collab", f"{world.here}/files/{world.files['output/report.md']}")
    assert shown.status_code == 200
    frame = re.search(r"<iframe ([^>]*)></iframe>", shown.text)
    assert frame, "the Markdown is not in a frame"
    attributes = frame.group(1)
    assert re.search(r"\bsandbox\b(?!=)", attributes), "the frame is not sandboxed, or allows"
    document = html.unescape(re.search(r'srcdoc="([^"]*)"', attributes).group(1))
    assert "<h1>Rates &lt;em&gt;by&lt;/em&gt; region</h1>" in document  # its tags are text
    assert "<table>" in document and '<td style="text-align:right">35</td>' in document
    assert "<script" not in document.lower().replace("&lt;script", "")
    assert "onerror=" not in document.replace("&lt;img src=x onerror=", "")
    assert 'href="javascript:' not in document
    assert "127.0.0.1:9" not in document.replace("](http://127.0.0.1:9", "")
    assert "[image: beacon]" in document
    assert "default-src 'none'" in document  # the frame loads nothing from anywhere
    outside = shown.text.replace(frame.group(0), "")
    assert "pwned" not in outside


def test_every_page_of_a_workspace_starts_with_the_same_breadcrumbs(chain):
    world = chain
    pages = [
        "/uni/sample-study/sample",
        "/uni/sample-study/sample/releases",
        world.here,
        f"{world.here}/files/{world.files['output/table.csv']}",
        f"{world.here}/files/{world.files['output/table.csv']}/provenance",
        f"/jobs/{world.second}",
        f"/jobs/{world.second}/provenance",
        "/uni/sample-study/sample/logs",
        "/uni/sample-study/sample/run-jobs",
    ]
    request = world.client("dev").get(f"jobs/{world.second}").json()["job_request"]
    pages.append(f"/job-requests/{request}")
    starts = {}
    for path in pages:
        shown = get(world, "dev", path)
        assert shown.status_code == 200, (path, shown.text[-500:])
        crumbs = re.search(r'<ol class="breadcrumb">(.*?)</ol>', shown.text, re.S)
        assert crumbs, path
        items = re.findall(r"<li[^>]*>(.*?)</li>", crumbs.group(1), re.S)
        starts[path] = tuple(re.sub(r"<[^>]+>", "", item).strip() for item in items[:3])
    assert set(starts.values()) == {("Uni", "Sample study", "sample")}, starts


def test_state_badges_take_their_colour_from_the_palette(chain):
    world = chain
    dev = world.client("dev")
    dev.post(
        "releases",
        json={
            "workspace": "sample",
            "backend": "tpp",
            "groups": {
                "g": {
                    "context": "c",
                    "disclosure_control": "d",
                    "files": [{"job": world.second, "path": "output/table.csv"}],
                }
            },
        },
    )
    releases = get(world, "dev", "/uni/sample-study/sample/releases").text
    assert 'class="jx-state jx-state-requested badge">requested</span>' in releases
    assert 'class="jx-state jx-state-released badge">released</span>' in releases
    assert "--jx-state-requested: #6f42c1;" in releases  # the palette is in the page
    assert "text-bg-" not in releases.split('id="jx-main"', 1)[1]  # no other colours
