"""A hostile repository corpus, through the real job server and runner, local and Docker.

Each repository is an analyst's attack on the site: names that become paths
(actions, outputs, needs, datasets), outputs and repository files that are links
out, a site record forged by a job, a huge file, YAML bombs, datasets.yaml
tricks. A project developer asks for its actions as anyone would. Each attack is
either refused before anything runs (a 4xx `application/problem+json` with a
sentence, no job made) or runs with nothing written outside the site's own
folder: the test photographs the site's surroundings (a decoy of the host's
other files, the data roots, the repositories, and /tmp for the attack's
marker) before and after. No status message may show a path of the site, a
stack trace or the host's name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import resource
from dataclasses import dataclass, field

import pytest

from .conftest import executor_with

PAYLOAD = "written by a job\n"
PAYLOAD_SHA = hashlib.sha256(PAYLOAD.encode()).hexdigest()
WRITES_A = (
    "import os\nos.makedirs('out', exist_ok=True)\nopen('out/a.csv', 'w').write('a\\n1\\n')\n"
)


def one_action(name: str, outputs: str = "{highly_sensitive: {x: out/a.csv}}", **extra) -> dict:
    """A project.yaml with one action of this (YAML) name that writes out/a.csv."""
    more = "".join(f"    {key}: {value}\n" for key, value in extra.items())
    text = f'version: "5"\nactions:\n  {name}:\n    run: python:v2 a.py\n    outputs: {outputs}\n'
    return {"project.yaml": text + more, "a.py": WRITES_A}


def laughs(indent: str = "    - ") -> str:
    """A billion laughs as list items: nine anchors, each nine of the one before (9**9)."""
    lines = [f'{indent}&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for before, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{indent}&{name} [" + ",".join([f"*{before}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BASE = one_action("make")["project.yaml"]

# -- refused before anything runs: the job server answers 4xx, makes no job ----------------

REFUSED = {
    "action-absolute-traversal": (
        one_action('"/../../../../../../../../../tmp/MARKER/record"'),
        "/../../../../../../../../../tmp/MARKER/record",
    ),
    "action-relative-traversal": (
        one_action('"../../../../outside/MARKER"'),
        "../../../../outside/MARKER",
    ),
    "action-dot-dot": (one_action('".."'), ".."),
    "action-dot": (one_action('"."'), "."),
    "action-slash": (one_action('"a/../../b"'), "a/../../b"),
    "action-back-slash": (one_action('"a\\\\..\\\\b"'), "a\\..\\b"),
    "action-nul": (  # a NUL cannot even be asked for: the file is refused as a whole
        {
            **one_action("make"),
            "project.yaml": BASE + '  "a\\0b":\n    run: python:v2 a.py\n'
            "    outputs: {highly_sensitive: {y: out/b.csv}}\n",
        },
        "make",
    ),
    "action-newline": (one_action('"a\\nb"'), "a\nb"),
    "needs-traversal": (
        {
            "project.yaml": BASE
            + '  "../../outside/MARKER":\n    run: python:v2 a.py\n    needs: [make]\n'
            "    outputs: {highly_sensitive: {y: out/b.csv}}\n"
            '  after:\n    run: python:v2 a.py\n    needs: ["../../outside/MARKER"]\n'
            "    outputs: {highly_sensitive: {z: out/c.csv}}\n",
            "a.py": WRITES_A,
        },
        "after",
    ),
    "output-name-traversal": (
        one_action("make", '{highly_sensitive: {"../../outside/MARKER": out/a.csv}}'),
        "make",
    ),
    "output-path-parent": (one_action("make", "{highly_sensitive: {x: ../outside/a.csv}}"), "make"),
    "output-path-absolute": (
        one_action("make", "{highly_sensitive: {x: /tmp/MARKER.csv}}"),
        "make",
    ),
    "yaml-deep-nesting": (one_action("make", config="[" * 100_000 + "]" * 100_000), "make"),
    "project-yaml-is-a-link": ({"a.py": WRITES_A}, "make"),  # project.yaml -> /etc/passwd
    "datasets-name-traversal": (
        {**one_action("make"), "datasets.yaml": 'version: 1\nactions:\n  make: ["../secret"]\n'},
        "make",
    ),
    "datasets-name-inner-traversal": (
        {
            **one_action("make"),
            "datasets.yaml": 'version: 1\nactions:\n  make: ["cohort/../../secret"]\n',
        },
        "make",
    ),
    "datasets-not-approved": (
        {**one_action("make"), "datasets.yaml": "version: 1\nactions:\n  make: [secret]\n"},
        "make",
    ),
    "datasets-another-projects": (
        {**one_action("make"), "datasets.yaml": "version: 1\nactions:\n  make: [cohort]\n"},
        "make",
    ),
    "datasets-version-zero": (
        {**one_action("make"), "datasets.yaml": "version: 1\nactions:\n  make: [cohort@0]\n"},
        "make",
    ),
    "datasets-alias-bomb": (
        {**one_action("make"), "datasets.yaml": "version: 1\nactions:\n  make:\n" + laughs()},
        "make",
    ),
    "datasets-is-a-link": (one_action("make"), "make"),  # datasets.yaml -> /etc/passwd
}
LINKED_FILES = {
    "project-yaml-is-a-link": {"project.yaml": "/etc/passwd"},
    "datasets-is-a-link": {"datasets.yaml": "/etc/passwd"},
}
COHORT = "id,age\n1,40\n2,41\n"


@contextlib.contextmanager
def memory_ceiling(extra_bytes: int = 3 << 30):
    """A bomb that gets through may cost this process memory, never the machine's."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as status:
        size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + extra_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def assert_refused(site, answer, mentions: str) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:500])
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and len(detail.split()) >= 4, detail  # a sentence
    assert mentions in detail, detail
    assert "root:x:0:0" not in answer.text  # a link's target is never read as a file
    assert not site.leaks([answer.text]), answer.text


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_before_it_runs(site, case):
    files, action = REFUSED[case]
    site.dataset("cohort", COHORT, approved_for=["other-study"])  # not the attacker's project
    site.dataset("secret", COHORT.replace("4", "5"))  # approved for no one
    site.repository("hostile", files, LINKED_FILES.get(case))
    watch = site.watch()
    with memory_ceiling():
        answer = site.submit("hostile", [action.replace("MARKER", site.marker)])
    which = "datasets.yaml" if case.startswith("datasets") else "project.yaml"
    assert_refused(site, answer, "dataset" if case.startswith("datasets") else which)
    assert (
        site.world.client("dev").get("jobs", params={"workspace": "hostile"}).json()["items"] == []
    )
    assert watch.changes() == []


