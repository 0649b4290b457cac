"""Datasets from the client: what a step of several calls needs, and dummy data as values.

A few of `client.datasets`' methods take more than one call (the workspace's project, then
the datasets it may use; the dataset's manifest, then its dummy files). Each is written
once, as a generator that yields the `Call`s it needs and is sent their answers; `drive`
runs it on a `Client` (a result) or an `AsyncClient` (an awaitable of it).

Dummy data is read without any dependency: a CSV or TSV table (gzipped or not) becomes a
list of dicts, one a row, each value typed by the column's type in the manifest (integer,
number, boolean, date; an empty cell is None), or a `pandas.DataFrame` with `as_frame=True`.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import inspect
import io
from collections.abc import Generator
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from .. import schema
from ._http import Call
from .errors import ChecksumMismatch, ClientError

Flow = Generator[Call, Any, Any]
TABLES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
TRUE, FALSE = {"true", "t", "yes", "y"}, {"false", "f", "no", "n"}


def drive(client: Any, flow: Flow) -> Any:
    """Run `flow` with the client's calls: its result, or on an AsyncClient an awaitable."""
    if inspect.iscoroutinefunction(client._send):
        return _drive_async(client, flow)
    answer = None
    try:
        while True:
            answer = client._send(flow.send(answer))
    except StopIteration as done:
        return done.value


async def _drive_async(client: Any, flow: Flow) -> Any:
    answer = None
    try:
        while True:
            answer = await client._send(flow.send(answer))
    except StopIteration as done:
        return done.value


def path(*parts: str) -> str:
    return "/".join(quote(part, safe="") for part in parts)


# -- which project, which backend -----------------------------------------------------------


def project_of(client: Any, project: str | None) -> Flow:
    """The project named, else the one of the client's workspace."""
    if project:
        return project
    workspace = client.workspace
    if not workspace:
        raise ClientError(
            "which project? Name one (project='my-study'), or use a client that knows its "
            "workspace (inside a workspace server, or Client(..., workspace='...'))"
        )
    found = yield Call(
        "GET",
        path("workspaces", workspace),
        parse=lambda r: schema.Workspace.model_validate(r.json()),
    )
    return found.project


def find(client: Any, cls: type, name: str, backend: str | None) -> Flow:
    """The dataset `name` of `backend`; without a backend, the one backend that has it (the
    client's default backend if several do)."""
    if backend:
        found = yield Call("GET", path("datasets", backend, name), parse=parser(client, cls))
        return found
    every = yield Call("GET", "datasets", parse=parser(client, cls, many=True))
    named = [d for d in every if d.name == name]
    if not named:
        known = ", ".join(sorted({f"{d.name} ({d.backend})" for d in every})) or "none"
        raise ClientError(f"no backend has a dataset named {name!r}; those there are: {known}")
    if len(named) > 1:
        mine = [d for d in named if d.backend == client.backend]
        if not mine:
            backends = ", ".join(d.backend for d in named)
            raise ClientError(
                f"the backends {backends} each have a dataset {name!r}: say "
                "which, with backend='...'"
            )
        named = mine
    return named[0]


def parser(client: Any, cls: type, many: bool = False):
    def parse(response):
        body = response.json()
        items = [cls.model_validate(item) for item in (body if many else [body])]
        for item in items:
            if hasattr(item, "_bind"):
                item._bind(client)
        return items if many else items[0]

    return parse


# -- dummy data -------------------------------------------------------------------------------


def dummy_flow(
    client: Any,
    cls: type,
    dataset: Any,
    backend: str | None,
    file: str | None,
    version: int | None,
    as_frame: bool,
) -> Flow:
    if as_frame:
        pandas()  # said before anything is fetched
    if isinstance(dataset, str):
        dataset = yield from find(client, cls, dataset, backend)
    chosen, manifest = dummy_manifest(dataset, version)
    entries = manifest.files
    if file is not None:
        entries = [e for e in manifest.files if e.path == file.lstrip("/")]
        if not entries:
            names = ", ".join(e.path for e in manifest.files)
            raise ClientError(
                f"the dummy data of {dataset.name} has no file {file!r}; it has {names}"
            )
    loaded = {}
    for entry in entries:
        data = yield Call(
            "GET",
            path("datasets", dataset.backend, dataset.name, "dummy", *entry.path.split("/")),
            params={"version": chosen},
            parse=lambda r: r.content,
        )
        loaded[entry.path] = load(entry, data, as_frame)
    return next(iter(loaded.values())) if len(loaded) == 1 else loaded


