"""The Python client against the real job server (uvicorn, SQLite) and a real runner."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from itertools import islice

import httpx
import pytest

import jupyter_ext.client as client_package
from jupyter_ext.client import (
    AsyncClient,
    ChecksumMismatch,
    Client,
    ClientError,
    Conflict,
    Forbidden,
    JobServerError,
    JobServerUnreachable,
    NotFound,
    Unauthorized,
    ValidationError,
    WaitTimeout,
)
from jupyter_ext.client.events import LogFollower, SSEDecoder

from ..jobserver.harness import make_repo
from ..runner.test_local_runner import RunnerThread, faults_world
from .conftest import root

CONTENT = b"region,count\nnorth,35\n"
SHA = hashlib.sha256(CONTENT).hexdigest()


def test_lists_go_across_pages_with_filters_and_get(world, connect, tmp_path):
    world.user("dev2")
    member = {"username": "dev2", "roles": ["project_developer"]}
    world.client("admin").post("projects/sample-study/members", json=member).raise_for_status()
    dev, dev2 = connect("dev"), connect("dev2")
    made = [
        dev.job_requests.create("sample", actions=[action], backend="tpp")
        for action in ("generate_dataset", "make_plot", "make_table", "report")
    ]
    made[0].cancel()  # so that it may be asked for again
    made.append(dev2.job_requests.create("sample", actions=["generate_dataset"], backend="tpp"))
    assert world.client("dev").get("job-requests", params={"limit": 2}).json()["next"]

    listed = list(dev.job_requests.list(page_size=2))  # three pages, newest first
    assert [r.id for r in listed] == [r.id for r in reversed(made)]
    jobs = list(dev.jobs.list(page_size=3))
    assert len(jobs) == len({j.identifier for j in jobs}) == sum(len(r.jobs) for r in made)
    assert [r.id for r in dev.job_requests.list(user="dev2")] == [made[-1].id]
    assert {j.identifier for j in dev.jobs.list(job_request=made[1].id, page_size=1)} == {
        j.identifier for j in made[1].jobs
    }
    assert {j.action for j in dev.jobs.list(q="plot")} == {"make_plot"}
    assert [j.job_request for j in dev.jobs.list(status="cancelled")] == [made[0].id]
    assert list(dev.jobs.list(status="succeeded", backend="tpp")) == []
    assert list(connect("outsider").job_requests.list()) == []

    make_repo(tmp_path / "repos" / "second")
    world.workspace("sample-study", "second", tmp_path / "repos" / "second")
    assert [w.name for w in dev.workspaces.list(page_size=1)] == ["sample", "second"]
    for n in range(3):
        world.project("uni", f"Study {n}")
    assert [p.slug for p in connect("admin").projects.list(org="uni", page_size=2)] == [
        "sample-study",
        "study-0",
        "study-1",
        "study-2",
    ]
    assert [p.slug for p in dev.projects.list()] == ["sample-study"]

    assert dev.projects.get("sample-study").name == "Sample study"
    assert dev.workspaces.get("sample").repo.endswith("repos/sample")
    got = dev.job_requests.get(made[1].id)
    assert [j.action for j in got.jobs] == ["derive_measures", "make_plot"]
    assert got.project_yaml and "make_plot" in repr(got)
    job = dev.jobs.get(got.jobs[0].identifier)
    assert (job.action, job.job_request) == ("derive_measures", got.id)
    (backend,) = dev.backends.list()
    assert (backend.slug, backend.online, backend.last_seen_at) == ("tpp", False, None)
    assert repr(dev.backends.get("tpp")) == "Backend tpp (Tpp): offline, last seen never"
    actions = dev.actions.list("sample", sha=world.sha)
    assert actions.sha == world.sha and actions["make_table"].needs == ["derive_measures"]
    assert [a.name for a in actions][:2] == ["generate_dataset", "derive_measures"]
    assert list(dev.releases.list(workspace="sample")) == []

    # live events: from the start of what was stored, then resumed after an id
    first, second = islice(dev.events.follow(workspace="sample", last_event_id=0), 2)
    assert (first.kind, first.data["id"]) == ("job_request", made[0].id)
    assert (second.kind, second.data["identifier"]) == ("job", made[0].jobs[0].identifier)
    (third,) = islice(dev.events.follow(workspace="sample", last_event_id=second.id), 1)
    assert third.id > second.id and third.data["id"] == made[1].id


def test_create_and_wait_with_progress_on_and_off(world, connect, tmp_path, capsys):
    dev = connect("dev")
    request = dev.job_requests.create("sample", actions=["generate_dataset"], backend="tpp")
    with pytest.raises(WaitTimeout, match=request.id) as waited:  # no runner yet
        request.wait(timeout=0.5, progress=False)
    assert isinstance(waited.value, TimeoutError)
    capsys.readouterr()

    with RunnerThread(world, tmp_path / "site"):
        assert request.wait() is request  # updated in place
        assert request.state == "succeeded" and request.jobs[0].state == "succeeded"
        bar = capsys.readouterr().err
        assert "generate_dataset" in bar and "1/1" in bar and "1 succeeded" in bar

        second = dev.job_requests.create("sample", actions=["make_table"], backend="tpp")
        done = dev.job_requests.wait(second.id, progress=False)
        assert capsys.readouterr().err == ""
        backend = dev.backends.get("tpp")
    assert done.state == "succeeded"
    assert [(j.action, j.state) for j in done.jobs] == [
        ("derive_measures", "succeeded"),
        ("make_table", "succeeded"),
    ]
    assert backend.online and backend.last_seen_at and "online" in repr(backend)
    outputs = done.jobs[-1].outputs()
    assert {o.path: o.privacy_level for o in outputs}["output/table_by_region.csv"] == (
        "moderately_sensitive"
    )


def test_logs_follow_live_each_line_once_in_order(tmp_path):
    world = faults_world(tmp_path)  # `steady` prints a line every 0.1 s, 40 in all
    dev = Client(root(world), token=world.tokens["dev"])
    late: list = []
    try:
        with RunnerThread(world, tmp_path / "site"):
            request = dev.job_requests.create("faults", actions=["steady"], backend="tpp")
            job = request.jobs[0]
            seen, state_at_first = [], None
            for line in dev.jobs.logs(job, follow=True):  # from before the job starts
                if not seen:
                    state_at_first = dev.jobs.get(job.identifier).state
                if line.text == "line 5":  # a second follower joins part-way through
                    other = Client(root(world), token=world.tokens["dev"])
                    follow = other.jobs.logs(job.identifier, follow=True)
                    joiner = threading.Thread(target=late.extend, args=(follow,))
                    joiner.start()
                seen.append(line)
            joiner.join(60)
            other.close()
            finished = dev.jobs.logs(job, follow=True)  # a finished job: what it said, then stop
            after = list(finished)
        stored = world.client("dev").get(f"jobs/{job.identifier}/logs").json()
    finally:
        dev.close()
        world.close()
    assert state_at_first == "running"  # lines arrived while the job ran
    expected = [(n, f"line {n}") for n in range(40)]
    assert [(line["seq"], line["text"]) for line in stored] == expected
    assert [(line.seq, str(line)) for line in seen] == expected
    assert [(line.seq, line.text) for line in late] == expected
    assert [(line.seq, line.text) for line in after] == expected


def test_a_follower_fills_gaps_from_the_logs_and_never_repeats():
    follower = LogFollower("abc")
    assert [line.seq for line in follower.take(_lines(0, 1, 2))] == [0, 1, 2]

    def event(*seqs, job="abc"):
        return client_package.LiveEvent(1, "log", {"job": job, "lines": [[s, "x"] for s in seqs]})

    lines, missed = follower.on_event(event(1, 2, 3))
    assert ([line.seq for line in lines], missed) == ([3], False)  # 1 and 2 were given
    assert follower.on_event(event(4, job="other")) == ([], False)
    lines, missed = follower.on_event(event(6, 7))
    assert (lines, missed) == ([], True)  # 4 and 5 are missing: read /logs
    assert [line.seq for line in follower.take(_lines(3, 4, 5, 6, 7))] == [4, 5, 6, 7]
    follower.on_event(client_package.LiveEvent(2, "job", {"identifier": "abc", "state": "failed"}))
    assert follower.finished


def _lines(*seqs):
    return [client_package.LogLine(seq=s, text="x") for s in seqs]


def test_server_sent_events_are_decoded_as_the_standard_says():
    decoder = SSEDecoder()
    stream = [
        ": ping",
        "",
        "id: 7",
        "event: job",
        'data: {"a":',
        "data: 1}",
        "",
        "event: reconnect",
        "data: falling behind",
        "",
    ]
    events = [e for e in map(decoder.feed, stream) if e is not None]
    assert [(e.id, e.kind, e.data) for e in events] == [
        (7, "job", {"a": 1}),
        (7, "reconnect", "falling behind"),
    ]


def test_errors_are_typed_and_carry_the_servers_sentence(world, connect):
    dev = connect("dev")
    with pytest.raises(NotFound) as missing:
        dev.jobs.get("nope")
    assert missing.value.status == 404
    assert missing.value.detail == "there is no job 'nope', or you may not see it"
    assert str(missing.value) == "404 Not Found: there is no job 'nope', or you may not see it"

    with pytest.raises(Forbidden) as refused:
        connect("outsider").job_requests.create("sample", actions=["make_plot"], backend="tpp")
    assert refused.value.detail.startswith("outsider may not")

    wrong = "jxa_" + "x" * 40
    with pytest.raises(Unauthorized) as unknown, Client(root(world), token=wrong) as stranger:
        stranger.me()
    assert unknown.value.detail == "the API token is not valid: create a new one"
    assert wrong not in str(unknown.value) and wrong not in repr(stranger)

    with pytest.raises(ValidationError) as invalid:
        dev.job_requests.create("sample", actions=["make_plot"], backend="tpp", sha="abc")
    assert invalid.value.status == 422 and invalid.value.errors[0]["field"] == "sha"
    with pytest.raises(ValidationError, match="no_such_action"):
        dev.job_requests.create("sample", actions=["no_such_action"], backend="tpp")

    request = dev.job_requests.create("sample", actions=["make_plot"], backend="tpp")
    assert request.cancel() is request and request.state == "cancelled"
    with pytest.raises(Conflict) as again:
        request.cancel()
    assert again.value.detail == "nothing to cancel: every job of this request has finished"
    assert isinstance(again.value, JobServerError) and isinstance(again.value, ClientError)

    with pytest.raises(ClientError, match="JUPYTER_EXT_WORKSPACE"):
        dev.actions.list()  # no default workspace outside a workspace server
    port = world.stop()  # nobody listens: a clear error once the retries are spent
    try:
        with pytest.raises(JobServerUnreachable, match="GET me"):
            connect("dev", retries=1, backoff=0.01).me()
    finally:
        world.start(port)


class LoseAnswers(httpx.BaseTransport):
    """Passes requests to the job server, but the first answer to a path ending in `lose` is
    lost on the way back (the connection drops after the server has acted)."""

    def __init__(self, lose: str) -> None:
        self.real, self.lose, self.seen = httpx.HTTPTransport(), lose, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.real.handle_request(request)
        if request.url.path.endswith(self.lose):
            self.seen.append(request.headers.get("Idempotency-Key"))
            if len(self.seen) == 1:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset", request=request)
        return response

    def close(self) -> None:
        self.real.close()


def test_retries_while_the_job_server_restarts_and_never_make_two(world, connect):
    dev = connect("dev", retries=8, backoff=0.1)
    assert dev.me().username == "dev"  # a kept-alive connection, which the restart breaks

    for attempt in ("get", "create"):
        port = world.stop()
        restart = threading.Timer(1.0, world.start, args=(port,))
        restart.start()
        try:
            if attempt == "get":
                assert dev.projects.get("sample-study").slug == "sample-study"
            else:
                request = dev.job_requests.create("sample", actions=["make_plot"], backend="tpp")
        finally:
            restart.join()
    assert [r.id for r in dev.job_requests.list()] == [request.id]

    # the server made the job request but its answer was lost: the retry carries the same key
    lossy = LoseAnswers("/job-requests")
    with Client(root(world), token=world.tokens["dev"], transport=lossy, backoff=0.01) as flaky:
        made = flaky.job_requests.create("sample", actions=["make_table"], backend="tpp")
        assert len(lossy.seen) == 2 and lossy.seen[0] == lossy.seen[1] is not None
        assert [r.id for r in dev.job_requests.list()] == [made.id, request.id]

    # a POST without a key is not sent again: it may have been done (and it was)
    lossy = LoseAnswers("/cancel")
    flaky = Client(root(world), token=world.tokens["dev"], transport=lossy, backoff=0.01)
    with flaky, pytest.raises(JobServerUnreachable, match="ReadError"):
        flaky.job_requests.cancel(made.id)
    assert len(lossy.seen) == 1 and dev.job_requests.get(made.id).state == "cancelled"


def released_file(world, connect):
    """A published release of one file that the backend has uploaded: (release, its file)."""
    for user, roles in (
        ("checker1", ["output_checker"]),
        ("checker2", ["output_checker"]),
        ("publisher", ["output_publisher"]),
    ):
        world.user(user, roles)
    runner = world.client(token=world.runner_token)
    connect("dev").job_requests.create("sample", actions=["generate_dataset"], backend="tpp")
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    job = lease["identifier"]
    output = {
        "path": "output/table.csv",
        "size": len(CONTENT),
        "sha256": SHA,
        "privacy_level": "moderately_sensitive",
    }
    runner.post(f"runner/jobs/{job}/outputs", json={"outputs": [output]})
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})

    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": "output/table.csv"}],
    }
    release = connect("dev").releases.create("sample", backend="tpp", groups={"tables": group})
    (file,) = release.files
    for checker in ("checker1", "checker2"):
        connect(checker).releases.review(release, file, "approve", comment="fine")
    assert connect("publisher").releases.publish(release.id).state == "released"
    heartbeat = {"version": "t", "executor": "local", "capacity": 1}
    (upload,) = runner.post("runner/heartbeat", json=heartbeat).json()["uploads"]
    assert runner.put(f"runner/release-files/{upload['file']}", content=CONTENT).status_code == 204
    return release.refresh(), file


def test_released_files_download_with_their_sha256_checked(world, connect, tmp_path):
    release, file = released_file(world, connect)
    dev = connect("dev")
    assert release.state == "released" and release.files[0].uploaded
    assert [r.id for r in dev.releases.list(state="released")] == [release.id]

    one = dev.releases.download(file, tmp_path / "one.csv")
    assert one == tmp_path / "one.csv" and one.read_bytes() == CONTENT
    assert dev.releases.download(file, tmp_path).name == "table.csv"  # into a folder
    (whole,) = release.download(tmp_path / "everything")
    assert whole == tmp_path / "everything" / "output" / "table.csv"
    assert whole.read_bytes() == CONTENT

    stored = tmp_path / "released" / SHA[:2] / SHA
    stored.write_bytes(CONTENT.replace(b"35", b"36"))  # changed on the job server's disk
    target = tmp_path / "tampered" / "table.csv"
    with pytest.raises(ChecksumMismatch, match="nothing was kept"):
        dev.releases.download(file, target)
    assert list(target.parent.iterdir()) == []  # neither the file nor a partial one


def test_the_async_client_does_the_same(world, connect, tmp_path):
    _, file = released_file(world, connect)

    def run(steps):  # a loop of its own each time: the runner's loop must not run inside it
        async def main():
            async with AsyncClient(root(world), token=world.tokens["dev"]) as dev:
                return await steps(dev)

        return asyncio.run(main())

    async def submit(dev):
        request = await dev.job_requests.create(
            "sample", actions=["make_table"], backend="tpp", force_run_dependencies=True
        )  # released_file's job made no dataset: make it again
        with pytest.raises(WaitTimeout):
            await request.wait(timeout=0.3, progress=False)  # no runner yet
        return request

    async def follow(dev):
        lines = [line async for line in dev.jobs.logs(request.jobs[-1].identifier, follow=True)]
        return lines, await dev.job_requests.wait(request.id, progress=False)

    async def afterwards(dev):
        stored = [line async for line in dev.jobs.logs(request.jobs[-1])]
        with pytest.raises(NotFound, match="there is no job 'nope'"):
            await dev.jobs.get("nope")
        pages = [r.id async for r in dev.job_requests.list(page_size=1)]
        me = (await dev.me()).username
        return stored, pages, me, await dev.releases.download(file, tmp_path / "async.csv")

    request = run(submit)
    with RunnerThread(world, tmp_path / "site"):
        lines, done = run(follow)
    stored, pages, me, path = run(afterwards)
    assert len(pages) == 2 and pages[0] == request.id  # two pages, newest first
    assert done.state == "succeeded" and len(done.jobs) == 3
    assert lines and [(x.seq, x.text) for x in lines] == [(x.seq, x.text) for x in stored]
    assert [x.seq for x in lines] == list(range(len(lines)))
    assert me == "dev" and path.read_bytes() == CONTENT


def test_configured_from_a_workspace_servers_environment(world, monkeypatch):
    monkeypatch.setenv("JUPYTER_EXT_JOBSERVER_URL", root(world))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", world.tokens["dev"])
    monkeypatch.setenv("JUPYTER_EXT_WORKSPACE", "sample")
    monkeypatch.delenv("JUPYTER_EXT_TOKEN", raising=False)
    with Client() as client:
        assert (client.url, client.workspace) == (root(world), "sample")
        assert client.me().username == "dev"
        assert client.workspaces.get().name == "sample"
        assert "make_table" in [a.name for a in client.actions.list()]
        request = client.job_requests.create(actions=["make_plot"], backend="tpp")
        assert request.workspace == "sample"
        assert world.tokens["dev"] not in repr(client) + repr(client.config)

    monkeypatch.setenv("JUPYTER_EXT_TOKEN", world.tokens["coord"])  # a personal token wins
    with Client() as client:
        assert client.me().username == "coord"

    async def asynchronously():
        async with AsyncClient() as client:
            return (await client.me()).username, client.workspace

    assert asyncio.run(asynchronously()) == ("coord", "sample")

    given = Client(world.base_url, token=world.tokens["collab"], workspace="other")
    with given:  # arguments win, and the API's own address is understood as the root
        assert (given.url, given.workspace) == (root(world), "other")
        assert given.me().username == "collab"

    monkeypatch.delenv("JUPYTER_EXT_JOBSERVER_URL")
    with pytest.raises(ClientError, match="JUPYTER_EXT_JOBSERVER_URL"):
        Client()


def test_the_public_names_are_pinned():
    assert sorted(client_package.__all__) == [
        "AccessRequest",
        "Actions",
        "AsyncClient",
        "Backend",
        "BadRequest",
        "ChecksumMismatch",
        "Client",
        "ClientError",
        "Collected",
        "Conflict",
        "Dataset",
        "Forbidden",
        "Job",
        "JobRequest",
        "JobServerError",
        "JobServerUnreachable",
        "LiveEvent",
        "LogLine",
        "NotFound",
        "Release",
        "RunSite",
        "Schedule",
        "ScheduleFiring",
        "ServerError",
        "StudyRun",
        "Unauthorized",
        "ValidationError",
        "WaitTimeout",
    ]
    for name in client_package.__all__:
        assert getattr(client_package, name).__module__.startswith("jupyter_ext.client")
