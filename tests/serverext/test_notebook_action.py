"""`jupyter-ext/notebook-action` and `jupyter-ext/git/commit-push` in a real Jupyter server on a
git checkout of the sample workspace: a notebook found to be an action (either form of its
command) or proposed as one from what its code writes and reads; the entry written into
project.yaml with its comments kept, or refused with nothing written; the two files committed
and pushed to a real bare remote, with git's refusals said without credentials."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from jupyter_ext.pipeline import check_pipeline

from ..jobserver.harness import git

PARAMETERS = 'region = "all"\nthreshold = 5\nweights = [1, 2]\n'
CODE = (
    "import pandas as pd\n"
    "import matplotlib.pyplot as plt\n"
    'df = pd.read_csv("../output/dataset.csv")\n'
    'df.to_csv("../output/explore_table.csv")\n'
    'plt.savefig(f"../output/explore_{region}.png")\n'
    'with open("../output/explore_notes.txt", "w") as f:\n'
    '    f.write("seen")\n'
)
EXPLORE = """
  explore:
    run: jupyter:v1 analysis/explore.ipynb --html output/explore.html
    needs: [generate_dataset]
    config:
      threshold: 10
    outputs:
      moderately_sensitive:
        report: output/explore.html
"""
REPORT = """
  nb_report:
    run: jupyter:v1 jupyter nbconvert /workspace/analysis/report.ipynb --execute --to html --output-dir=/workspace/output
    outputs:
      moderately_sensitive:
        html: output/report.html
