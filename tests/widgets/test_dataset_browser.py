"""`DatasetBrowser` against the real job server: datasets registered with the runner token
(manifests computed by the site's own code, dummy bytes sent by the runner's route), asked
for and approved, driven by clicking its buttons."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client
from jupyter_ext.widgets import DatasetBrowser

from ..client.conftest import root
from ..client.test_datasets_client import DUMMY_CSV, register
from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer


@pytest.fixture
def world(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    world.user("governor", ["governance_reviewer"])
    made = []

    def connect(username: str, **options) -> Client:
        made.append(Client(root(world), token=world.tokens[username], **options))
        return made[-1]

    world.connect = connect
    yield world
    for client in made:
        client.close()
    world.close()


def test_see_the_usable_ones_load_dummy_data_and_ask_for_another(world, tmp_path):
    register(world, tmp_path / "a")
    register(world, tmp_path / "b", name="hospital", dummy=DUMMY_CSV.replace("North", "<b>N</b>"))
    register(world, tmp_path / "c", name="old-survey", dummy=None)
    runner = world.client(token=world.runner_token)
    assert runner.post("runner/datasets/old-survey/retire").status_code == 200
    dev = world.connect("dev", workspace="sample")
    asked = dev.datasets.request("primary-care", "rates by region")
    world.connect("governor").datasets.approve(asked, "fits")

    browser = DatasetBrowser(client=dev)
    assert browser.project == "sample-study"
    assert [c.dataset.name for c in browser.usable] == ["primary-care"]
    assert [c.dataset.name for c in browser.others] == ["hospital"]  # the retired one is gone
    assert browser.tabs.titles == ("sample-study may use (1)", "Other datasets (1)")
    card = browser.card("primary-care")
    shown = card.details.value
    assert "held by uni" in shown and "GP records, 2019-2024<br>One row a patient." in shown
    assert "<code>patients.csv</code>" in shown and "20 rows" in shown
    assert "weight <i>number</i>" in shown and "diagnosed <i>date</i>" in shown
    assert card.ask not in card.children  # it may be used: nothing to ask

    rows = card.load_dummy()
    assert rows["patients.csv"][0]["age"] == 34
    preview = "".join(child.value for child in card.preview.children)
    assert "<th>patient_id</th>" in preview and "<td>2021-03-04</td>" in preview
    assert "notes/README.txt" in preview  # named, not shown
    card.load.click()  # the button does the same
    assert card.preview.children

    other = browser.card("hospital")
    other.load.click()
    assert "&lt;b&gt;N&lt;/b&gt;" in other.preview.children[1].value  # data, never markup
    other.ask.click()
    assert "Say what the project will use it for" in other.outcome.value
    assert list(dev.datasets.access(state="requested")) == []  # nothing was sent
    other.purpose.value = "admissions by region"
    other.ask.click()
    assert other.request.state == "requested" and other.ask.disabled
    assert "a Governance Reviewer decides" in other.outcome.value
    (sent,) = dev.datasets.access(state="requested")
    assert (sent.dataset, sent.purpose, sent.project) == (
        "hospital",
        "admissions by region",
        "sample-study",
    )

    browser.refresh()  # the request shows, and the button stays off
    again = browser.card("hospital")
    assert again.ask.disabled and "dev asked on" in again.outcome.value
    text = repr(browser)
    assert text.startswith("Datasets sample-study may use:\n  primary-care on tpp (uni)")
    assert "patients.csv, 20 rows: patient_id integer, age integer" in text
    assert "asked: requested" in text


def test_a_project_with_none_and_one_who_cannot_see_it(world, tmp_path):
    register(world, tmp_path, dummy=None)
    browser = DatasetBrowser(client=world.connect("dev"), project="sample-study")
    (note,) = browser.tabs.children[0].children
    assert browser.usable == [] and "may use no dataset yet" in note.value
    card = browser.card("primary-care")
    assert card.load.disabled and card.load.tooltip == "It has no dummy data"

    outsider = DatasetBrowser(client=world.connect("outsider"), project="sample-study")
    assert "Cannot read the datasets" in outsider.message.value and outsider.cards == {}