# -- run, contained: nothing outside the site's folder changes -----------------------------


@dataclass
class Attack:
    files: dict[str, str | bytes]
    steps: list[list[str]]  # job requests in order, each run to its end
    links: dict[str, str] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)  # the sample workspace's actions, run first
    workspace: str = "hostile"  # its name on the job server (a compromised one may send any)


def forged_record() -> str:
    outputs = {
        "UP/OUTSIDE/MARKER-relative.txt": PAYLOAD_SHA,
        "/tmp/MARKER-absolute.txt": PAYLOAD_SHA,
    }
    return json.dumps({"job": "forged", "outputs": outputs})


LINK_OUT = (
    "import os, sys\nos.makedirs('out', exist_ok=True)\n"
    "for name, target in zip(sys.argv[1::2], sys.argv[2::2]):\n    os.symlink(target, name)\n"
)
FORGER = (
    "import os, shutil\nos.makedirs('.jupyter-ext', exist_ok=True)\nos.makedirs('out', "
    "exist_ok=True)\nshutil.copyfile('forged.json', '.jupyter-ext/victim.json')\n"
    f"open('out/payload.txt', 'w').write({PAYLOAD!r})\n"
)
PRODUCER = (  # its checkout's `a` is a link out: it makes `a` a folder of its own, and fills it
    "import os\nif os.path.islink('a'):\n    os.unlink('a')\nos.makedirs('a', exist_ok=True)\n"
    f"open('a/MARKER.csv', 'w').write({PAYLOAD!r})\n"
)
SAMPLE_DATASET = "/SITE/workspaces/sample/output/dataset.csv"


