"""The image of workspace servers with Docker (`c.JupyterExtHub.spawner = "docker"`), built here.

    python hub_config/hubext/image.py [--rebuild] [--tag TAG] [--mirror URL] [--project PATH]

Like the runner's job images (jupyter_ext/runner/images.py, whose Debian root
file system and `docker import` it shares), it is built on the site and pulls
nothing at run time: Debian bookworm minbase with python3, python3-venv, git and
ca-certificates; a virtual environment at /opt/jupyter-ext with the hub's own
version of jupyterhub, JupyterLab and jupyter-ext itself (its wheel built from
this checkout), installed offline from a wheelhouse downloaded on this machine
(pip in a container cannot reach an index here); a user `jovyan` (uid 1000,
home /home/jovyan) that the server runs as; `jupyterhub-singleuser` as its
command. An image already present is kept (unless --rebuild, or its jupyterhub
is not the hub's): rebuild it after changing jupyter-ext's server side.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jupyter_ext.runner.images import ImageBuildError, build_debian_image, chroot

TAG = "jupyter-ext/singleuser:bookworm"
PACKAGES = ("python3", "python3-venv", "git", "ca-certificates")
PYTHON_VERSION = "3.11.2"  # Debian bookworm's python3: wheels must suit it, not the host's
VENV = "/opt/jupyter-ext"
USER, UID, HOME = "jovyan", 1000, "/home/jovyan"
# pip takes --platform tags literally (manylinux2014 also admits 2010 and 1): bookworm's glibc
# is 2.36, so every manylinux_2_X up to it is acceptable
PLATFORMS = ("manylinux2014_x86_64", *(f"manylinux_2_{n}_x86_64" for n in range(17, 37)))
LABEL = "org.jupyter-ext"
LOCK = Path(tempfile.gettempdir()) / "jupyter-ext-singleuser-image.lock"
SOURCE = Path(__file__).resolve().parents[2]  # the checkout, when run from one


def hub_versions() -> dict[str, str]:
    """The hub's jupyterhub (the image must have the same), and JupyterLab and Jupyter Server
    as the hub's environment has them (so a workspace server is the same as a local one)."""
    import jupyterhub

    pins = {"jupyterhub": jupyterhub.__version__}
    for name in ("jupyterlab", "jupyter-server"):
        with contextlib.suppress(PackageNotFoundError):
            pins[name] = version(name)
    return pins


def build_project_wheel(project: Path, dest: Path) -> Path:
    """jupyter-ext's wheel: `project` itself if it is one, else built from that source folder."""
    if project.is_file() and project.suffix == ".whl":
        return Path(shutil.copy2(project, dest))
    if not (project / "pyproject.toml").exists():
        raise ImageBuildError(
            f"{project} is neither a jupyter-ext source folder nor a wheel: give --project"
        )
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        command = [uv, "build", "--wheel", "--out-dir", str(dest), str(project)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dest), str(project)]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(dest.glob("jupyter_ext-*.whl"))
    if done.returncode != 0 or not wheels:
        raise ImageBuildError(f"building jupyter-ext's wheel failed:\n{done.stderr[-1500:]}")
    return wheels[-1]


