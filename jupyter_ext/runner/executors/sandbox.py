"""The Slurm executor's sandbox: shell scripts that isolate one job on a compute node.

Slurm runs the batch script as the user who submitted it: the runner, root. The script
1. puts itself (and so the job) in cgroups of its own, nested in the ones Slurm gave it:
   memory (and memory+swap) at `memory_mb`, processes at `pids_limit`, CPU time at `cpus`
   (a CFS quota, as Docker's --cpus), the CPUs and memory being the job's own (what its
   action asked for, else the executor's defaults; a memory_mb of None is no memory
   limit); a node without these cgroup v1 controllers refuses the job, saying so, rather
   than run it unbounded;
2. runs the sandbox in new namespaces (`unshare`): a network namespace with nothing but a
   loopback that is down (no address can be reached, 127.0.0.1 included), its own mount
   table, PIDs (the job sees only its processes, and when the sandbox's first process ends
   the kernel ends every other), IPC and host name;
3. the sandbox builds a new root on a small tmpfs: the system's folders and the software
   the commands need read-only (`visible`), a fresh /proc, a /dev of null, zero, full,
   random, urandom and tty, its own /tmp and /dev/shm (tmpfs of `tmp_mb`), the job's folder
   read-write at its own path and each leased dataset read-only under
   `$JUPYTER_EXT_DATASETS/<name>`. Nothing else of the site is there: not the runner's
   work folder (journal, store, other jobs), its token, other datasets, /home or /root;
4. it `chroot`s there and drops to the job's user with `setpriv` (no groups, no
   capabilities, no new privileges), so the job cannot undo any of it, and a file the
   system shows it (/etc/shadow) is still read as that unprivileged user;
5. once the job ends, the batch script notes an out-of-memory kill beside it, and what the
   job used (`USAGE`: its start and end, the CPU time of a cpuacct cgroup of its own where
   the node has one, the memory cgroup's peak), then removes its cgroups (cgroups left by
   a job killed outright are removed by the next one).

Why this rather than Slurm's own task/cgroup: it holds whatever the site's slurm.conf
says (a cluster with task/none still bounds memory and CPU), Slurm 22.05 has no limit on
processes, and Slurm has no setting for the network or for what a job can see. Why not a
container under Slurm: HPC nodes seldom run a container engine; this needs only
util-linux and coreutils, which every node has. It needs root on the node, as every
runner that runs jobs as another user does.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

OOM = "oom"  # the batch script leaves it when the kernel killed the job for its memory
USAGE = "usage"  # the batch script leaves it: what the job used (`read_usage`)
REFUSED = "refused"  # the node cannot sandbox the job: the sentence why
SANDBOX = "sandbox.sh"
ROOT = "root"  # the sandbox's mount point, in the job's scratch folder
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
CONTROLLERS = ("memory", "pids", "cpu")
GRACE = 2  # seconds a stopped job has to end after SIGTERM (Slurm's KillWait must be longer)


@dataclass
class Sandbox:
    """What one job may use and see."""

    uid: int
    gid: int
    cpus: float
    memory_mb: int | None  # None: no limit (-1 to the cgroup)
    pids_limit: int
    tmp_mb: int
    visible: list[str] = field(default_factory=list)  # folders shown read-only


@dataclass
class Confined:
    """One job to run in a sandbox: what both of its scripts are written from."""

    box: Sandbox
    scratch: Path  # the executor's folder of the job: its scripts, the sandbox's root, notes
    workdir: Path  # the job's folder, read-write at its own path
    datasets: dict[str, Path]  # name -> folder, read-only under `datasets_at`
    datasets_at: str
    env: dict[str, str]  # exactly the job's environment
    slurm_vars: tuple[str, ...]  # what Slurm says of the job, passed on when set
    command: list[str]
    missing: Path  # left when the command is not on the node


def batch_script(job: Confined, group: str) -> tuple[str, str]:
    """(the batch script, the sandbox script) of a job; `group` names its cgroups."""
    q = shlex.quote
    box, scratch = job.box, job.scratch
    memory = box.memory_mb * 1024 * 1024 if box.memory_mb else -1
    limits = {
        "memory": [
            ("memory.limit_in_bytes", memory),
            ("optional:memory.memsw.limit_in_bytes", memory),
        ],
        "pids": [("pids.max", box.pids_limit)],
        "cpu": [("cpu.cfs_period_us", 100000), ("cpu.cfs_quota_us", int(box.cpus * 100000))],
    }
    setup = []
    for controller in CONTROLLERS:
        setup.append(
            f"join {controller} "
            + " ".join(f"{name} {value}" for name, value in limits[controller])
        )
    setup.append("join ?cpuacct")  # to count its CPU time; a node may have none (or co-mount it)
    batch = f"""#!/bin/sh