def project(actions: dict[str, str]) -> str:
    """project.yaml of actions given as `name: run|outputs[|needs]`."""
    text = 'version: "5"\nactions:\n'
    for name, spec in actions.items():
        run, outputs, *needs = spec.split("|")
        text += f"  {name}:\n    run: python:v2 {run}\n    outputs: {outputs}\n"
        text += f"    needs: [{needs[0]}]\n" if needs else ""
    return text


ATTACKS = {
    "output-is-a-link-to-etc-passwd": Attack(
        {
            "project.yaml": project(
                {
                    "leak": "link.py out/passwd.csv /etc/passwd|"
                    "{moderately_sensitive: {p: out/passwd.csv}}"
                }
            ),
            "link.py": LINK_OUT,
        },
        [["leak"]],
    ),
    "output-is-a-link-to-another-workspace": Attack(
        {
            "project.yaml": project(
                {
                    "steal": f"link.py out/stolen.csv {SAMPLE_DATASET} "
                    "out/near.csv UP/SITE/workspaces/sample/output/"
                    "dataset.csv|{highly_sensitive: {s: out/*.csv}}"
                }
            ),
            "link.py": LINK_OUT,
        },
        [["steal"]],
        first=["generate_dataset"],
    ),
    "output-folder-is-a-link-out": Attack(
        {
            "project.yaml": project(
                {"peek": "link.py deep /OUTSIDE|{highly_sensitive: {n: deep/notes.txt}}"}
            ),
            "link.py": LINK_OUT,
        },
        [["peek"]],
    ),
    "repository-links-out": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"}),
            "a.py": WRITES_A,
        },
        [["make"]],
        links={"passwd.csv": "/etc/passwd", "escape": "UP/OUTSIDE"},
    ),
    "repository-links-ordered-to-escape": Attack(  # `a` is checked before `b` makes it leave
        {
            "project.yaml": project(
                {
                    "producer": "producer.py|{highly_sensitive: {p: a/*.csv}}",
                    "consumer": "a.py|{highly_sensitive: {x: out/a.csv}}|producer",
                }
            ),
            "producer.py": PRODUCER,
            "a.py": WRITES_A,
        },
        [["consumer"]],
        links={"a": "BBB/UP/OUTSIDE", "b": "."},
    ),
    "site-record-forged-by-a-job": Attack(
        {
            "project.yaml": project(
                {
                    "victim": "a.py|{highly_sensitive: {x: out/a.csv}}",
                    "forger": "forger.py|{highly_sensitive: {r: .jupyter-ext/victim.json, "
                    "p: out/payload.txt}}",
                    "consumer": "c.py|{highly_sensitive: {c: out/c.csv}}|victim",
                }
            ),
            "a.py": WRITES_A,
            "c.py": WRITES_A.replace("a.csv", "c.csv"),
            "forger.py": FORGER,
            "forged.json": forged_record(),
        },
        [["victim"], ["forger"], ["consumer"]],
    ),
    "workspace-named-to-leave": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"}),
            "a.py": WRITES_A,
        },
        [["make"]],
        workspace="UP/OUTSIDE/MARKER",
    ),
    "workspace-named-absolute": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"}),
            "a.py": WRITES_A,
        },
        [["make"]],
        workspace="/tmp/MARKER",
    ),
    "huge-file": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"}),
            "a.py": WRITES_A,
            "huge.bin": bytes(64 << 20),
        },
        [["make"]],
    ),
    "huge-project-yaml": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"})
            + ("# padding padding padding padding padding padding padding padding\n" * 250_000),
            "a.py": WRITES_A,
        },
        [["make"]],
    ),
    "yaml-alias-bomb-in-config": Attack(
        {
            "project.yaml": project({"make": "a.py|{highly_sensitive: {x: out/a.csv}}"})
            + "    config:\n"
            + laughs("      - "),
            "a.py": WRITES_A,
        },
        [["make"]],
    ),
    "odd-but-harmless-names": Attack(
        {
            "project.yaml": project(
                {
                    "v1..2-final_": "a.py|{highly_sensitive: {'odd name ü': "
                    "'out/naïve résumé *.csv'}}"
                }
            ),
            "a.py": WRITES_A.replace("out/a.csv", "out/naïve résumé 1.csv"),
        },
        [["v1..2-final_"]],
    ),
}


