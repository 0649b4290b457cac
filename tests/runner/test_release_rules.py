"""The backend's pre-release rules on the site, with a real runner and the real job server.

The runner reports its rules on every heartbeat (the job server shows them on the
backend), checks every moderately sensitive output when its job ends, and runs the
rules again before a published file leaves: a file they now refuse is refused to the
job server, saying why, and is not asked for again.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from jupyter_ext import schema
from jupyter_ext.jobserver import orm

from ..jobserver.test_jobserver_cli import SCRIPT, environment, jupyter_ext
from .test_local_runner import RunnerThread
from .test_uploads import TABLE, publish, request_release, run, served, world_at

BEAT = {"version": "t", "executor": "local", "capacity": 0}


def wait_refused(world, file_id: str, timeout: float = 30) -> str:
    """The reason the site gave for not sending the file, once it has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with world.factory() as session:
            if reason := session.get(orm.ReleaseFile, file_id).upload_refused:
                return reason
        time.sleep(0.2)
    raise AssertionError(f"the site never refused the release file {file_id}")


def listed_for_upload(world) -> list[str]:
    """The files a runner's heartbeat is asked to upload now."""
    reply = world.client(token=world.runner_token).post("runner/heartbeat", json=BEAT)
    return [u.file for u in schema.HeartbeatReply.model_validate(reply.json()).uploads]


def refusals(world) -> list[dict]:
    params = {"action": "release_file.upload_refused"}
    return world.client("admin").get("audit", params=params).json()["items"]


def reported_outputs(world, identifiers) -> dict[str, schema.Output]:
    """What the runner reported of the jobs' outputs, as the job server keeps it."""
    with world.factory() as session:
        rows = session.scalars(
            select(orm.JobOutput).join(orm.Job).where(orm.Job.identifier.in_(list(identifiers)))
        ).all()
        return {r.path: schema.Output.model_validate(r) for r in rows}


def test_outputs_carry_the_sites_check_and_the_backend_shows_its_rules(tmp_path):
    world = world_at(tmp_path)
    site = tmp_path / "site"
    rules = schema.ReleaseRules(
        max_csv_rows=1_000, forbidden_columns=["patient_id", "nhs_no"], small_number_threshold=4
    )
    try:
        assert world.client("dev").get("backends/tpp").json()["release_rules"] == (
            schema.ReleaseRules().model_dump(mode="json")
        )  # before its runner reports: the defaults
        with RunnerThread(world, site, release_rules=rules):
            jobs = run(world, ["make_table"])
        backend = world.client("dev").get("backends/tpp").json()
        assert schema.ReleaseRules.model_validate(backend["release_rules"]) == rules
        outputs = reported_outputs(world, jobs.values())
    finally:
        world.close()
    levels = {path: o.privacy_level.value for path, o in outputs.items()}
    assert levels["output/dataset.csv"] == "highly_sensitive"
    assert levels[TABLE] == "moderately_sensitive"
    assert {p for p, o in outputs.items() if o.check is not None} == {TABLE}  # only moderately
    check = outputs[TABLE].check
    on_site = site / "workspaces" / "sample" / TABLE
    assert check == schema.check_file(on_site, rules, TABLE)  # the runner's rules, not defaults
    assert check.path == TABLE
    assert check.columns == ["region", "population", "with_condition", "rate_per_1000"]
    assert check.rows == len(on_site.read_text().splitlines()) - 1 > 0


def test_an_upload_the_sites_rules_now_refuse_is_refused_saying_why(tmp_path):
    world = world_at(tmp_path)
    site = tmp_path / "site"
    try:
        with RunnerThread(world, site):  # the rules when the table was made and asked for
            jobs = run(world, ["make_table"])
            (file_id,) = request_release(world, [(jobs["make_table"], TABLE)]).values()
        rows = schema.check_file(site / "workspaces" / "sample" / TABLE, schema.ReleaseRules()).rows
        assert rows > 1
        tighter = schema.ReleaseRules(max_csv_rows=1)  # the site tightened its rules since
        with RunnerThread(world, site, release_rules=tighter):
            publish(world)
            reason = wait_refused(world, file_id)
            assert listed_for_upload(world) == []  # never asked for again
        assert reason == (
            f"the site's release rules refuse it: the table has {rows} rows, over the limit "
            "of 1: release an aggregate, not row-level data"
        )
        (event,) = refusals(world)
        assert (event["actor"], event["target_id"]) == ("runner:tpp", file_id)
        assert (event["before"], event["after"]) == (
            {"upload_refused": None},
            {"upload_refused": reason},
        )
        assert served(world, file_id).status_code == 409
        # not a byte came as released (its checkers got the review copy while it was asked)
        assert {p.name for p in (tmp_path / "releases").glob("*")} <= {"review"}
    finally:
        world.close()


