"""What one huge log line costs the runner, before and after the one line cutter.

    .venv/bin/python tests/benchmarks/bench_log_lines.py [--mb 100]

1. The reading alone, a line fed in 16 KiB chunks (as Docker's log stream hands a long line
   on): the old reader (`buffer += chunk; *lines, buffer = buffer.split(b"\\n")`, as the
   Docker executor had it; the Slurm tail did the same per poll) at 2, 4 and 8 MB, its CPU
   time extrapolated to the full size by the square of the length (it grows so: each chunk
   copies and scans all the line so far); the line cutter (`runner/lines.py`) at the full
   size, measured.
2. The real local executor running a job that prints one line of that size, then `after`:
   this process's CPU seconds (the runner's side: the job's own are a child's), and the
   lines handed on (the old local reader refused a line over 64 KiB: the job failed with
   "Separator is not found, and chunk exceed the limit").
3. The same with the Docker executor (skipped, saying why, without Docker or its image).

CPU seconds are `time.process_time()`; figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent)]

from jupyter_ext.runner.executors.base import JobSpec  # noqa: E402
from jupyter_ext.runner.lines import LineCutter  # noqa: E402

MIB = 1 << 20
CHUNK = 16 * 1024


def say(message: str) -> None:
    print(message, flush=True)


def old_reader(chunks) -> int:
    """The Docker executor's reader before the line cutter; lines seen."""
    buffer, count = b"", 0
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        count += len(complete)
    return count + bool(buffer)


def new_reader(chunks) -> int:
    cutter, count = LineCutter(), 0
    for chunk in chunks:
        count += len(cutter.feed(chunk))
    return count + len(cutter.finish())


def line_chunks(size: int):
    piece = b"x" * CHUNK
    for _ in range(size // CHUNK):
        yield piece
    yield b"\nafter\n"


def cpu(call, *args) -> tuple[float, object]:
    start = time.process_time()
    result = call(*args)
    return time.process_time() - start, result


def measure_reading(size: int) -> None:
    say(f"1. reading one {size // MIB} MiB line in {CHUNK // 1024} KiB chunks (CPU seconds)")
    timings = []
    for mb in (2, 4, 8):
        took, _ = cpu(old_reader, line_chunks(mb * MIB))
        timings.append((mb, took))
        say(f"   old reader, {mb:3} MiB: {took:8.3f} s")
    mb, took = timings[-1]
    guess = took * (size / (mb * MIB)) ** 2
    say(f"   old reader, {size // MIB:3} MiB: ~{guess:8.0f} s (extrapolated)")
    took, lines = cpu(new_reader, line_chunks(size))
    say(f"   line cutter, {size // MIB:3} MiB: {took:8.3f} s measured ({lines} lines)")


def job(folder: Path, size: int, name: str) -> JobSpec:
    workdir = folder / name
    workdir.mkdir(parents=True)
    (workdir / "huge.py").write_text(f"import os\nos.write(1, b'x' * {size} + b'\\nafter\\n')\n")
    env = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}
    scratch = folder / f"{name}-scratch"
    return JobSpec(f"bench{name}", "python", ["huge.py"], workdir, env, scratch=scratch)


def measure_executor(label: str, executor, spec: JobSpec) -> None:
    lines: list[str] = []
    start, wall = time.process_time(), time.perf_counter()
    execution = asyncio.run(executor.run(spec, lines.append))
    took, wall = time.process_time() - start, time.perf_counter() - wall
    shapes = [f"{len(line):,} chars" for line in lines]
    code = execution.exit_code
    say(f"   {label}: runner CPU {took:6.2f} s, wall {wall:6.2f} s, exit {code}, lines {shapes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="the line's size in MiB")
    size = parser.parse_args().mb * MIB
    measure_reading(size)
    say(f"2./3. a job printing one {size // MIB} MiB line, then 'after'")
    with tempfile.TemporaryDirectory(prefix="bench-lines-") as tmp:
        from jupyter_ext.runner.executors.local import LocalExecutor

        measure_executor("local ", LocalExecutor(), job(Path(tmp), size, "local"))
        try:
            from jupyter_ext.runner.executors.docker import DockerExecutor

            docker = DockerExecutor()
            docker.docker.ping()
        except Exception as exc:  # no engine here: say so
            say(f"   docker: skipped ({type(exc).__name__}: {exc})")
            return
        measure_executor("docker", docker, job(Path(tmp), size, "docker"))


if __name__ == "__main__":
    main()