UP = "/".join([".."] * 24)  # from any folder of the site up to /, however deep it lies


def fill(text: str, site) -> str:
    """The corpus's words for the site's places: UP climbs to / (UP/OUTSIDE is a relative
    path to the decoy from anywhere); BBB is as many names as UP has `..` (for links that
    are inside while `b` does not exist yet)."""
    return (
        text.replace("MARKER", site.marker)
        .replace("BBB", "/".join(["b"] * 24))
        .replace("UP/", UP + "/")
        .replace("SITE", str(site.site).lstrip("/"))
        .replace("OUTSIDE", str(site.outside).lstrip("/"))
    )


def prepare(site, attack: Attack) -> tuple[str, list[str]]:
    """The attack's repository and workspace: its name, and the attacker's link targets."""
    files = {k: fill(v, site) if isinstance(v, str) else v for k, v in attack.files.items()}
    workspace = fill(attack.workspace, site)
    links = {name: fill(target, site) for name, target in attack.links.items()}
    site.repository(workspace, files, links)
    return workspace, list(links.values())


def run_attack(site, attack: Attack, workspace: str, runner) -> list[dict]:
    finished = []
    with runner:
        if attack.first:
            finished.append(site.run("sample", attack.first))
        for actions in attack.steps:
            finished.append(site.run(workspace, actions))
    return [f for f in finished if f is not None]


def files_under(folder) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("case", list(ATTACKS))
def test_runs_contained(site, case, executor_kind, request):
    attack = ATTACKS[case]
    executor = executor_with(
        executor_kind, request, time_limit=60, memory_mb=512, job_disk_mb=256, pids_limit=128
    )
    workspace, theirs = prepare(site, attack)
    runner = site.runner(executor)
    watch = site.watch()
    with memory_ceiling():
        finished = run_attack(site, attack, workspace, runner)
    for refused in site.refusals:  # refused instead of run: said as a sentence
        assert_refused(site, refused, "")
    assert watch.changes() == []
    messages = site.status_messages()
    assert not site.leaks(messages, theirs), messages
    jobs = {j["action"]: j for request_ in finished for j in request_["jobs"]}
    kept = files_under(site.site / "workspaces") if (site.site / "workspaces").exists() else {}
    stolen = [
        p
        for p, data in kept.items()
        if b"root:x:0:0" in data or b"(decoy)" in data or (b"north,40" in data)
    ]
    assert not stolen, stolen  # no file of the host, or of another site, became an output
    if case == "output-is-a-link-to-etc-passwd":
        assert (
            jobs["leak"]["state"] == "failed"
            and "out/passwd.csv" in (jobs["leak"]["status_message"])
        ), jobs["leak"]
    if case == "output-is-a-link-to-another-workspace":
        assert jobs["generate_dataset"]["state"] == "succeeded", jobs
        assert jobs["steal"]["state"] == "failed", jobs["steal"]
        theirs = (site.site / "workspaces" / "sample" / "output" / "dataset.csv").read_bytes()
        hostile = site.site / "workspaces" / "hostile"
        assert theirs not in files_under(hostile).values() if hostile.exists() else True
        outputs = site.world.client("dev").get(f"jobs/{jobs['steal']['identifier']}/outputs")
        assert outputs.status_code == 200 and outputs.json() == [], outputs.text
    if case == "output-folder-is-a-link-out":
        assert jobs["peek"]["state"] == "failed", jobs["peek"]
