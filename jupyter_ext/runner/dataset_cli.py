"""`jupyter ext runner dataset ...`: the site registers its backend's datasets.

    jupyter ext runner dataset add NAME PATH --description TEXT [--owner ORG] [--dummy PATH]
    jupyter ext runner dataset list
    jupyter ext runner dataset update NAME [PATH] [--description TEXT] [--dummy PATH]
    jupyter ext runner dataset retire NAME

Each reads the runner's settings (`--server`, `--backend`, `--token-file`, `--workdir`,
`c.RunnerApp.data_roots`). `add` and `update` compute the manifest on the site (see
`datasets.py`) and send only it, and the dummy data's manifest, then the dummy data's bytes,
which may leave the site. The site's registry (`<workdir>/datasets.json`) keeps every
version's folder and manifest: the runner finds there what a job was leased.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
import pydantic
from traitlets import Integer, Unicode

from .. import schema
from ..app import JupyterExtBase, base_aliases, base_flags
from .api import JobServerAPI, JobServerError
from .datasets import (
    DatasetRefused,
    Registry,
    build_manifest,
    check_location,
    iter_dummy,
    latest_version,
)

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
runner_aliases = {
    **base_aliases,
    "server": "RunnerApp.server",
    "backend": "RunnerApp.backend",
    "token-file": "RunnerApp.token_file",
    "workdir": "RunnerApp.workdir",
}


def count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def size_text(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


class DatasetCommand(JupyterExtBase):
    """What the dataset commands share: the runner's settings, the registry, the job server."""

    aliases = {
        **runner_aliases,
        "description": "DatasetCommand.dataset_description",
        "owner": "DatasetCommand.owner",
        "dummy": "DatasetCommand.dummy",
    }
    flags = base_flags

    dataset_description = Unicode(
        "", help="What the dataset holds, for those who may ask to use it (--description)."
    ).tag(config=True)
    owner = Unicode(
        "",
        help="""The organisation that holds the data (its slug). A site may set it once in its
        config file; `update` keeps the dataset's owner unless given.""",
    ).tag(config=True)
    dummy = Unicode(
        "",
        help="""A file or folder of dummy data: a small synthetic stand-in with the same
        columns. Its bytes LEAVE the site (analysts download them), so it must hold no real
        record; it may not be the dataset or inside it, nor share a file's bytes with it.""",
    ).tag(config=True)
    dummy_max_mb = Integer(64, help="The most dummy data a dataset may have, in MB.").tag(
        config=True
    )

    @property
    def classes(self) -> list[type]:  # type: ignore[override]
        from .app import RunnerApp

        return [type(self), DatasetCommand, RunnerApp]

    @property
    def settings(self):
        from .app import RunnerApp

        if not hasattr(self, "_settings"):
            self._settings = RunnerApp(config=self.config)
        return self._settings

    @property
    def registry(self) -> Registry:
        return Registry(Path(self.settings.workdir))

    def fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exit(2)

    def arguments(self, usage: str, least: int, most: int) -> list[str]:
        if not least <= len(self.extra_args) <= most:
            self.fail(f"usage: jupyter ext runner dataset {usage}")
        name = self.extra_args[0] if self.extra_args else ""
        if name and not SLUG.fullmatch(name):  # `$` alone lets "name\n" through
            self.fail(f"{name!r} is not a dataset name: lower-case letters, digits and hyphens")
        return list(self.extra_args)

    def api(self) -> JobServerAPI:
        settings = self.settings
        try:
            token = Path(settings.token_file).read_text().strip() if settings.token_file else ""
        except OSError as exc:
            self.fail(f"cannot read the token file {settings.token_file}: {exc.strerror}")
        if not token:
            self.fail("give the backend's runner token in a file: --token-file FILE")
        return JobServerAPI(settings.server, token, retry_for=10)

    def talk(self, work):
        """Run `work(api)` against the job server, its refusals said as errors."""

        async def main():
            api = self.api()
            try:
                return await work(api)
            finally:
                await api.close()

        try:
            return asyncio.run(main())
        except JobServerError as exc:
            self.fail(f"the job server refused it ({exc.status}): {exc.detail}")
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self.fail(f"the job server at {self.settings.server} cannot be reached ({why})")

    # -- add and update --------------------------------------------------------------------

    def prepare(self, folder: str, dummy: str) -> tuple:
        """The dataset's manifest and its dummy data's, computed here; refused, saying why,
        before any file is read when the dataset is outside the data roots or links out."""
        roots = list(self.settings.data_roots)
        cache = Path(self.settings.workdir) / "cache"
        try:
            place = check_location(folder, roots)
            if not place.is_dir():
                raise DatasetRefused(f"the dataset {folder} is a file: give its folder")
            manifest = build_manifest(place, roots, cache)
            if not dummy:
                return place, manifest, None, None
            dummy_place = self._dummy_place(dummy, place)
            dummy_manifest = build_manifest(dummy_place)
        except DatasetRefused as exc:
            self.fail(f"{exc}; nothing was registered")
        self._check_dummy(manifest, dummy_manifest)
        return place, manifest, dummy_place, dummy_manifest

    def _dummy_place(self, dummy: str, data: Path) -> Path:
        try:
            place = Path(dummy).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            raise DatasetRefused(f"the dummy data {dummy} does not exist on this site") from None
        if place == data or data in place.parents or place in data.parents:
            raise DatasetRefused(
                f"the dummy data {dummy} is the dataset, inside it or holds it: dummy data "
                "leaves the site, so keep it in a folder of its own"
            )
        return place

    def _check_dummy(self, manifest: schema.Manifest, dummy: schema.Manifest) -> None:
        total = sum(f.size for f in dummy.files)
        if total > self.dummy_max_mb * 1_000_000:
            self.fail(
                f"the dummy data has {size_text(total)}, more than the "
                f"{self.dummy_max_mb} MB allowed (DatasetCommand.dummy_max_mb); nothing "
                "was registered"
            )
        real = {f.sha256: f.path for f in manifest.files if f.size}
        for f in dummy.files:
            if f.size and f.sha256 in real:
                self.fail(
                    f"the dummy file {f.path} has the same bytes as the dataset's "
                    f"{real[f.sha256]}: dummy data leaves the site, the data must not; "
                    "nothing was registered"
                )
        tables = {f.path: f.columns for f in manifest.files if f.columns is not None}
        for f in dummy.files:
            if f.path in tables and [c.name for c in f.columns or []] != [
                c.name for c in tables[f.path]
            ]:
                print(
                    f"warning: the dummy {f.path} has other columns than the dataset's",
                    file=sys.stderr,
                )

    def register(self, name: str, description: str, owner: str, prepared: tuple) -> tuple:
        """Send the manifests, keep the answer in the registry, send the dummy data's bytes."""
        place, manifest, dummy_place, dummy_manifest = prepared
        try:
            body = schema.DatasetRegistration(
                name=name,
                description=description,
                owner=owner,
                manifest=manifest,
                dummy=dummy_manifest,
            )
        except pydantic.ValidationError as exc:
            self.fail(f"the registration is not valid: {exc.errors()[0]['msg']}")

        async def work(api: JobServerAPI):
            dataset = await api.register_dataset(body)
            version = self.registry.record(name, dataset, place, dummy_place)
            if dummy_manifest is not None:
                for entry, path in iter_dummy(dummy_place, dummy_manifest):
                    await api.upload_dummy(name, version, entry.path, path, entry.size)
            return dataset, version

        return self.talk(work)

    def describe_version(
        self, name: str, version: int, manifest: schema.Manifest, dummy: schema.Manifest | None
    ) -> str:
        size = sum(f.size for f in manifest.files)
        tables = [f for f in manifest.files if f.rows is not None]
        rows = sum(f.rows for f in tables)
        line = (
            f"{name} version {version}: {count(len(manifest.files), 'file')}, "
            f"{size_text(size)}, {count(len(tables), 'table')} ({count(rows, 'row')}), "
            f"sha256 {manifest.sha256[:12]}…"
        )
        if dummy is not None:
            sent = sum(f.size for f in dummy.files)
            line += f"\ndummy data: {count(len(dummy.files), 'file')} sent ({size_text(sent)})"
        return line


