"""Run actions in Docker containers, isolated: the executor for secure sites.

Each job is a container of its action's image (built locally, see
`jupyter_ext.runner.images`) with no network, a read-only root file system,
every capability dropped, no new privileges, a user that owns nothing but the
job's folder (mounted at /workspace), CPU, memory and process limits (the CPUs and
memory its action asked for, else the executor's defaults: `Executor.applied`), and the
dataset versions it was leased mounted read-only under /datasets/<name>: no other
dataset is in the container, whatever path the job tries. Containers carry the job's
identifier as a label, so a runner that restarts finds them and follows on.

The docker SDK is synchronous: its calls run in threads, and the log stream's
lines cross to the event loop as they come.

What a job used comes from the container's stats, sampled every `usage_every` seconds while
it runs (an ended container's stats are empty): its CPU up to the last sample, and the peak
of its memory cgroup (cgroup v1 keeps it as `max_usage`; on cgroup v2 the largest sample
stands for it). The engine refreshes a container's stats about once a second and a sample
took about 0.7 s on a loaded machine, so the CPU of a job's last second or two may be
missed: a lower bound. See `runner/usage.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

from traitlets import Dict, Float, Integer, Unicode

from ..images import JOB_USER, RECIPES, WORKSPACE
from ..lines import LineCutter
from ..resources import limits_words
from ..usage import DockerSamples
from .base import LABEL, Execution, Executor, Job, hand_over, rest_of_log
from .threads import hand_to_loop, in_thread

DATASETS = "/datasets"


class DockerExecutor(Executor):
    name = "docker"
    isolates = True

    images = Dict(
        help="""The local image of each `run:` image: {"python": "jupyter-ext/python:bookworm"}.
        Build them with `jupyter ext runner build-images`."""
    ).tag(config=True)
    docker_url = Unicode("", help="The Docker engine's address ('' = the environment's).").tag(
        config=True
    )
    pids_limit = Integer(512, help="Processes a job may have at once.").tag(config=True)
    tmp_mb = Integer(1024, help="Size of the job's /tmp (in memory), in MB.").tag(config=True)
    grace = Float(0.5, help="Seconds between SIGTERM and SIGKILL when stopping a job.").tag(
        config=True
    )
    usage_every = Float(
        1.0,
        help="""Seconds between two samples of a running container's stats, for what the job
        used (its CPU is counted up to the last sample). Example: c.DockerExecutor.usage_every
        = 5""",
    ).tag(config=True)

    def _default_images(self) -> dict[str, str]:
        return {name: recipe.tag for name, recipe in RECIPES.items()}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        import docker

        self.docker = (
            docker.DockerClient(base_url=self.docker_url)
            if self.docker_url
            else (docker.from_env())
        )

    async def _start(self, job: Job) -> Execution | None:
        import docker.errors

        spec = job.spec
        image = (self.images or self._default_images()).get(spec.image)
        if image is None:
            return Execution(
                None,
                f"the image {spec.image!r} is not known on this backend: "
                "add it to DockerExecutor.images",
            )
        user = self._own_workdir(spec.workdir)
        env = {k: v for k, v in spec.env.items() if k not in ("HOME", "PATH")}
        env["HOME"] = "/tmp"
        if spec.datasets:
            env["JUPYTER_EXT_DATASETS"] = DATASETS
        volumes = {str(spec.workdir): {"bind": WORKSPACE, "mode": "rw"}}
        for name, path in spec.datasets.items():  # only the leased ones: no other is there
            volumes[str(Path(path).resolve())] = {"bind": f"{DATASETS}/{name}", "mode": "ro"}
        given = self.applied(spec)  # what its action asked for, else the defaults
        memory = {"mem_limit": f"{given.memory_mb}m", "memswap_limit": f"{given.memory_mb}m"}
        try:
            job.handle = await asyncio.to_thread(
                self.docker.containers.run,
                image,
                spec.args,
                detach=True,
                name=f"jupyter-ext-{spec.identifier}",
                labels={
                    LABEL: spec.identifier,
                    **{f"jupyter-ext.{k}": v for k, v in spec.labels.items()},
                },
                init=True,  # a real PID 1: signals reach the job, zombies are reaped
                network_mode="none",
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                user=user,
                environment=env,
                working_dir=WORKSPACE,
                volumes=volumes,
                tmpfs={"/tmp": f"size={self.tmp_mb}m,mode=1777"},
                nano_cpus=int(given.cpus * 1e9),
                **(memory if given.memory_mb else {}),  # memory_mb = 0: no memory limit
                pids_limit=self.pids_limit,
            )
        except docker.errors.ImageNotFound:
            return Execution(
                None,
                f"the image {image} is not on this backend: build it with "
                "`jupyter ext runner build-images`",
            )
        except docker.errors.APIError as exc:
            return Execution(None, f"the container could not start: {exc.explanation or exc}")
        return None

    async def _find(self, job: Job) -> Execution | None:
        containers = await self._labelled(job.spec.identifier, stopped_too=True)
        if not containers:
            return Execution(
                None,
                "the runner stopped while the job ran, and its container "
                "is gone: run the action again",
            )
        job.handle = containers[0]
        return None

    async def _ran(self, job: Job) -> float:
        return _age(job.handle)  # a recovered job's time limit counts from its start

    async def _wait(self, job: Job, on_line: Callable[[str], None]) -> Execution:
        """Stream its lines, wait for its end, remove it.

        If the runner stops meanwhile (the task is cancelled), the container runs on
        for the next runner process to follow."""
        container = job.handle
        loop = asyncio.get_running_loop()
        provenance = {
            "executor": "docker",
            "image": container.attrs["Config"]["Image"],
            "image_id": container.attrs["Image"],
        }
        # in threads a stopping runner walks away from: the container runs on for the next
        lines = asyncio.create_task(in_thread(self._stream, container, on_line, loop))
        samples, began, ran = DockerSamples(), loop.time(), _age(container)
        sampling = asyncio.create_task(self._sample(container, samples))
        try:
            result = await in_thread(container.wait)
        finally:
            sampling.cancel()
        usage = samples.usage(ran + loop.time() - began)
        await rest_of_log(job, lines)
        if not job.stopping:
            await asyncio.to_thread(container.reload)
        await self._remove(container)
        code = result.get("StatusCode")
        if job.stopping:
            return Execution(code, provenance=provenance, usage=usage)
        if result.get("Error"):
            return Execution(None, f"the container failed: {result['Error']}", usage=usage)
        if code == 137 and container.attrs["State"].get("OOMKilled"):
            message = f"stopped: it used more than {self.applied(job.spec).memory_mb} MB of memory"
            return Execution(code, message, usage=usage)
        message = "" if code == 0 else f"exit code {code}"
        return Execution(code, message, provenance=provenance, usage=usage)

    async def _sample(self, container, samples: DockerSamples) -> None:
        """Until cancelled: the container's stats every `usage_every` seconds (a failed
        sample, as when the container has just ended, is skipped)."""
        while True:
            try:
                samples.add(await in_thread(_stats, container))
            except Exception as exc:  # the engine's or the connection's: the job goes on
                self.log.debug("a stats sample of %s failed: %s", container.name, exc)
            await asyncio.sleep(self.usage_every)

    @staticmethod
    async def _remove(container) -> None:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(container.remove, force=True)

    def _stream(self, container, on_line, loop) -> None:
        """In a thread: the container's output, cut into lines, handed to the loop (until
        the container ends, or the loop is gone: a runner that stopped)."""
        cutter = LineCutter(self.line_max_bytes)

        def hand_on(lines: list[str]) -> bool:
            return all(hand_to_loop(loop, on_line, line) for line in lines)

        for chunk in container.logs(stream=True, follow=True):
            if not hand_on(cutter.feed(chunk)):
                return
        hand_on(cutter.finish())

    async def _labelled(self, identifier: str, stopped_too: bool = False) -> list:
        """The containers of a job, found by its label."""
        return await asyncio.to_thread(
            self.docker.containers.list, all=stopped_too, filters={"label": f"{LABEL}={identifier}"}
        )

    async def _stop(self, job: Job) -> None:
        await self._kill(job.handle)

    async def _stop_unfollowed(self, identifier: str) -> None:
        for container in await self._labelled(identifier):
            await self._kill(container)

    async def _kill(self, container) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds (Docker's own stop counts whole seconds)."""
        import docker.errors

        with contextlib.suppress(docker.errors.APIError):
            await asyncio.to_thread(container.kill, "SIGTERM")
            try:
                await asyncio.wait_for(asyncio.to_thread(container.wait), self.grace)
            except TimeoutError:
                await asyncio.to_thread(container.kill)

    def _own_workdir(self, workdir: Path) -> str:
        """Root runners hand the job's folder to the job's user; others run jobs as themselves."""
        if os.getuid() != 0:
            return f"{os.getuid()}:{os.getgid()}"
        uid, gid = (int(part) for part in JOB_USER.split(":"))
        hand_over(workdir, uid, gid)
        return JOB_USER

    def describe(self) -> dict:
        info = self.docker.info()
        return {
            **super().describe(),
            "engine": info.get("ServerVersion"),
            "images": self.images or self._default_images(),
            "isolation": self._isolation(),
        }

    def _isolation(self) -> str:
        return (
            f"each job in a container: user {JOB_USER} with no capabilities and no new "
            "privileges, no network, a read-only root, its folder and its leased datasets "
            "(read-only) mounted, the CPUs, memory and time its action asked for within this "
            f"backend's maximums ({limits_words(self.resource_limits())}), "
            f"{self.pids_limit} processes, a {self.tmp_mb} MB /tmp"
        )

    def health(self) -> str:
        return "docker (isolated: container, own user, no network, limits)"


def _stats(container) -> dict:
    """One sample of the container's stats, at once (API 1.41's one-shot; an older engine's
    plain sample takes about a second)."""
    import docker.errors

    try:
        return container.stats(stream=False, one_shot=True)
    except docker.errors.InvalidVersion:
        return container.stats(stream=False)


def _age(container) -> float:
    """Seconds since the container started (a recovered job's time limit counts from then)."""
    started = container.attrs.get("State", {}).get("StartedAt", "")
    try:
        since = dt.datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return 0.0
    if since.year < 2000:  # not started yet: Docker's zero time
        return 0.0
    return max(0.0, (dt.datetime.now(dt.UTC) - since).total_seconds())