def test_the_refusal_endpoint_is_for_released_files_not_uploaded_and_says_it_once(tmp_path):
    from ..jobserver.test_release_upload_resume import CONTENT, published_file

    world = world_at(tmp_path)
    try:
        runner = world.client(token=world.runner_token)
        file_id = published_file(world, CONTENT, "output/big.csv")
        assert listed_for_upload(world) == [file_id]
        refusal = f"release-files/{file_id}/refusal"
        first = {"reason": "it changed on the site since it was frozen: it has 3 bytes"}
        assert runner.post(f"runner/{refusal}", json=first).status_code == 204
        again = runner.post(f"runner/{refusal}", json={"reason": "another reason"})
        assert again.status_code == 204  # a repeat changes nothing
        with world.factory() as session:
            assert session.get(orm.ReleaseFile, file_id).upload_refused == first["reason"]
        assert len(refusals(world)) == 1 and listed_for_upload(world) == []
        late = runner.put(f"runner/release-files/{file_id}", content=CONTENT)
        assert late.status_code == 409 and "refused to send" in late.json()["detail"]
        shown = world.client("dev").get("releases?workspace=sample").json()["items"][0]
        assert shown["files"][0]["upload_refused"] == first["reason"]
        missing = runner.post("runner/release-files/01NOPE/refusal", json=first)
        assert missing.status_code == 404 and "has no release file" in missing.json()["detail"]
        assert runner.post(f"runner/{refusal}", json={}).status_code == 422  # a reason is due
        assert world.client("admin").post(f"runner/{refusal}", json=first).status_code == 401
    finally:
        world.close()


def test_a_refusal_of_an_uploaded_or_unpublished_file_is_a_conflict(tmp_path):
    world = world_at(tmp_path)
    try:
        runner = world.client(token=world.runner_token)
        with RunnerThread(world, tmp_path / "site"):
            jobs = run(world, ["make_table"])
            (file_id,) = request_release(world, [(jobs["make_table"], TABLE)]).values()
            body = {"reason": "the site's release rules refuse it"}
            early = runner.post(f"runner/release-files/{file_id}/refusal", json=body)
            assert early.status_code == 409 and "not published" in early.json()["detail"]
            publish(world)
            deadline = time.monotonic() + 30
            while served(world, file_id).status_code != 200:
                assert time.monotonic() < deadline, "the runner never uploaded the file"
                time.sleep(0.2)
        late = runner.post(f"runner/release-files/{file_id}/refusal", json=body)
        assert late.status_code == 409 and "uploaded already" in late.json()["detail"]
        assert refusals(world) == []
    finally:
        world.close()


def runner_configured(tmp_path, rules: str):
    """`jupyter ext runner` started with `c.RunnerApp.release_rules = <rules>` in its config."""
    (tmp_path / "runner.token").write_text("jxr_any")
    (tmp_path / "jupyter_ext_config.py").write_text(f"c.RunnerApp.release_rules = {rules}\n")
    return jupyter_ext(
        "runner",
        "--server",
        "http://127.0.0.1:9",
        "--token-file",
        str(tmp_path / "runner.token"),
        "--workdir",
        str(tmp_path / "site"),
        cwd=tmp_path,
        env=environment(),
    )


def test_a_runner_with_a_misspelt_rule_stops_naming_it(tmp_path):
    done = runner_configured(tmp_path, "{'max_rows': 100, 'small_numbers': 'warn'}")
    assert done.returncode == 1, done.stderr
    assert "'max_rows' is not a rule (the rules: allowed_types, max_size, max_csv_rows," in (
        done.stderr
    )
    assert (
        "error: c.RunnerApp.release_rules: 'small_numbers': Input should be 'refuse' or 'flag'"
        in done.stderr
    )
    assert "Traceback" not in done.stderr and SCRIPT.exists()


def test_a_runner_with_a_misspelt_rounding_rule_stops_naming_it(tmp_path):
    done = runner_configured(tmp_path, "{'rounding': {'multiple': 5, 'verdict': 'warn'}}")
    assert done.returncode == 1, done.stderr
    assert (
        "'rounding.multiple' is not a rounding rule (the rounding rules: multiple_of, midpoint, "
        "suppression_marker, verdict)" in done.stderr
    )
    assert "'rounding.verdict': Input should be 'refuse' or 'flag'" in done.stderr
    assert "Traceback" not in done.stderr