"""  # noqa: E501


def notebook(parameters: str = PARAMETERS, code: str = CODE) -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Explore"},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": parameters},
        {"cell_type": "code", "metadata": {}, "source": code},
    ]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


@pytest.fixture
def checkout(jp_root_dir):
    (jp_root_dir / "analysis" / "explore.ipynb").write_text(notebook())
    return jp_root_dir


async def ask(jp_fetch, path: str) -> dict:
    response = await jp_fetch("jupyter-ext", "notebook-action", params={"path": path})
    return json.loads(response.body)


async def post(jp_fetch, *parts, **body) -> dict:
    response = await jp_fetch(*parts, method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def refused(call) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as error:
        await call
    return error.value.code, json.loads(error.value.response.body)["message"]


async def test_a_notebook_that_is_not_an_action_gets_its_entry_proposed_with_the_diff(
    jp_fetch, checkout
):
    answer = await ask(jp_fetch, "analysis/explore.ipynb")
    assert answer["is_action"] is False and answer["actions"] == []
    assert answer["parameters"] == [
        {"name": "region", "default": "all", "kind": "str"},
        {"name": "threshold", "default": 5, "kind": "int"},
        {"name": "weights", "default": [1, 2], "kind": "list"},
    ]
    proposal = answer["proposal"]
    assert proposal["name"] == "explore"
    assert proposal["run"] == "jupyter:v1 analysis/explore.ipynb"
    assert proposal["needs"] == ["generate_dataset"]  # it reads output/dataset.csv
    assert proposal["outputs"] == {
        "moderately_sensitive": {
            "html": "output/explore.html",
            "explore_table": "output/explore_table.csv",
            "explore_each": "output/explore_*.png",
            "explore_notes": "output/explore_notes.txt",
        },
        "highly_sensitive": {"notebook": "output/explore.ipynb"},
    }
    assert proposal["valid"] is True and proposal["problems"] == []
    assert "+  explore:\n+    run: jupyter:v1 analysis/explore.ipynb\n" in proposal["diff"]
    assert "+    needs: [generate_dataset]\n" in proposal["diff"]
    # asking wrote nothing
    assert git(checkout, "status", "--porcelain") == "?? analysis/explore.ipynb"


async def test_an_action_is_found_in_either_form_of_its_command_with_config_and_parameters(
    jp_fetch, checkout
):
    (checkout / "analysis" / "report.ipynb").write_text(notebook("title = 'R'\n", "print(1)"))
    (checkout / "analysis" / "plain.ipynb").write_text(notebook("", ""))
    project = checkout / "project.yaml"
    project.write_text(project.read_text() + EXPLORE + REPORT)
    assert check_pipeline(project.read_text())[1] == []
    explore = await ask(jp_fetch, "analysis/explore.ipynb")
    assert explore["is_action"] is True and explore["proposal"] is None
    (action,) = explore["actions"]
    assert action["name"] == "explore" and action["config"] == {"threshold": 10}
    assert action["needs"] == ["generate_dataset"]
    assert [p["name"] for p in explore["parameters"]] == ["region", "threshold", "weights"]
    report = await ask(jp_fetch, "./analysis/report.ipynb")  # named in nbconvert's form
    assert report["is_action"] is True and report["path"] == "analysis/report.ipynb"
    assert [a["name"] for a in report["actions"]] == ["nb_report"]
    assert report["parameters"] == [{"name": "title", "default": "R", "kind": "str"}]
    plain = await ask(jp_fetch, "analysis/plain.ipynb")
    assert plain["is_action"] is False and plain["parameters"] == []
    assert plain["proposal"]["name"] == "plain" and plain["proposal"]["needs"] == []


async def test_adding_the_entry_keeps_every_comment_and_line_of_project_yaml(jp_fetch, checkout):
    project = checkout / "project.yaml"
    old = project.read_text().replace("actions:\n", "actions:  # keep this comment\n", 1)
    project.write_text(old + "  # a comment after the last action\n")
    before = project.read_text()
    proposal = (await ask(jp_fetch, "analysis/explore.ipynb"))["proposal"]
    edited = {
        "path": "analysis/explore.ipynb",
        "name": "explore_north",
        "needs": ["generate_dataset"],
        "outputs": {
            "moderately_sensitive": {"html": "output/explore.html"},
            "highly_sensitive": {"notebook": "output/explore.ipynb"},
        },
        "config": {"region": "north"},
    }
    tried = await post(jp_fetch, "jupyter-ext", "notebook-action", **edited, dry_run=True)
    assert tried["written"] is False and tried["valid"] is True
    assert "+  explore_north:\n" in tried["diff"] and "+      region: north\n" in tried["diff"]
    assert project.read_text() == before  # a dry run writes nothing
    written = await post(jp_fetch, "jupyter-ext", "notebook-action", **edited)
    assert written["written"] is True and written["diff"] == tried["diff"]
    after = project.read_text()
    assert after.startswith(before)  # every line kept, the entry after the last action
    assert "# keep this comment" in after and "# a comment after the last action" in after
    pipeline, problems, _ = check_pipeline(after)
    assert problems == [] and pipeline.actions["explore_north"].config == {"region": "north"}
    assert proposal["name"] == "explore"  # the proposal was edited, and the edit written
    answer = await ask(jp_fetch, "analysis/explore.ipynb")
    assert answer["is_action"] is True and answer["actions"][0]["name"] == "explore_north"


async def test_refusals_say_why_and_write_nothing(jp_fetch, checkout, tmp_path):
    project = checkout / "project.yaml"
    before = project.read_text()
    outside = tmp_path / "outside.ipynb"
    outside.write_text(notebook())
    (checkout / "analysis" / "link.ipynb").symlink_to(outside)
    (checkout / "analysis" / "broken.ipynb").write_text("{not json")
    good = {
        "path": "analysis/explore.ipynb",
        "name": "explore",
        "outputs": {"moderately_sensitive": {"html": "output/explore.html"}},
    }

    def adding(**changes):
        return post(jp_fetch, "jupyter-ext", "notebook-action", **{**good, **changes})

    cases = [
        (adding(name="make_table"), 409, "has an action make_table already"),
        (adding(needs=["no_such_action"]), 422, "would not be valid with this action"),
        (
            adding(outputs={"moderately_sensitive": {"data": "output/x.parquet"}}),
            422,
            "cannot be moderately_sensitive",
        ),
        (adding(name="../x"), 400, "give the action a name"),
        (adding(path="../explore.ipynb"), 400, "../explore.ipynb is outside the workspace"),
        (adding(path=str(outside)), 400, "is outside the workspace"),
        (adding(path="analysis/link.ipynb"), 400, "is a link to a file outside the workspace"),
        (adding(path="analysis/derive_measures.py"), 400, "is not a notebook"),
        (adding(path="analysis/none.ipynb"), 404, "there is no notebook analysis/none.ipynb"),
        (adding(path="analysis/broken.ipynb"), 400, "is not valid JSON"),
        (adding(path=None), 400, 'give "path"'),
    ]
    for call, code, says in cases:
        status, message = await refused(call)
        assert (status, says) == (code, says) and says in message, message
        assert str(checkout) not in message  # the path as given, not where the server keeps it
        assert project.read_text() == before
    status, message = await refused(ask(jp_fetch, "../../etc/passwd.ipynb"))
    assert status == 400 and "outside the workspace" in message
    # a notebook that is an action already is not added twice
    project.write_text(before + EXPLORE)
    status, message = await refused(adding(name="again"))
    assert status == 409 and "is the action explore of project.yaml already" in message
    assert project.read_text() == before + EXPLORE


# -- commit and push ------------------------------------------------------------------------


@pytest.fixture
def remote(tmp_path, checkout):
    """A bare repository as the checkout's origin (as GitHub is for a real workspace)."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    git(checkout, "remote", "set-url", "origin", str(bare))
    git(checkout, "fetch", "-q", "origin")
    git(checkout, "branch", "-q", "--set-upstream-to", "origin/main", "main")
    return bare