def download_wheelhouse(requirements: list[str], dest: Path) -> None:
    """Every wheel the image needs, for Debian's Python 3.11.2 on x86_64, downloaded here."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
        "--dest",
        str(dest),
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "is ignored" not in line]
        raise ImageBuildError("downloading the image's wheels failed:\n" + "\n".join(errors[-15:]))


def install_into(root: Path, wheelhouse: Path, requirements: list[str]) -> None:
    """The `setup` step of the rootfs: the user, the environment, the wheels (offline)."""
    chroot(
        root,
        "useradd",
        "--create-home",
        "--home-dir",
        HOME,
        "--uid",
        str(UID),
        "--user-group",
        "--shell",
        "/bin/bash",
        USER,
    )
    inside = root / "tmp" / "wheelhouse"
    shutil.copytree(wheelhouse, inside)
    chroot(root, "python3", "-m", "venv", VENV)
    chroot(
        root,
        f"{VENV}/bin/python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--no-index",
        "--find-links",
        "/tmp/wheelhouse",
        *requirements,
    )
    shutil.rmtree(inside)
    work = root / HOME.lstrip("/") / "work"  # where the checkout is mounted
    work.mkdir()
    shutil.chown(work, UID, UID)
    probe = "import jupyterhub, jupyterlab, jupyter_ext; print(jupyterhub.__version__)"
    found = chroot(root, f"{VENV}/bin/python", "-c", probe)
    wanted = requirements[0].partition("==")[2]
    if found.strip() != wanted:
        raise ImageBuildError(f"the image has jupyterhub {found.strip()}, not {wanted}")


def build(
    client, tag: str = TAG, project: Path = SOURCE, mirror: str | None = None, log=print
) -> str:
    """Build the image into the Docker engine behind `client`; returns its id."""
    pins = hub_versions()
    with tempfile.TemporaryDirectory(prefix="jupyter-ext-wheelhouse-") as tmp:
        wheelhouse = Path(tmp)
        started = time.monotonic()
        wheel = build_project_wheel(Path(project), wheelhouse)
        requirements = [f"{name}=={pinned}" for name, pinned in pins.items()]
        requirements.append(wheel.name.split("-")[0] + "==" + wheel.name.split("-")[1])
        download_wheelhouse([*requirements[:-1], str(wheel)], wheelhouse)
        log(
            f"{tag}: {len(list(wheelhouse.glob('*.whl')))} wheels in "
            f"{time.monotonic() - started:.0f} s; Debian {PACKAGES} next"
        )
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        labels = {
            f"{LABEL}.jupyterhub-version": pins["jupyterhub"],
            f"{LABEL}.jupyter-ext-wheel-sha256": digest,
        }
        changes = [
            f"ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            f"ENV LANG=C.UTF-8 HOME={HOME} SHELL=/bin/bash",
            f"USER {UID}:{UID}",
            f"WORKDIR {HOME}",
            f"CMD {json.dumps(['jupyterhub-singleuser'])}",
            "LABEL " + " ".join(f"{key}={value}" for key, value in labels.items()),
        ]
        return build_debian_image(
            client,
            tag,
            PACKAGES,
            changes,
            setup=lambda root: install_into(root, wheelhouse, requirements),
            mirror=mirror,
        )


def ensure_image(
    client,
    tag: str = TAG,
    rebuild: bool = False,
    project: Path = SOURCE,
    mirror: str | None = None,
    log=print,
) -> str:
    """The image's id: kept if present with the hub's jupyterhub, else built (one build at a
    time on this machine: a second caller waits and then finds it)."""
    import docker.errors

    LOCK.touch(exist_ok=True)
    with LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            image = client.images.get(tag)
        except docker.errors.ImageNotFound:
            image = None
        hub = hub_versions()["jupyterhub"]
        if image is not None and not rebuild:
            has = (image.labels or {}).get(f"{LABEL}.jupyterhub-version")
            if has == hub:
                log(f"{tag}: present")
                return image.id
            log(f"{tag}: has jupyterhub {has}, the hub {hub}: rebuilding")
        started = time.monotonic()
        built = build(client, tag, project, mirror, log)
        log(f"{tag}: built in {time.monotonic() - started:.0f} s")
        if image is not None and image.id != built:  # the old one, now untagged: not kept
            with contextlib.suppress(docker.errors.APIError):  # a container still uses it
                client.images.remove(image.id)
        return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=TAG, help=f"the image's name (default {TAG})")
    parser.add_argument("--rebuild", action="store_true", help="build even if it is present")
    parser.add_argument("--mirror", help="Debian mirror (default: this machine's apt mirror)")
    parser.add_argument(
        "--project",
        type=Path,
        default=SOURCE,
        help="jupyter-ext's source folder or wheel (default: this checkout)",
    )
    args = parser.parse_args(argv)
    import docker

    try:
        ensure_image(docker.from_env(), args.tag, args.rebuild, args.project, args.mirror)
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
