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
