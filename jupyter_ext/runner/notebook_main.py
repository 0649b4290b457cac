"""Run one notebook top to bottom, as a `jupyter:` action: the program of the `jupyter` image.

    python3 notebook_main.py analysis/report.ipynb --html output/report.html
        [--ipynb output/report.ipynb] [--cell-timeout SECONDS] [--timeout SECONDS]
        [--no-input] [--cwd FOLDER]

Standalone: it imports the standard library, nbformat, nbclient and nbconvert only, because it
is copied into the Docker image (`images.py`) and run by the local and Slurm executors as is.

Parameters come as a JSON object in $JUPYTER_EXT_PARAMETERS and are injected as papermill
does: a code cell tagged `injected-parameters` right after the cell tagged `parameters` (or
first). Each cell may run `--cell-timeout` seconds, and no longer than what is left of
`--timeout`. One line per cell goes to stdout as it ends, so the job's live log follows. The
executed notebook (`--ipynb`) and its HTML (each cell's wrapper with the id `cell-id=cell-N`,
for a review page to link to) are written even when a cell fails; the last line then says
which cell failed and why (`MARKER`), and the exit code is 1. A notebook that cannot be read
exits 2. Either way the last line begins "jupyter-ext: the notebook ", which the runner reads.

The kernel is this interpreter's ipykernel, talking over Unix sockets (a sandbox's loopback
may be down), with every file it writes (connection file, IPython's profile and history) in
a temporary folder: the job's folder, its HOME, gets no file it did not write itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings

# jsonschema (under nbformat) builds a grammar for IRIs on import when rfc3987-syntax is
# installed: 0.75 s for a check nbformat never makes. Seen as absent here, so it is skipped.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

PARAMETERS_ENV = "JUPYTER_EXT_PARAMETERS"
MARKER = "jupyter-ext: the notebook failed at cell"  # the runner reads the last such line
TAG, INJECTED_TAG = "parameters", "injected-parameters"
KERNEL = "jupyter-ext-python"
# ipykernel without its debugger (importing it is a third of the kernel's start), with
# IPython's history in memory (nothing to keep) and its own warnings unsaid: a batch kernel
LAUNCH = "import sys; sys.modules['debugpy'] = None; from ipykernel import kernelapp as k; k.launch_new_instance()"  # noqa: E501
KERNEL_OPTIONS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Each cell's wrapper has the id `cell-id=cell-N` (N from 1, the injected cell counted), for a
# review page to link to: nbconvert 7's lab template writes it from the cell's id (set to
# cell-N); Debian's nbconvert 6.5 writes none, so the template marks where each cell begins and
# `anchored` gives the wrapper that follows its id.
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block any_cell scoped -%}
<!--jupyter-ext:cell-{{ loop.index }}-->{{ super() }}
{%- endblock any_cell -%}
"""
UNANCHORED = re.compile(r'<!--jupyter-ext:(cell-\d+)-->(\s*)<div (?![^>]*\bid=")')
MARK = re.compile(r"<!--jupyter-ext:cell-\d+-->")