class DatasetAdd(DatasetCommand):
    name = "add"
    description = "Register a dataset of this backend: its manifest is computed here."
    examples = (
        "jupyter ext runner dataset add primary-care /data/primary-care --description "
        "'GP records 2019-2024' --owner university --dummy /data/dummy/primary-care"
    )

    def run(self) -> None:
        name, folder = self.arguments(
            "add NAME PATH --description TEXT [--owner ORG] [--dummy PATH]", 2, 2
        )
        if self.registry.get(name) is not None:
            self.fail(
                f"{name} is registered on this site already: give a new version with "
                f"`jupyter ext runner dataset update {name}`"
            )
        if not self.dataset_description.strip():
            self.fail("say what the dataset holds: --description TEXT")
        if not self.owner:
            self.fail(
                "name the organisation that holds the data: --owner ORG (or set "
                "c.DatasetCommand.owner for the site)"
            )
        prepared = self.prepare(folder, self.dummy)
        _, version = self.register(name, self.dataset_description, self.owner, prepared)
        print(f"Registered {self.describe_version(name, version, prepared[1], prepared[3])}")


class DatasetUpdate(DatasetCommand):
    name = "update"
    description = "A new version of a dataset, from its folder's files now (older kept)."
    examples = "jupyter ext runner dataset update primary-care /data/primary-care-2025"

    def run(self) -> None:
        name, *rest = self.arguments("update NAME [PATH] [--description TEXT] [--dummy PATH]", 1, 2)
        entry = self.registry.get(name)
        if entry is None:
            self.fail(
                f"{name} is not registered on this site: register it with "
                "`jupyter ext runner dataset add`"
            )
        if entry.get("status") == "retired":
            self.fail(f"{name} is retired: register the data under a new name")
        before, latest = latest_version(entry)
        folder = rest[0] if rest else latest["path"]
        prepared = self.prepare(folder, self.dummy or entry.get("dummy") or "")
        description = self.dataset_description.strip() or entry["description"]
        _, version = self.register(name, description, self.owner or entry["owner"], prepared)
        if version == before:
            print(f"Nothing changed in its files: {name} stays at version {version}")
            return
        print(f"Registered {self.describe_version(name, version, prepared[1], prepared[3])}")
        print(f"(version {before} and older stay on record)")


