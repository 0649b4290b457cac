"""The files a notebook's code writes and reads, read from its source without running it.

Proposing a notebook as an action needs its outputs (what it writes) and its needs (what it
reads that another action makes). Running the notebook to see would run the analysis; so the
code cells are parsed (`ast`) and the path of each well-known write or read call is taken
when it is written out in the code: a string literal, `Path("output") / "x.csv"`,
`os.path.join("output", "x.csv")`, `"output/" + "x.csv"`, or a name assigned one of those
earlier. An f-string's placeholders become `*` (`f"output/{region}.csv"` is `output/*.csv`),
as output patterns write them. The code's paths are from the notebook's folder, where its
kernel runs in JupyterLab and on the site (`../output/x.csv` from analysis/ is
`output/x.csv`). What cannot be read so is left out: this is a proposal the analyst edits,
not a promise.

    >>> found = notebook_files(['df.to_csv("../output/table.csv")'], folder="analysis")
    >>> found.writes, found.reads
    (['output/table.csv'], [])
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass, field

# methods whose first argument (or a keyword of PATH_KEYWORDS) is a file they write
WRITE_METHODS = frozenset(
    {
        "to_csv",
        "to_excel",
        "to_feather",
        "to_hdf",
        "to_html",
        "to_json",
        "to_latex",
        "to_markdown",
        "to_parquet",
        "to_pickle",
        "to_stata",
        "write_csv",  # polars
        "write_parquet",
        "write_json",
        "write_image",  # plotly
        "write_html",
        "savefig",
        "save",  # numpy.save, a PIL image's save
        "savetxt",
        "savez",
        "savez_compressed",
    }
)
# functions and methods whose first argument (or a keyword of PATH_KEYWORDS) is a file they read
READ_CALLS = frozenset(
    {
        "read_csv",
        "read_excel",
        "read_feather",
        "read_json",
        "read_parquet",
        "read_pickle",
        "read_stata",
        "read_table",
        "read_fwf",
        "read_hdf",
        "load",  # numpy.load
        "loadtxt",
        "genfromtxt",
        "imread",
    }
)
# how pandas, numpy and matplotlib name the file argument
PATH_KEYWORDS = ("path_or_buf", "path", "excel_writer", "fname", "file", "filepath_or_buffer", "io")
PATH_WRITES = ("write_text", "write_bytes")  # Path("output/x.txt").write_text(...)
PATH_READS = ("read_text", "read_bytes")
PATH_TYPES = ("Path", "PurePath", "PosixPath", "PurePosixPath")
WRITE_MODES = set("wax+")


@dataclass
class NotebookFiles:
    """Paths (relative, normalised, in the order first met) the code writes and reads."""

    writes: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    unreadable_cells: int = 0  # cells that are not Python even with magics left out


def notebook_files(sources: list[str], folder: str = "") -> NotebookFiles:
    """What the code cells `sources` (in order) write and read, as far as can be told, as paths
    from the top of the repository: the code's own paths are from `folder`, the notebook's, where
    its kernel runs (in JupyterLab as on the site)."""
    found = NotebookFiles()
    reader = _Reader(found, folder)
    for source in sources:
        try:
            tree = ast.parse(_without_magics(source))
        except (SyntaxError, ValueError):
            found.unreadable_cells += 1
            continue
        reader.visit(tree)
    return found


def code_cells(notebook: dict) -> list[str]:
    """The source of each code cell of a notebook (nbformat 4's JSON), in order."""
    sources = []
    for cell in notebook.get("cells") or []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _without_magics(source: str) -> str:
    """IPython's `%magic`, `!shell` and `%%cell` lines as comments: the rest is Python."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = source.splitlines()
    return "\n".join("#" + line if line.lstrip().startswith(("%", "!")) else line for line in lines)


class _Reader(ast.NodeVisitor):
    """Walks the cells in order, knowing the paths names were given at the top level."""

    def __init__(self, found: NotebookFiles, folder: str) -> None:
        self.found = found
        self.folder = folder
        self.names: dict[str, str] = {}

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        value = self.path_of(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if value is None:
                    self.names.pop(target.id, None)
                else:
                    self.names[target.id] = value

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "open":
            self.note_open(node)
        elif isinstance(func, ast.Attribute) and name in PATH_WRITES + PATH_READS:
            path = self.path_of(func.value)
            if path is not None:
                self.note(path, write=name in PATH_WRITES)
        elif isinstance(func, ast.Attribute) and name in WRITE_METHODS:
            self.note(self.argument(node), write=True)
        elif name in READ_CALLS:
            self.note(self.argument(node), write=False)

    def note_open(self, node: ast.Call) -> None:
        """`open(path, mode)` (or `Path(...).open(mode)`): a write if the mode says so."""
        func = node.func
        path = self.path_of(func.value) if isinstance(func, ast.Attribute) else None
        mode_at = 0  # Path("x").open("w")
        if path is None:  # open("x", "w"), io.open, gzip.open
            path, mode_at = self.argument(node), 1
        mode = _constant(node.args[mode_at]) if len(node.args) > mode_at else None
        for keyword in node.keywords:
            if keyword.arg == "mode":
                mode = _constant(keyword.value)
        if mode is None and (
            len(node.args) > mode_at or any(k.arg == "mode" for k in node.keywords)
        ):
            return  # a mode computed at run time: which way is not known
        self.note(path, write=bool(WRITE_MODES & set(mode or "r")))

    def argument(self, node: ast.Call) -> str | None:
        if node.args:
            return self.path_of(node.args[0])
        for given in node.keywords:
            if given.arg in PATH_KEYWORDS:
                return self.path_of(given.value)
        return None

    def note(self, path: str | None, *, write: bool) -> None:
        path = _relative(path, self.folder)
        if path is None:
            return
        seen = self.found.writes if write else self.found.reads
        if path not in seen:
            seen.append(path)

    def path_of(self, node: ast.AST) -> str | None:
        """The path an expression spells out, `*` for the parts only known at run time."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(
                part.value if isinstance(part, ast.Constant) else "*" for part in node.values
            )
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div | ast.Add):
            left, right = self.path_of(node.left), self.path_of(node.right)
            if left is None or right is None:
                return None
            return posixpath.join(left, right) if isinstance(node.op, ast.Div) else left + right
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in PATH_TYPES and node.args and not node.keywords:
                parts = [self.path_of(a) for a in node.args]
                return None if None in parts else posixpath.join(*parts)
            if name == "join" and _is_module(func, ("path", "posixpath")) and node.args:
                parts = [self.path_of(a) for a in node.args]
                return None if None in parts else posixpath.join(*parts)
        return None


def _is_module(node: ast.AST, names: tuple[str, ...]) -> bool:
    """Whether a call is of one of the modules `names` (`os.path.join`: "path")."""
    if isinstance(node, ast.Attribute) and not isinstance(node.value, ast.Call):
        node = node.value
    return (isinstance(node, ast.Attribute) and node.attr in names) or (
        isinstance(node, ast.Name) and node.id in names
    )


def _constant(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _relative(path: str | None, folder: str) -> str | None:
    """`path`, given from `folder`, as a path from the top of the repository in normal form;
    None for one that is not in it (absolute, out by `..`, a URL, all placeholders)."""
    if not path or "://" in path or path.startswith(("/", "~")) or "\\" in path:
        return None
    clean = posixpath.normpath(posixpath.join(folder, path))
    if clean in (".", "*") or clean.startswith("../") or clean == "..":
        return None
    return clean