class Unreadable(Exception):
    """The notebook (or the command) cannot be run at all: exit 2 with the sentence."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    warnings.simplefilter("ignore")  # nbformat's and jupyter_core's notes are not the job's log
    scratch = tempfile.mkdtemp(prefix="jupyter-ext-kernel-")
    try:
        _private_dirs(scratch)
        if not os.path.isfile(args.notebook):
            print(f"jupyter-ext: the notebook {args.notebook} is not in the repository", flush=True)
            return 2
        km = start_kernel(args, scratch)  # it boots while the notebook is read
        try:
            nb, parameters = _read(args.notebook), _parameters()
        except Unreadable as exc:
            _kill_kernel(km)
            print(f"jupyter-ext: {exc}", flush=True)
            return 2
        inject(nb, parameters)
        exporter = Warm(lambda: html_exporter(args.no_input))  # while the kernel starts
        try:
            failure = execute(km, nb, args)
        except Unreadable as exc:
            print(f"jupyter-ext: {exc}", flush=True)
            return 2
        try:
            write_outputs(nb, args, exporter.get())
        except OSError as exc:
            print(f"jupyter-ext: the notebook ran, but its outputs cannot be written: {exc}")
            return 2
        if failure:
            print(f"{MARKER} {failure}", flush=True)
            return 1
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="notebook_main", description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--html", required=True)
    parser.add_argument("--ipynb")
    parser.add_argument("--cell-timeout", type=float, default=600.0)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--no-input", action="store_true")
    parser.add_argument("--cwd", help="the kernel's working folder (default: the notebook's)")
    return parser


def _private_dirs(scratch: str) -> None:
    """Every folder Jupyter, IPython and matplotlib write to, in `scratch`; and our kernel."""
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR"):
        os.environ[name] = os.path.join(scratch, name.lower())
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(scratch, "matplotlib"))
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    os.environ.pop("JUPYTER_PATH", None)
    spec = os.path.join(os.environ["JUPYTER_DATA_DIR"], "kernels", KERNEL)
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as file:
        argv = [sys.executable, "-c", LAUNCH, "-f", "{connection_file}", *KERNEL_OPTIONS]
        json.dump({"argv": argv, "display_name": "Python 3", "language": "python"}, file)


def _read(path: str):
    import nbformat

    try:
        with open(path, encoding="utf-8") as file:
            nb = nbformat.read(file, as_version=4)
    except (OSError, ValueError, UnicodeDecodeError, nbformat.reader.NotJSONError) as exc:
        raise Unreadable(f"the notebook {path} cannot be read: {_one_line(exc)}") from None
    language = nb.metadata.get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise Unreadable(f"the notebook {path} is in {language}: only Python notebooks run here")
    return nb


def _parameters() -> dict:
    try:
        parameters = json.loads(os.environ.get(PARAMETERS_ENV) or "{}")
    except ValueError:
        parameters = None
    if not isinstance(parameters, dict) or not all(k.isidentifier() for k in parameters):
        raise Unreadable(f"${PARAMETERS_ENV} is not a JSON object of parameter names")
    return parameters


def inject(nb, parameters: dict) -> None:
    """Papermill's injection: a cell setting each parameter, after the parameters cell (or
    first), replacing one an earlier run injected."""
    from nbformat.v4 import new_code_cell

    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    if not parameters:
        return
    lines = ["# Parameters injected by jupyter-ext"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = new_code_cell("\n".join(lines), metadata={"tags": [INJECTED_TAG]})
    if nb.nbformat_minor >= 5:  # cells have ids from 4.5: not a random one, the same bytes
        cell.id = INJECTED_TAG
    else:
        cell.pop("id", None)
    tagged = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and TAG in c.get("metadata", {}).get("tags", [])
    ]
    nb.cells.insert(tagged[0] + 1 if tagged else 0, cell)


def start_kernel(args, scratch: str):
    """A kernel manager whose kernel is starting: this interpreter's ipykernel, in the
    notebook's folder (as JupyterLab and nbconvert run it), over Unix sockets in `scratch`.
    Only jupyter_client is imported first: nbformat and nbclient load while the kernel boots."""
    import asyncio

    from jupyter_client.manager import AsyncKernelManager

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # nbclient's own calls run on it too
    km = AsyncKernelManager(kernel_name=KERNEL, transport="ipc", ip=os.path.join(scratch, "kernel"))
    _stop_kernel_on_term(km)
    loop.run_until_complete(km.start_kernel(cwd=args.cwd or os.path.dirname(args.notebook) or "."))
    return km


def execute(km, nb, args) -> str:
    """Run the code cells in order; '' when all ran, else 'N of M: why' for the first that
    failed (the cells after it are left as they were)."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        km=km,
        kernel_name=KERNEL,
        allow_errors=False,
        record_timing=False,  # the same notebook makes the same bytes (`runner verify`)
    )
    try:
        try:
            client.start_new_kernel_client()
        except Exception as exc:  # whatever it was, the sentence says it
            raise Unreadable(f"the notebook could not start its kernel: {_one_line(exc)}") from None
        return _run_cells(client, nb, args)
    finally:
        _kill_kernel(km)  # at once: nothing of it is kept, so no need to wait for it
        with contextlib.suppress(Exception):
            client.kc.stop_channels()


