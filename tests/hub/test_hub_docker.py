"""The product with workspace servers in Docker containers (`c.JupyterExtHub.spawner = "docker"`).

The same people and steps as test_hub_local.py, with each server in a container
of jupyter-ext/singleuser:bookworm (built here from Debian on first use, kept
after) on the host's network. Inside the running container: the checkout at
/home/jovyan/work on its branch, owned by and writable for uid 1000 (the server's
user), `git fetch` from the (fake, private) GitHub with the user's token through
the hub's askpass helper, the job server reachable at 127.0.0.1, the server
listening on 127.0.0.1 only, the CPU and memory limits; the token in no file of
the checkout; the container gone once the server stops.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from jupyter_ext.cli.hubstack import hub_config_dir
from jupyter_ext.runner.images import ImageBuildError

from ..parts import PartMissing
from ..parts.docker import docker_client
from .harness import REPO, HubWorld

sys.path.insert(0, str(hub_config_dir()))  # hubext, as jupyterhub_config.py imports it
from hubext.image import UID, ensure_image
from hubext.spawners import CONTAINER_ASKPASS, WORK

CONTAINER = "jupyter-ext-alice-study"  # DockerSpawner.name_template, as configure_docker sets it


@pytest.fixture(scope="session")
def singleuser_image():
    """The workspace servers' image, built from Debian on first use (about 2 min), kept after."""
    try:
        client = docker_client()
        return client, ensure_image(client, log=lambda _: None)
    except (PartMissing, ImageBuildError) as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def world(tmp_path_factory, singleuser_image):
    limits = {"Spawner.cpu_limit": 1.0, "Spawner.mem_limit": "1G"}
    world = HubWorld(tmp_path_factory.mktemp("hub"), spawner="docker", settings=limits)
    yield world
    world.close()


def run_in(container, *command: str, user: str = "") -> str:
    code, output = container.exec_run(list(command), user=user)
    text = output.decode(errors="replace").strip()
    assert code == 0, f"{command}: {text}"
    return text


LISTENING = """
import sys
port = int(sys.argv[1])
for line in open("/proc/net/tcp").read().splitlines()[1:]:
    local, state = line.split()[1], line.split()[3]
    address, _, hexport = local.partition(":")
    if int(hexport, 16) == port and state == "0A":
        print(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
"""


def test_a_member_starts_the_workspace_in_a_container_and_runs_an_action(
    world, singleuser_image, tmp_path
):
    client, image_id = singleuser_image
    alice = world.browser("alice")
    home = alice.sign_in()
    assert home.url.path == "/hub/home" and 'data-server-name="study"' in home.text
    lab = alice.start("study")
    assert lab.status_code == 200 and lab.url.path == "/user/alice/study/lab", lab.text[-500:]
    container = client.containers.get(CONTAINER)
    assert container.image.id == image_id

    # the container: the host's network, an init, the limits, the server on 127.0.0.1 only
    host_config = container.attrs["HostConfig"]
    assert host_config["NetworkMode"] == "host" and host_config["Init"] is True
    assert host_config["Memory"] == 1 << 30
    assert host_config["CpuQuota"] == host_config["CpuPeriod"] == 100_000
    env = dict(line.split("=", 1) for line in container.attrs["Config"]["Env"])
    service = env["JUPYTERHUB_SERVICE_URL"]
    assert service.startswith("http://127.0.0.1:")
    port = service.removeprefix("http://127.0.0.1:").split("/")[0]
    assert run_in(container, "python", "-c", LISTENING, port).split() == ["127.0.0.1"]

    # the checkout, mounted where the image's user works, theirs, on its branch
    checkout = world.folder / "workspaces" / "alice" / "study"
    assert run_in(container, "id", "-u") == str(UID)
    assert run_in(container, "test", "-d", f"{WORK}/.git") == ""
    assert run_in(container, "git", "-C", WORK, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    run_in(container, "touch", f"{WORK}/written-in-the-container")
    assert (checkout / "written-in-the-container").stat().st_uid == UID
    assert all(p.stat().st_uid == UID for p in [checkout, *checkout.rglob("*")])

    # git fetch in the container: the private repository, the token through the hub's askpass
    assert env["GIT_ASKPASS"] == CONTAINER_ASKPASS
    assert "askpass" not in run_in(container, "git", "-C", WORK, "config", "--list")
    pushed = world.github.commit(REPO, {"NEWS.md": "a commit made after the clone\n"})
    seen = len(world.github.requests)
    run_in(container, "git", "-C", WORK, "fetch", "--quiet", "origin")
    assert run_in(container, "git", "-C", WORK, "rev-parse", "origin/main") == pushed
    fetches = [r for r in world.github.requests[seen:] if "git-upload-pack" in r.path]
    answered = [r for r in fetches if r.auth != "none"]  # git asks after the first 401
    assert answered and all(r.auth == "ok" and r.login == "alice" for r in answered)
    assert any(r.method == "POST" and r.status == 200 for r in answered)
    token = world.gh_tokens["alice"].encode()
    files = [p for p in checkout.rglob("*") if p.is_file()]
    assert files and not [p for p in files if token in p.read_bytes()]

    # the job server, at 127.0.0.1 from inside the container (the host's network)
    probe = "import os, urllib.request; urllib.request.urlopen(os.environ['U'] + 'api/v1/')"
    code, output = container.exec_run(
        ["python", "-c", probe], environment={"U": env["JUPYTER_EXT_JOBSERVER_URL"]}
    )
    assert code == 0 or b"HTTP Error 4" in output, output  # it answered (401 without a token)

    # an action through the job server and a runner, as with local servers
    _, job = world.run_action(alice, tmp_path / "site")
    assert job["state"] == "succeeded", job

    # stopped: the container is gone, the checkout (with the work done in it) stays
    alice.stop("study")
    deadline = time.monotonic() + 30
    # sparse: a container removed between the listing and its inspection is not an error
    while client.containers.list(all=True, sparse=True, filters={"name": CONTAINER}):
        assert time.monotonic() < deadline, "the container outlived its server"
        time.sleep(0.25)
    assert (checkout / "written-in-the-container").exists()
    git = ["git", "-c", "safe.directory=*", "-C", str(checkout)]  # uid 1000's, we are root
    head = subprocess.run(
        [*git, "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert head == "main"
    assert all(r.secret_in_url is False for r in world.github.requests)


def test_someone_outside_the_project_gets_no_container(world, singleuser_image):
    client, _ = singleuser_image
    world.outsider_refused()
    assert not client.containers.list(all=True, filters={"name": "jupyter-ext-bob-"})
