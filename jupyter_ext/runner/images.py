"""Build the images that actions run in, locally, from a Debian root file system.

A secure site pulls nothing from outside at job time, and often cannot reach
an image registry at all: its images are built on the site from a Debian root
file system (`debootstrap`, from the site's own Debian mirror) and imported
into the local Docker engine. One root file system gives every image that
shares it (the `python` image is Debian's python3 with the standard library);
its entry point is the image's interpreter, so `run: python:v2 analysis.py`
runs `python3 analysis.py` in /workspace. The `jupyter` image is Debian's
nbclient, nbconvert and ipykernel with the notebook runner (`notebook_main.py`)
copied in as its entry point.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .notebooks import NOTEBOOK_MAIN

SUITE = "bookworm"
WORKSPACE = "/workspace"
JOB_USER = "10000:10000"  # no account in the image: a job owns nothing but /workspace


@dataclass(frozen=True)
class ImageRecipe:
    """One image: Debian packages on top of minbase, and the program it runs."""

    tag: str
    packages: tuple[str, ...]
    entrypoint: tuple[str, ...]
    files: tuple[tuple[Path, str], ...] = ()  # (a file of the runner, where the image has it)

    def contents(self) -> dict[str, bytes]:
        """The files copied in, read once: {where the image has it: its bytes}."""
        return {target: Path(source).read_bytes() for source, target in self.files}

    def fingerprint(self, contents: dict[str, bytes] | None = None) -> str:
        """The sha256 of the files copied in: an image with other copies is built again."""
        digest = hashlib.sha256()
        for target, data in sorted((contents or self.contents()).items()):
            digest.update(f"{target}\0".encode() + data + b"\0")
        return digest.hexdigest()


FILES_LABEL = "jupyter-ext.files"  # the fingerprint of the runner's files an image holds
IN_IMAGE = "/usr/local/lib/jupyter-ext/notebook_main.py"
RECIPES = {
    "python": ImageRecipe("jupyter-ext/python:bookworm", ("python3",), ("python3",)),
    "jupyter": ImageRecipe(
        "jupyter-ext/jupyter:bookworm",
        (
            *("python3", "python3-nbformat", "python3-nbclient", "python3-nbconvert"),
            "python3-ipykernel",
            # what provides virtual packages they depend on (debootstrap cannot choose one)
            *("python3-cffi-backend", "libboost-regex1.74.0"),
        ),
        ("python3", IN_IMAGE),
        files=((NOTEBOOK_MAIN, IN_IMAGE),),
    ),
}


class ImageBuildError(Exception):
    """An image could not be built; the message says what to fix."""


def host_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str | None:
    """The Debian mirror this machine's apt uses: a site's mirror is the one it trusts."""
    try:
        text = sources.read_text()
    except OSError:
        return None
    match = re.search(r"^URIs:\s*(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def chroot(root: Path, *command: str, env: dict[str, str] | None = None) -> str:
    """Run `command` inside the root file system `root` (as root, with chroot); its output.

    For the setup steps of `build_debian_image`: the rootfs's own programs, no network."""
    base = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(
        ["chroot", str(root), *command], capture_output=True, text=True, env={**base, **(env or {})}
    )
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-10:] + done.stderr.splitlines()[-10:])
        raise ImageBuildError(
            f"{' '.join(command)} failed in the image's root file system:\n{tail}"
        )
    return done.stdout


def build_debian_image(
    client,
    tag: str,
    packages: tuple[str, ...],
    changes: list[str],
    setup: Callable[[Path], None] | None = None,
    mirror: str | None = None,
) -> str:
    """Debian minbase with `packages`, then `setup(root)`, imported as `tag`; the image id.

    `changes` are the Dockerfile instructions `docker import` accepts (ENTRYPOINT, CMD,
    ENV, USER, WORKDIR, LABEL, ...). `setup` gets the root file system before it is
    imported: it may write files into it and run its programs with `chroot(root, ...)`."""
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed: apt-get install debootstrap")
    mirror = mirror or host_mirror()
    if mirror is None:
        raise ImageBuildError("no Debian mirror known: give one (--mirror URL)")
    with tempfile.TemporaryDirectory(prefix="jupyter-ext-rootfs-") as tmp:
        root = Path(tmp) / "root"
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(packages)}",
            SUITE,
            str(root),
            mirror,
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-5:] + done.stderr.splitlines()[-5:])
            raise ImageBuildError(f"debootstrap failed:\n{tail}")
        if setup is not None:
            setup(root)
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        repository, _, version = tag.partition(":")
        with subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
            reply = client.api.import_image_from_stream(
                tar.stdout, repository=repository, tag=version or "latest", changes=changes
            )
        if tar.returncode != 0:
            raise ImageBuildError(f"tar of the root file system failed (status {tar.returncode})")
    last = reply.strip().splitlines()[-1] if isinstance(reply, str) else str(reply)
    if "error" in last.lower():
        raise ImageBuildError(f"docker import failed: {last}")
    return client.images.get(tag).id


def build_image(client, recipe: ImageRecipe, mirror: str | None = None) -> str:
    """Build `recipe` into the Docker engine behind `client`; returns the image id."""
    changes = [
        f"ENTRYPOINT {json.dumps(list(recipe.entrypoint))}",
        f"WORKDIR {WORKSPACE}",
        f"USER {JOB_USER}",
        "ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
    ]
    contents = recipe.contents()  # the bytes copied are the bytes labelled
    if contents:
        changes.append(f"LABEL {FILES_LABEL}={recipe.fingerprint(contents)}")

    def setup(root: Path) -> None:
        (root / WORKSPACE.lstrip("/")).mkdir(exist_ok=True)
        for target, data in contents.items():
            copy = root / target.lstrip("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
            copy.chmod(0o644)

    return build_debian_image(client, recipe.tag, recipe.packages, changes, setup, mirror)


def ensure_images(client, names=None, mirror: str | None = None, log=print) -> dict[str, str]:
    """Build what is missing (an image present is kept, unless the runner's files it holds
    have changed since): {name: image id}."""
    import docker.errors

    built = {}
    for name in names or RECIPES:
        recipe = RECIPES[name]
        try:
            image = client.images.get(recipe.tag)
        except docker.errors.ImageNotFound:
            log(f"{recipe.tag}: building from Debian {SUITE} (about a minute)")
            built[name] = build_image(client, recipe, mirror)
            continue
        if recipe.files and (image.labels or {}).get(FILES_LABEL) != recipe.fingerprint():
            log(f"{recipe.tag}: the runner's files in it changed: building it again")
            built[name] = build_image(client, recipe, mirror)
            with contextlib.suppress(docker.errors.APIError):  # a container may still use it
                client.images.remove(image.id)
            continue
        built[name] = image.id
        log(f"{recipe.tag}: present")
    return built
