"""What the demo makes once in its folder and reuses: keys, the sample repository, the
synthetic dataset and its dummy data. Each is written beside its place and moved there
whole, so a Ctrl-C at any moment leaves none half made for the next run to trust.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import subprocess
from pathlib import Path

from cryptography.fernet import Fernet

from .hubstack import StackError

GIT_ENV = {
    "GIT_AUTHOR_NAME": "jupyter-ext demo",
    "GIT_AUTHOR_EMAIL": "demo@localhost",
    "GIT_COMMITTER_NAME": "jupyter-ext demo",
    "GIT_COMMITTER_EMAIL": "demo@localhost",
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
}


def package_data(name: str) -> Path:
    """A folder shipped with the package (in a source checkout: beside it)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / name, package.parent / name):
        if candidate.exists():
            return candidate
    raise StackError(f"{name}/ is missing from this installation")


def keys(folder: Path) -> dict[str, str]:
    """The job server's Fernet key and the hub's crypt key, made once."""
    path = folder / "keys.json"
    if not path.exists():
        import secrets

        keys = {"jobserver": Fernet.generate_key().decode(), "hub": secrets.token_hex(32)}
        write_whole(path, json.dumps(keys), private=True)
    return json.loads(path.read_text())


def repository(folder: Path, name: str, debug_branch: str) -> Path:
    """A bare repository (so learners can push to it) of the sample project with the
    workshop notebooks at its top (so they are in the workspace when it opens, and run
    beside project.yaml), with a branch `debug_branch` whose derive_measures.py has a
    bug, for the debugging notebook; cloned beside its place and moved there whole, so a
    Ctrl-C leaves none half made."""
    repo = folder / "repos" / f"{name}.git"
    if (repo / "HEAD").exists():
        return repo
    work = folder / "repos" / ".work"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(package_data("notebooks") / "sample-project", work)
    for notebook in sorted(package_data("notebooks").glob("*.ipynb")):
        shutil.copy(notebook, work / notebook.name)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=work, env=GIT_ENV, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "The sample project")
    git("checkout", "-q", "-b", debug_branch)
    script = work / "analysis" / "derive_measures.py"
    script.write_text(script.read_text().replace('row["region"]', 'row["regoin"]'))
    git("commit", "-q", "-am", "Tidy derive_measures (with a typo to find)")
    git("checkout", "-q", "main")
    partial = repo.with_name(f".{repo.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    git("clone", "-q", "--bare", str(work), str(partial))
    shutil.rmtree(repo, ignore_errors=True)  # one without HEAD: an older demo's, cut short
    partial.rename(repo)
    shutil.rmtree(work)
    return repo


def dataset(data_root: Path, rows: int = 1000, seed: int = 20240101, risk: float = 0.2) -> Path:
    """A synthetic dataset on a site (rows of made-up patients): every site's has the same
    columns; the number of rows, the seed and how common the condition is make it its own."""
    place = data_root / "synthetic"
    if not (place / "patients.csv").exists():
        place.mkdir(parents=True, exist_ok=True)
        _write_patients(place / "patients.csv", rows, random.Random(seed), risk)
    return place


def dummy_data(folder: Path) -> Path:
    """Dummy data of the synthetic dataset: the same columns, other made-up rows, few; it
    may leave the site, so analysts can try their code on it in their workspace."""
    place = folder / "dummy-data" / "synthetic"
    if not (place / "patients.csv").exists():
        place.mkdir(parents=True, exist_ok=True)
        _write_patients(place / "patients.csv", 50, random.Random(7))
    return place


def _write_patients(path: Path, rows: int, rng: random.Random, risk: float = 0.2) -> None:
    text = io.StringIO(newline="")
    out = csv.writer(text)
    out.writerow(["patient_id", "age", "sex", "region", "has_condition"])
    for i in range(rows):
        region = rng.choice(["North", "South", "East", "West"])
        out.writerow([i, rng.randint(18, 95), rng.choice("FM"), region, int(rng.random() < risk)])
    write_whole(path, text.getvalue())


def write_whole(path: Path, text: str, private: bool = False) -> None:
    """Written beside and renamed into place: a Ctrl-C never leaves half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    if private:
        partial.chmod(0o600)
    partial.replace(path)