class DatasetRetire(DatasetCommand):
    name = "retire"
    description = "Retire a dataset: no project may use it from now on (its record stays)."

    def run(self) -> None:
        (name,) = self.arguments("retire NAME", 1, 1)

        async def work(api: JobServerAPI):
            return await api.retire_dataset(name)

        self.talk(work)
        if self.registry.get(name) is not None:
            self.registry.retire(name)
        print(f"Retired {name}: no project may use it from now on; its versions stay on record")


class DatasetList(DatasetCommand):
    name = "list"
    description = "The datasets registered on this site, from its registry."

    def run(self) -> None:
        self.arguments("list", 0, 0)
        datasets = self.registry.load()
        if not datasets:
            print(f"no dataset is registered on this site ({self.registry.path})")
            return
        for name, entry in sorted(datasets.items()):
            number, latest = latest_version(entry)
            manifest = schema.Manifest.model_validate(latest["manifest"])
            size = sum(f.size for f in manifest.files)
            dummy = latest.get("dummy")
            files = count(len(manifest.files), "file")
            print(
                f"{name} ({entry.get('status', 'active')}), owned by {entry['owner']}: "
                f"version {number} of {len(entry['versions'])}, {files}, {size_text(size)}, "
                f"sha256 {latest['sha256'][:12]}…"
            )
            print(f"  {latest['path']}")
            if dummy:
                print(f"  dummy data: {count(len(dummy['files']), 'file')} ({entry.get('dummy')})")
            print(f"  {entry['description']}")


class DatasetApp(JupyterExtBase):
    name = "jupyter-ext-runner-dataset"
    description = """The backend's datasets, registered from its site: `add`, `list`, `update`,
    `retire`. Only a dataset's manifest (files, sizes, sha256, and tables' rows and column
    types, never a value) and its dummy data leave the site."""
    aliases = base_aliases
    flags = base_flags
    subcommands = {
        command.name: (command, command.description)
        for command in (DatasetAdd, DatasetList, DatasetUpdate, DatasetRetire)
    }
