"""A throwaway single-node Slurm cluster: munged, slurmctld and slurmd from a temporary folder.

Everything the daemons read or write (munge key and socket, slurm.conf, state, spool, pid and
log files) lives in the folder, and the two Slurm ports are chosen free, so two test sessions
never share anything and no file in /etc is touched. The daemons run in the foreground as our
children; `stop` ends exactly those processes, by their PID, after cancelling the cluster's jobs.
Clients reach the cluster with SLURM_CONF pointing at the folder's slurm.conf (`env`).

Test settings: `batch_sched_delay=0` lets slurmctld try a job at once rather than up to 3 s later;
KillWait=5 (not 30) bounds how long a job that ignores SIGTERM lingers; MinJobAge=3600 keeps
finished jobs visible to `scontrol show job`, which is all the executor has without accounting.

slurmd starts jobs as their user, so the cluster needs root: without it (or without the Slurm and
munge binaries) `start` raises PartMissing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import PartMissing

DAEMONS = {"munged": "munge", "slurmctld": "slurmctld", "slurmd": "slurmd"}
CLIENTS = ("sbatch", "scontrol", "squeue", "scancel", "sinfo")
NODE = "localhost"
PARTITION = "debug"


class ClusterError(RuntimeError):
    """A daemon did not come up; the message holds the tails of the logs."""


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is None:  # daemons live in /usr/sbin, which a non-login PATH may lack
        for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
            if os.access(os.path.join(folder, name), os.X_OK):
                return os.path.join(folder, name)
    return found


def free_ports(count: int) -> list[int]:
    """Ports free on every address now (held together so that they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def memory_mb() -> int:
    """Half the machine's memory: what the node offers jobs (more would drain the node)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return max(256, int(line.split()[1]) // 1024 // 2)
    return 1024


class SlurmCluster:
    def __init__(self, timeout: float = 60.0, cpus: int = 2, min_job_age: int = 3600) -> None:
        self.timeout = timeout
        self.cpus = cpus
        self.min_job_age = min_job_age
        self.folder: Path | None = None
        self.conf: Path | None = None
        self.cluster_name = f"jx{secrets.token_hex(4)}"
        self.ports: tuple[int, int] | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.binaries: dict[str, str] = {}

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> SlurmCluster:
        if self.processes:
            return self
        missing = []
        for name in (*DAEMONS, *CLIENTS):
            path = find_binary(name)
            if path is None:
                missing.append(name)
            else:
                self.binaries[name] = path
        if missing:
            raise PartMissing(
                f"Slurm or munge is not installed (no {', '.join(missing)}): "
                "install them with: bash .ci/install-system.sh"
            )
        if os.geteuid() != 0:
            raise PartMissing("a private Slurm cluster needs root: slurmd runs jobs as their user")
        folder = Path(tempfile.mkdtemp(prefix="slurm-test-"))
        if len(str(folder / "munge" / "socket")) > 100:  # a Unix socket's path is short
            shutil.rmtree(folder)
            folder = Path(tempfile.mkdtemp(prefix="slurm-test-", dir="/tmp"))
        self.folder = folder
        atexit.register(self.stop)
        try:
            self._start_munge()
            self._start_slurm()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_munge(self) -> None:
        assert self.folder is not None
        munge = self.folder / "munge"
        munge.mkdir(mode=0o700)
        key = munge / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o600)
        self._spawn(
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={self.socket}",
            f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={munge / 'munged.log'}",
            f"--seed-file={munge / 'munged.seed'}",
        )
        self._wait(lambda: self.socket.is_socket(), "munged made no socket")

    def _start_slurm(self, attempts: int = 3) -> None:
        # The ports are free when chosen but another process may take one first: retry.
        for attempt in range(attempts):
            self._write_conf()
            assert self.conf is not None
            self._spawn("slurmctld", "-D", "-f", str(self.conf))
            self._spawn("slurmd", "-D", "-f", str(self.conf), "-N", NODE)
            try:
                self._wait(self._node_idle, f"node {NODE} did not become idle")
                return
            except ClusterError as exc:
                taken = "Address already in use" in str(exc)
                for name in ("slurmd", "slurmctld"):
                    self._end(name)
                if attempt == attempts - 1 or not taken:
                    raise

    def _write_conf(self) -> None:
        assert self.folder is not None
        f = self.folder
        for name in ("state", "spool", "log"):
            (f / name).mkdir(exist_ok=True)
        self.ports = tuple(free_ports(2))  # type: ignore[assignment]
        self.conf = f / "slurm.conf"
        self.conf.write_text(
            f"""\
ClusterName={self.cluster_name}
SlurmctldHost={NODE}(127.0.0.1)
SlurmctldPort={self.ports[0]}
SlurmdPort={self.ports[1]}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
StateSaveLocation={f / "state"}
SlurmdSpoolDir={f / "spool"}
SlurmctldPidFile={f / "slurmctld.pid"}
SlurmdPidFile={f / "slurmd.pid"}
SlurmctldLogFile={f / "log" / "slurmctld.log"}
SlurmdLogFile={f / "log" / "slurmd.log"}
MinJobAge={self.min_job_age}
KillWait=5
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName={NODE} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory_mb()} State=UNKNOWN
PartitionName={PARTITION} Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
"""
        )

    def stop(self) -> None:
        """Cancel the cluster's jobs, end our daemons, delete the folder. Safe to call twice."""
        if self.folder is None:
            return
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self._cancel_all_jobs()
        for name in ("slurmd", "slurmctld", "munged"):
            self._end(name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None
        atexit.unregister(self.stop)

    def __enter__(self) -> SlurmCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for tests -----------------------------------------------------------------------------

    @property
    def socket(self) -> Path:
        assert self.folder is not None
        return self.folder / "munge" / "munge.socket"

    @property
    def env(self) -> dict[str, str]:
        """The environment of a client of this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A Slurm client command against this cluster (`squeue`, `scontrol`, ...)."""
        program = self.binaries.get(args[0], args[0])
        result = subprocess.run(
            [program, *args[1:]],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(args)}: {result.stderr.strip()}")
        return result

    def queue(self) -> list[str]:
        """The ids of the jobs Slurm still runs or waits to run."""
        return self.run("squeue", "-h", "-o", "%i").stdout.split()

    # -- helpers -------------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str) -> None:
        assert self.folder is not None
        out = open(self.folder / f"{name}.out", "ab")  # noqa: SIM115 (the child holds it)
        try:
            self.processes[name] = subprocess.Popen(
                [self.binaries[name], *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
            )
        finally:
            out.close()

    def _end(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)

    def _node_idle(self) -> bool:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}\n{self._logs()}")
        result = self.run("sinfo", "-h", "-n", NODE, "-o", "%T", check=False)
        return result.returncode == 0 and result.stdout.strip() == "idle"

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            if time.monotonic() > deadline:
                raise ClusterError(f"{what} within {self.timeout:g} s\n{self._logs()}")
            time.sleep(0.1)

    def _cancel_all_jobs(self) -> None:
        """So that no job process outlives the cluster (they are not our children)."""
        with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
            self.run("scancel", "--full", "--quiet", "--user", "root", check=False)
            deadline = time.monotonic() + 15  # KillWait (5 s) and some
            while self.queue() and time.monotonic() < deadline:
                time.sleep(0.2)

    def _logs(self) -> str:
        assert self.folder is not None
        tails = []
        for path in sorted(self.folder.glob("*.out")) + sorted(self.folder.glob("*/*.log")):
            text = path.read_text(errors="replace")[-1500:]
            tails.append(f"--- {path.name}\n{text}")
        return "\n".join(tails)
