"""Run one command and write down what it used: the local executor's measuring wrapper.

    python3 -I -S measured_main.py USAGE_FILE PROGRAM [ARGUMENT]...

Standalone (the standard library only, no site packages: it starts in milliseconds). It
forks, runs the command in the child (same environment, folder, standard streams, process
group), waits for it with `os.wait4`, which is the one call that gives the rusage of that
child alone (with the descendants it waited for) while other jobs of the same runner run
beside it, and writes {"cpu_seconds", "wall_seconds", "max_rss_kib"} to USAGE_FILE. Then it
ends as the command ended: the same exit code, or killed by the same signal.

SIGTERM, SIGINT and SIGHUP are caught (and so reset to the default in the command, as
handlers are at exec), not ignored: a stop of the job's process group reaches the command,
and this process outlives it to write its figures. A SIGKILL ends both; no figures then.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time


def main() -> None:
    usage_file, command = sys.argv[1], sys.argv[2:]
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            os.write(2, f"jupyter-ext: {command[0]} could not start: {exc.strerror}\n".encode())
        os._exit(127)
    _, status, used = os.wait4(pid, 0)
    figures = {
        "cpu_seconds": used.ru_utime + used.ru_stime,
        "wall_seconds": time.monotonic() - started,
        "max_rss_kib": used.ru_maxrss,  # KiB on Linux
    }
    try:
        with open(usage_file, "w") as out:
            json.dump(figures, out)
    except OSError:
        pass  # the job's end matters more than its figures
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # its core, if any, was the command's
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