# A job of jupyter-ext's Slurm executor: sandboxed (see executors/sandbox.py), then run.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
cd /
scratch={q(str(scratch))}
group={q(group)}
refuse() {{
    printf 'jupyter-ext: this node cannot sandbox the job: %s\\n' "$1"
    printf '%s' "$1" > "$scratch/{REFUSED}"
    leave
    exit 1
}}
joined=""
join() {{  # join CONTROLLER [FILE VALUE]...: a cgroup of this job, nested in ours (?CONTROLLER:
    # joined if the node has it, else nothing)
    optional=""
    case $1 in "?"*) optional=1; c=${{1#?}}; shift; set -- "$c" "$@";; esac
    rel=$(awk -F: -v c="$1" '{{n=split($2,a,","); for(i=1;i<=n;i++) if(a[i]==c) print $3}}' \\
        /proc/self/cgroup)
    base="/sys/fs/cgroup/$1${{rel%/}}"
    if [ -z "$rel" ] || [ ! -w "$base" ]; then
        [ -n "$optional" ] && return 0
        refuse "no cgroup v1 $1 controller at /sys/fs/cgroup/$1"
    fi
    for stale in "$base"/jupyter-ext-*; do [ -d "$stale" ] && rmdir "$stale" 2>/dev/null; done
    cg="$base/$group"
    joined="$joined $cg"
    for _ in 1 2 3; do  # another job's sweep may remove it before it is joined: again
        mkdir -p "$cg" 2>/dev/null && echo $$ > "$cg/cgroup.procs" 2>/dev/null && break
    done
    [ -d "$cg" ] || refuse "cannot make or join a $1 cgroup"
    shift
    while [ $# -gt 1 ]; do
        file=${{1#optional:}}
        if [ -e "$cg/$file" ]; then
            echo "$2" > "$cg/$file" || refuse "cannot set $file to $2"
        elif [ "$file" = "$1" ]; then
            refuse "the $1 cgroup has no $file"
        fi
        shift 2
    done
}}
leave() {{
    for cg in $joined; do
        [ -d "$cg" ] || continue  # a co-mounted controller's, removed already
        echo $$ > "${{cg%/*}}/cgroup.procs" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.2; done
    done
}}
{chr(10).join(setup)}
started=$(date +%s.%N)
unshare --net --mount --pid --ipc --uts --fork --kill-child --propagation private \\
    -- /bin/sh "$scratch/{SANDBOX}" &
child=$!
for cg in $joined; do  # this shell steps out, so a job that forks all it may cannot block it
    echo $$ > "${{cg%/*}}/cgroup.procs"
done
killer=""
# Slurm sends SIGTERM to every process of the job (the sandbox's first process forwards it
# to the job); unshare holds it, so a job that ignores it is ended after GRACE seconds by
# killing unshare, whose death kills the sandbox's first process and, with it, all the rest.
trap '[ -n "$killer" ] || {{ (sleep {GRACE}; kill -KILL $child 2>/dev/null) & killer=$!; }}' \
    TERM INT HUP
while :; do
    wait $child
    code=$?
    kill -0 $child 2>/dev/null || break
done
ended=$(date +%s.%N)
[ -z "$killer" ] || kill $killer 2>/dev/null
cpu_ns="" peak=""
for cg in $joined; do
    case $cg in */memory/*)
        grep -q '^oom_kill [1-9]' "$cg/memory.oom_control" 2>/dev/null && : > "$scratch/{OOM}"
        peak=$(cat "$cg/memory.max_usage_in_bytes" 2>/dev/null);;
    esac
    [ -r "$cg/cpuacct.usage" ] && cpu_ns=$(cat "$cg/cpuacct.usage")
done
printf 'started %s\nended %s\ncpu_ns %s\npeak_bytes %s\n' "$started" "$ended" "$cpu_ns" \\
    "$peak" > "$scratch/{USAGE}"
leave
exit $code
"""
    return batch, _sandbox(job)


def _sandbox(job: Confined) -> str:
    """Run as PID 1 of the new namespaces, as root: build the root, run the job in it."""
    q = shlex.quote
    box, scratch, workdir, env, command = job.box, job.scratch, job.workdir, job.env, job.command
    root = scratch / ROOT
    # its own mount points first: a folder shown after them (the runner's Python, the job's
    # folder) may lie under /tmp, and is then made inside the job's own /tmp
    lines = [
        f"mount -t tmpfs -o size=4m,mode=0755 jupyter-ext-root {q(str(root))}",
        f"R={q(str(root))}",
        'mkdir "$R/proc" "$R/dev" "$R/tmp"',
        'mount -t proc -o nosuid,nodev,noexec proc "$R/proc"',
        'mount -t tmpfs -o size=64k,mode=0755 jupyter-ext-dev "$R/dev"',
        *(f'touch "$R/dev/{d}" && mount --bind /dev/{d} "$R/dev/{d}"' for d in DEVICES),
        'ln -s /proc/self/fd "$R/dev/fd"',
        *(
            f'ln -s /proc/self/fd/{i} "$R/dev/{n}"'
            for i, n in enumerate(("stdin", "stdout", "stderr"))
        ),
        'mkdir "$R/dev/shm"',
        f'mount -t tmpfs -o size={box.tmp_mb}m,mode=1777,nosuid,nodev jupyter-ext-shm "$R/dev/shm"',
        f'mount -t tmpfs -o size={box.tmp_mb}m,mode=1777,nosuid,nodev jupyter-ext-tmp "$R/tmp"',
        *(f"show {q(path)}" for path in box.visible),
        f'mkdir -p "$R"{q(str(workdir))}',
        f'mount --bind {q(str(workdir))} "$R"{q(str(workdir))}',
        f'mount -o remount,bind,nosuid,nodev "$R"{q(str(workdir))}',
    ]
    for name, path in job.datasets.items():
        target = f'"$R"{q(f"{job.datasets_at}/{name}")}'
        lines += [
            f"mkdir -p {target}",
            f"mount --bind {q(str(Path(path).resolve()))} {target}",
            f"mount -o remount,bind,ro,nosuid,nodev {target}",
        ]
    path_var = env.get("PATH", "/usr/bin:/bin")
    program = q(command[0])
    assignments = " ".join(q(f"{k}={v}") for k, v in sorted(env.items()))
    slurm = " ".join(f'${{{name}:+"{name}=${name}"}}' for name in job.slurm_vars)
    run = " ".join(q(part) for part in command)
    drop = (
        f"setpriv --reuid={box.uid} --regid={box.gid} --clear-groups --no-new-privs "
        "--inh-caps=-all --bounding-set=-all --"
    )
    body = "\n".join(lines)
    return f"""#!/bin/sh
# The sandbox of a jupyter-ext job (see executors/sandbox.py): PID 1 of its namespaces.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
set -e
refused={q(str(scratch / REFUSED))}
trap 'echo "jupyter-ext: the sandbox could not be built"; echo "$why" > "$refused"' EXIT
why="the sandbox could not be built (a mount failed)"
show() {{  # show PATH: the folder or file read-only at its own path (a link stays a link)
    [ -e "$1" ] || [ -L "$1" ] || return 0
    mkdir -p "$R$(dirname "$1")"
    if [ -L "$1" ]; then cp -P "$1" "$R$1"; return 0; fi
    if [ -d "$1" ]; then mkdir -p "$R$1"; else : > "$R$1"; fi
    mount --bind "$1" "$R$1"
    mount -o remount,bind,ro,nosuid,nodev "$R$1"
}}
{body}
trap - EXIT
set +e
ulimit -c 0
cd /
if ! chroot "$R" /usr/bin/env -i PATH={q(path_var)} /bin/sh -c 'command -v "$1"' sh \\
        {program} >/dev/null 2>&1; then
    printf 'jupyter-ext: the command %s is not on %s\\n' {program} "$(hostname)"
    : > {q(str(job.missing))}
    exit 127
fi
chroot "$R" {drop} /usr/bin/env -i -C {q(str(workdir))} {assignments} {slurm} {run} &
job=$!
trap 'kill -TERM $job 2>/dev/null' TERM INT HUP
while :; do
    wait $job
    code=$?
    kill -0 $job 2>/dev/null || break
done
exit $code
"""