async def test_commit_and_push_sends_exactly_the_named_files(jp_fetch, checkout, remote):
    (checkout / "README.md").write_text("an edit that is not part of it\n")
    await post(
        jp_fetch,
        "jupyter-ext",
        "notebook-action",
        path="analysis/explore.ipynb",
        name="explore",
        needs=["generate_dataset"],
        outputs={"moderately_sensitive": {"html": "output/explore.html"}},
    )
    paths = ["project.yaml", "analysis/explore.ipynb"]
    answer = await post(
        jp_fetch, "jupyter-ext", "git", "commit-push", paths=paths, message="Add explore"
    )
    assert answer["committed"] is True and answer["pushed"] is True
    assert answer["branch"] == "main"
    assert git(remote, "rev-parse", "main") == answer["commit"]
    assert git(remote, "log", "-1", "--format=%s", "main") == "Add explore"
    changed = git(remote, "show", "--name-only", "--format=", "main").splitlines()
    assert sorted(changed) == sorted(paths)
    # the other edit stays uncommitted, and the panel's warnings say only that
    assert git(checkout, "status", "--porcelain") == "M README.md"
    assert answer["checkout"]["unpushed"] == 0 and answer["checkout"]["uncommitted_count"] == 1
    # clicked again with nothing new: nothing to commit, the push says it is up to date
    again = await post(jp_fetch, "jupyter-ext", "git", "commit-push", paths=paths, message="x")
    assert again["committed"] is False and again["commit"] == answer["commit"]


async def test_git_refusals_are_sentences_without_credentials(jp_fetch, checkout, remote, tmp_path):
    # someone else pushed first: the push is refused and the commit stays here
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    (other / "NEWS.md").write_text("news\n")
    git(other, "add", "NEWS.md")
    git(other, "commit", "-q", "-m", "news")
    git(other, "push", "-q", "origin", "main")
    (checkout / "README.md").write_text("mine\n")
    status, message = await refused(
        post(jp_fetch, "jupyter-ext", "git", "commit-push", paths=["README.md"], message="Mine")
    )
    assert status == 409 and "git could not push main to origin" in message, message
    assert message.startswith("committed ")
    # a remote whose URL holds credentials: they are never said
    git(checkout, "remote", "set-url", "origin", "http://analyst:s3cr3t-t0ken@127.0.0.1:9/r.git")
    status, message = await refused(
        post(jp_fetch, "jupyter-ext", "git", "commit-push", paths=["README.md"], message="Mine")
    )
    assert status == 409 and "s3cr3t" not in message and "analyst" not in message, message
    for paths, says in (
        (["../outside.txt"], "outside the workspace"),
        ([], 'give "paths"'),
        (["no/such/file.txt"], "did not match"),
    ):
        status, message = await refused(
            post(jp_fetch, "jupyter-ext", "git", "commit-push", paths=paths, message="x")
        )
        assert status in (400, 409) and says in message, message
    status, message = await refused(
        post(jp_fetch, "jupyter-ext", "git", "commit-push", paths=["README.md"], message=" ")
    )
    assert status == 400 and '"message"' in message