def _run_cells(client, nb, args) -> str:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    deadline = time.monotonic() + args.timeout if args.timeout else None
    total = len(nb.cells)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        number = f"{index + 1} of {total}"
        left = deadline - time.monotonic() if deadline else None
        if left is not None and left <= 0:
            return f"{number}: the notebook ran longer than its limit of {args.timeout:g} s"
        client.timeout = max(1, round(min(args.cell_timeout, left or args.cell_timeout)))
        started = time.monotonic()
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            why = _timed_out(args, client.timeout, left)
            cell.outputs.append(_error_output("TimeoutError", why))
            _echo(cell)
            return f"{number}: {why}"
        except CellExecutionError:
            _echo(cell)
            return f"{number}: {_error_of(cell)}"
        except DeadKernelError:
            why = "the kernel died (out of memory?)"
            cell.outputs.append(_error_output("DeadKernelError", why))
            return f"{number}: {why}"
        _echo(cell)
        print(f"cell {number} ran in {time.monotonic() - started:.2f} s", flush=True)
    return ""


def _timed_out(args, timeout: float, left: float | None) -> str:
    if left is not None and left < args.cell_timeout:
        return f"the notebook ran longer than its limit of {args.timeout:g} s"
    return f"the cell ran longer than its limit of {timeout:g} s"


def _stop_kernel_on_term(km) -> None:
    """A stopped job stops its kernel too (the kernel has a session of its own)."""

    def stop(signum, frame) -> None:
        _kill_kernel(km)
        shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _kill_kernel(km) -> None:
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if pid:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)


def _error_output(ename: str, evalue: str):
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _error_of(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return "it failed"
    error = errors[-1]
    return _one_line(f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": "))


def _echo(cell) -> None:
    """What the cell printed and its error's traceback, to the log, as a script's would be."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = output.get("text", "")
        elif output.get("output_type") == "error":
            text = "\n".join(output.get("traceback", []))
        else:
            continue
        text = ANSI.sub("", text)
        if text:
            print(text, end="" if text.endswith("\n") else "\n", flush=True)


def write_outputs(nb, args, exporter) -> None:
    """The executed .ipynb and its HTML, each cell's wrapper anchored `cell-id=cell-N`."""
    import copy

    import nbformat

    if args.ipynb:
        _makedirs(args.ipynb)
        nbformat.write(nb, args.ipynb)
    html = _html(copy.deepcopy(nb), args, exporter)
    _makedirs(args.html)
    with open(args.html, "w", encoding="utf-8") as file:
        file.write(html)


def html_exporter(no_input: bool):
    """nbconvert's HTML exporter (the lab template, each cell's start marked), warmed up: its
    first notebook costs a quarter of a second of imports and compiling."""
    import jinja2
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"jupyter_ext.html.j2": TEMPLATE})],
        template_file="jupyter_ext.html.j2",
        embed_images=True,
        exclude_input=no_input,
        exclude_input_prompt=no_input,
        exclude_output_prompt=no_input,
    )
    exporter.from_notebook_node(new_notebook(cells=[new_markdown_cell("*a*"), new_code_cell("1")]))
    return exporter


def _html(nb, args, exporter) -> str:
    nb.nbformat_minor = max(nb.nbformat_minor, 5)  # cell ids exist from 4.5
    for number, cell in enumerate(nb.cells, start=1):
        cell["id"] = f"cell-{number}"
    name = os.path.splitext(os.path.basename(args.notebook))[0]
    resources = {"metadata": {"name": name, "path": os.path.dirname(args.notebook) or "."}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return anchored(body)


def anchored(html: str) -> str:
    """Each cell's wrapper with its id `cell-id=cell-N` (nbconvert 6.5 gives none), and the
    template's marks gone."""
    return MARK.sub("", UNANCHORED.sub(r'\2<div id="cell-id=\1" ', html))


class Warm:
    """`make()` run in a thread from now on; `get()` its result (made again here if it failed)."""

    def __init__(self, make) -> None:
        self.make, self.result = make, None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            self.result = self.make()

    def get(self):
        self.thread.join()
        return self.result if self.result is not None else self.make()


def _makedirs(path: str) -> None:
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)


def _one_line(value) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 300 else f"{text[:299]}…"


if __name__ == "__main__":
    sys.exit(main())
