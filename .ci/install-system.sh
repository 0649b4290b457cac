#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only those missing (idempotent, quiet).
# One line per part: "<part>: present" or "<part>: installing".
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

sudo=()
if [ "$(id -u)" != 0 ]; then
    sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
fi

# Run a command silently; on failure show its output and fail.
quiet() {
    local log
    log=$(mktemp)
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "failed: $*" >&2
        return 1
    fi
    rm -f "$log"
}

updated=0
apt_install() {
    if [ "$updated" = 0 ]; then
        quiet "${sudo[@]}" apt-get update -qq
        updated=1
    fi
    quiet "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# postgresql: the server binaries (initdb, pg_ctl, postgres) for tests/parts/postgres.py
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "postgresql: present"
else
    echo "postgresql: installing"
    apt_install postgresql
fi

# docker: the engine for the Docker executor's tests, and debootstrap to build its images
if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then
    echo "docker: present"
else
    echo "docker: installing"
    apt_install docker.io debootstrap
fi
if docker info >/dev/null 2>&1; then
    echo "dockerd: running"
else
    echo "dockerd: starting"
    "${sudo[@]}" sh -c 'nohup dockerd >/var/log/jupyter-ext-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { tail -20 /var/log/jupyter-ext-dockerd.log >&2; exit 1; }
fi

# slurm: munged, slurmctld, slurmd and the client commands for tests/parts/slurm.py
has_sbin() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ]; }
if command -v sbatch >/dev/null && has_sbin slurmctld && has_sbin slurmd && has_sbin munged; then
    echo "slurm: present"
else
    echo "slurm: installing"
    apt_install slurmctld slurmd slurm-client munge
fi

# e2fsprogs and util-linux: each job's folder is its own ext4 image (mkfs.ext4, mount -o loop)
# and the Slurm executor's sandbox (unshare, setpriv, chroot) for runner/quota.py and sandbox.py
if has_sbin mkfs.ext4 && command -v unshare >/dev/null && command -v setpriv >/dev/null; then
    echo "e2fsprogs, util-linux: present"
else
    echo "e2fsprogs, util-linux: installing"
    apt_install e2fsprogs util-linux mount
fi

# node and npm: the hub's proxy (configurable-http-proxy, installed by npm into a local cache)
if command -v node >/dev/null && command -v npm >/dev/null; then
    echo "node: present"
else
    echo "node: installing"
    apt_install nodejs npm
fi

# git: workspaces are git repositories (the hub clones them, the runner checks them out)
if command -v git >/dev/null; then
    echo "git: present"
else
    echo "git: installing"
    apt_install git
fi

# chromium: the browser the Jobs panel's UI tests drive with Playwright (tests/lab)
if [ -x /usr/bin/chromium ]; then
    echo "chromium: present"
else
    echo "chromium: installing"
    apt_install chromium
fi

# zip: the plain `zip -q -0` that tests/benchmarks/bench_releases.py measures the release zip by
if command -v zip >/dev/null; then
    echo "zip: present"
else
    echo "zip: installing"
    apt_install zip
fi