def dummy_manifest(dataset: schema.Dataset, version: int | None) -> tuple[int, schema.Manifest]:
    """The version whose dummy data to read (`version`, else the newest that has some)."""
    versions = [v for v in dataset.versions if version is None or v.version == version]
    if not versions:
        known = ", ".join(str(v.version) for v in dataset.versions)
        raise ClientError(f"the dataset {dataset.name} has no version {version} (it has {known})")
    for v in versions:  # newest first
        if v.dummy is not None and v.dummy.files:
            return v.version, v.dummy
    which = f"version {version} of " if version is not None else ""
    raise ClientError(
        f"{which}the dataset {dataset.name} has no dummy data: ask its owner ({dataset.owner}) "
        f"to add some on the site of {dataset.backend}"
    )


def load(entry: schema.ManifestFile, data: bytes, as_frame: bool = False) -> Any:
    """A dummy file's rows (typed by its manifest) if it is a table, else its bytes."""
    got = hashlib.sha256(data).hexdigest()
    if got != entry.sha256:
        raise ChecksumMismatch(
            f"{entry.path}: the job server sent bytes with sha256 {got}, not "
            f"the {entry.sha256} of the dummy data's manifest"
        )
    suffixes = [s.lower() for s in PurePosixPath(entry.path).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        data, suffixes = gzip.decompress(data), suffixes[:-1]
    delimiter = TABLES.get(suffixes[-1]) if suffixes else None
    if delimiter is None:
        if as_frame:
            raise ClientError(f"{entry.path} is not a CSV or TSV table: load it without as_frame")
        return data
    names, types, rows = read_table(data, delimiter, entry.columns or [])
    return frame(names, types, rows) if as_frame else rows


def read_table(
    data: bytes, delimiter: str, columns: list[schema.Column]
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    text = io.StringIO(data.decode("utf-8-sig", errors="replace"), newline="")
    reader = csv.reader(text, delimiter=delimiter)
    header = [name.replace("\0", "").strip() for name in next(reader, [])]
    typed = {c.name: c.type for c in columns}
    types = [typed.get(name, "text") for name in header]
    rows = []
    for row in reader:
        if not row:  # a blank line is no row
            continue
        cells = row + [""] * (len(header) - len(row))
        rows.append(
            {
                name: convert(cell, kind)
                for name, cell, kind in zip(header, cells, types, strict=False)
            }
        )
    return header, types, rows


def convert(cell: str, kind: str) -> Any:
    """One cell as the manifest's type says (as the site typed it); an empty cell is None, and
    a cell that does not fit its type is kept as text."""
    value = cell.strip()
    if not value:
        return None
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            low = value.lower()
            return True if low in TRUE else False if low in FALSE else cell
        if kind == "date":
            if len(value) == 10:
                return dt.date.fromisoformat(value)
            return dt.datetime.fromisoformat(value)
    except ValueError:
        return cell
    return cell


def pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ClientError(
            "as_frame=True needs pandas, which this Python cannot import: install it "
            "(`%pip install pandas` in a notebook), or leave as_frame out for a list of dicts"
        ) from None
    return pandas


FRAME_TYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean"}


def frame(names: list[str], types: list[str], rows: list[dict[str, Any]]) -> Any:
    """A DataFrame whose columns have the manifest's types (nullable, so a missing value
    stays missing), dates as datetime64."""
    pd = pandas()
    table = pd.DataFrame.from_records(rows, columns=names)
    for name, kind in zip(names, types, strict=True):
        try:
            if kind in FRAME_TYPES:
                table[name] = table[name].astype(FRAME_TYPES[kind])
            elif kind == "date":
                table[name] = pd.to_datetime(table[name])
        except (TypeError, ValueError):
            pass  # a cell that does not fit: the column stays as it was read
    return table
