"""`client.datasets` against the real job server: a dataset registered with the runner token
(its manifests computed by the site's own code), asked for, decided, and its dummy data
sent by the runner's route and loaded in one call."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import sys

import pytest

from jupyter_ext import schema
from jupyter_ext.client import (
    AccessRequest,
    AsyncClient,
    ChecksumMismatch,
    Client,
    ClientError,
    Conflict,
    Dataset,
    Forbidden,
)
from jupyter_ext.client.datasets import convert, load

from .conftest import root

DUMMY_CSV = (
    "patient_id,age,weight,smoker,diagnosed,region\n"
    "1,34,70.5,true,2021-03-04,North\n"
    "2,51,,no,,South\n"
    "3,,82,F,2020-12-31,\n"
)
DUMMY_NOTE = "Made-up rows with the real data's columns.\n"
REAL_CSV = "patient_id,age,weight,smoker,diagnosed,region\n" + "".join(
    f"{i},{20 + i},{60 + i}.5,{'yes' if i % 2 else 'no'},2019-01-{i + 1:02},West\n"
    for i in range(20)
)


def make_dataset(folder, files: dict[str, str]):
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def register(server, tmp_path, name="primary-care", dummy=DUMMY_CSV, upload=True) -> dict:
    """As `jupyter ext runner dataset add` does: manifests computed on the site, sent with the
    runner token, then the dummy data's bytes."""
    from jupyter_ext.runner.datasets import build_manifest

    data = make_dataset(tmp_path / name / "data", {"patients.csv": REAL_CSV})
    body = {
        "name": name,
        "description": "GP records, 2019-2024\nOne row a patient.",
        "owner": "uni",
        "manifest": build_manifest(data).model_dump(mode="json"),
    }
    if dummy:
        fake = make_dataset(
            tmp_path / name / "dummy", {"patients.csv": dummy, "notes/README.txt": DUMMY_NOTE}
        )
        body["dummy"] = build_manifest(fake).model_dump(mode="json")
    runner = server.client(token=server.runner_token)
    made = runner.post("runner/datasets", json=body)
    assert made.status_code == 200, made.text
    version = made.json()["versions"][0]["version"]
    if dummy and upload:
        routes = server.client().get("openapi.json").json()["paths"]
        if "/api/v1/runner/datasets/{name}/versions/{version}/dummy/{path}" not in routes:
            pytest.skip(
                "the job server has no PUT /runner/datasets/{name}/versions/{version}/"
                "dummy/{path} to send dummy data to"
            )
        for path in ("patients.csv", "notes/README.txt"):
            sent = runner.put(
                f"runner/datasets/{name}/versions/{version}/dummy/{path}",
                content=(fake / path).read_bytes(),
            )
            assert sent.status_code == 204, sent.text
    return made.json()


ROWS = [
    {
        "patient_id": 1,
        "age": 34,
        "weight": 70.5,
        "smoker": True,
        "diagnosed": dt.date(2021, 3, 4),
        "region": "North",
    },
    {
        "patient_id": 2,
        "age": 51,
        "weight": None,
        "smoker": False,
        "diagnosed": None,
        "region": "South",
    },
    {
        "patient_id": 3,
        "age": None,
        "weight": 82.0,
        "smoker": False,
        "diagnosed": dt.date(2020, 12, 31),
        "region": None,
    },
]


@pytest.fixture
def governor(world, connect):
    world.user("governor", ["governance_reviewer"])
    return connect("governor")


def test_see_ask_decide_and_load_the_dummy_data(world, connect, governor, tmp_path):
    register(world, tmp_path)
    dev = connect("dev", workspace="sample")
    assert dev.datasets.usable() == []  # the workspace's project may use none yet
    (listed,) = dev.datasets.list(backend="tpp")
    assert isinstance(listed, Dataset) and listed.name == "primary-care"
    got = dev.datasets.get("tpp", "primary-care")
    assert got.manifest.files[0].rows == 20 and got.owner == "uni"
    shown = repr(got)
    assert shown.startswith("Dataset primary-care on tpp, held by uni\n  GP records, 2019-2024")
    assert "patients.csv (" in shown and "20 rows" in shown and "dummy data" in shown
    assert "      weight      number\n" in shown and "diagnosed   date\n" in shown

    asked = got.request("rates of the condition by region")
    assert isinstance(asked, AccessRequest) and asked.project == "sample-study"
    assert (asked.state, asked.requested_by, asked.dataset) == ("requested", "dev", "primary-care")
    assert "sample-study to use primary-care on tpp, requested" in repr(asked)
    assert [a.id for a in dev.datasets.access(state="requested")] == [asked.id]
    with pytest.raises(Forbidden, match=r"Governance Reviewer|may not"):
        dev.datasets.approve(asked)

    until = dt.date.today() + dt.timedelta(days=30)
    approved = governor.datasets.approve(asked.id, "fits the purpose", until=until)
    assert (approved.state, approved.until, approved.decided_by) == ("approved", until, "governor")
    assert asked.refresh() is asked and asked.state == "approved"
    assert [d.name for d in dev.datasets.usable()] == ["primary-care"]
    assert [d.name for d in dev.datasets.list(project="sample-study")] == ["primary-care"]
    assert [a.id for a in governor.datasets.access(project="sample-study")] == [asked.id]

    # the dummy data in one call: the table typed by the manifest, or every file
    assert dev.datasets.dummy("primary-care", path="patients.csv") == ROWS
    everything = got.dummy()
    assert everything == {"patients.csv": ROWS, "notes/README.txt": DUMMY_NOTE.encode()}
    assert dev.datasets.dummy("primary-care", "tpp", "notes/README.txt") == DUMMY_NOTE.encode()

    revoked = governor.datasets.revoke(asked, "the study ended")
    assert revoked is asked and asked.state == "revoked" and asked.reason == "the study ended"
    assert dev.datasets.usable() == []
    again = dev.datasets.request(
        "primary-care", "a second look", project="sample-study", versions=[1]
    )
    assert again.versions == [1]
    assert governor.datasets.reject(again, "not needed").state == "rejected"
    third = dev.datasets.request("primary-care", "a third look")
    assert dev.datasets.withdraw(third).state == "withdrawn"
    assert {a.state for a in dev.datasets.access()} == {"revoked", "rejected", "withdrawn"}


def test_as_a_frame_with_pandas_and_without(world, connect, tmp_path, monkeypatch):
    pandas = pytest.importorskip("pandas", reason="pandas is in the test extras: make install")
    register(world, tmp_path)
    dev = connect("dev")
    table = dev.datasets.dummy("primary-care", path="patients.csv", as_frame=True)
    assert isinstance(table, pandas.DataFrame) and list(table.columns) == list(ROWS[0])
    kinds = {name: str(kind) for name, kind in table.dtypes.items()}
    assert {name: kinds[name] for name in ("patient_id", "age", "weight", "smoker")} == {
        "patient_id": "Int64",
        "age": "Int64",
        "weight": "Float64",
        "smoker": "boolean",
    }
    assert kinds["diagnosed"].startswith("datetime64") and kinds["region"] in ("object", "str")
    assert table["age"].sum() == 85 and table["age"].isna().sum() == 1
    assert table["smoker"].tolist()[:2] == [True, False]
    with pytest.raises(ClientError, match="not a CSV or TSV table"):
        dev.datasets.dummy("primary-care", path="notes/README.txt", as_frame=True)

    monkeypatch.setitem(sys.modules, "pandas", None)  # as in a kernel without pandas
    with pytest.raises(ClientError, match=r"needs pandas.*%pip install pandas.*list of dicts"):
        dev.datasets.dummy("primary-care", as_frame=True)


def test_the_async_client_does_the_same(world, governor, tmp_path):
    register(world, tmp_path)

    async def main():
        token = world.tokens["dev"]
        async with AsyncClient(root(world), token=token, workspace="sample") as dev:
            assert await dev.datasets.usable() == []
            asked = await dev.datasets.request("primary-care", "rates by region")
            governor.datasets.approve(asked)
            usable = await dev.datasets.usable()
            listed = [d.name async for d in dev.datasets.list()]
            access = [a.state async for a in dev.datasets.access(project="sample-study")]
            rows = await dev.datasets.dummy("primary-care", path="patients.csv")
            got = await dev.datasets.get("tpp", "primary-care")
            return usable, listed, access, rows, await got.dummy(path="patients.csv")

    usable, listed, access, rows, again = asyncio.run(main())
    assert [d.name for d in usable] == listed == ["primary-care"]
    assert access == ["approved"] and rows == again == ROWS


def test_each_mistake_says_what_to_do(world, connect, tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTER_EXT_WORKSPACE", raising=False)
    register(world, tmp_path)
    register(world, tmp_path / "plain", name="no-dummy", dummy=None)
    dev, anywhere = connect("dev", workspace="sample"), connect("dev")
    with pytest.raises(
        ClientError,
        match="no backend has a dataset named 'nothing'.*"
        r"primary-care \(tpp\)",
    ):
        dev.datasets.dummy("nothing")
    with pytest.raises(ClientError, match="which project\\?"):
        anywhere.datasets.usable()
    with pytest.raises(ClientError, match="which project\\?"):
        anywhere.datasets.request("primary-care", "p")
    with pytest.raises(ClientError, match="no-dummy has no dummy data: ask its owner \\(uni\\)"):
        dev.datasets.dummy("no-dummy")
    with pytest.raises(
        ClientError,
        match=r"has no file 'missing\.csv'; it has notes/README\.txt, "
        r"patients\.csv$",
    ):
        dev.datasets.dummy("primary-care", path="missing.csv")
    with pytest.raises(ClientError, match="has no version 9"):
        dev.datasets.dummy("primary-care", version=9)
    assert list(anywhere.datasets.access()) == []  # nothing was asked

    # registered, its bytes not sent yet: the job server says so
    register(
        world, tmp_path / "late", name="late", dummy=DUMMY_CSV + "4,1,1,y,,East\n", upload=False
    )
    with pytest.raises(Conflict, match=r"has not sent patients\.csv"):
        dev.datasets.dummy("late", path="patients.csv")


def test_cells_are_typed_as_the_site_typed_them():
    assert [convert(v, "integer") for v in ("7", " -3 ", "", "x")] == [7, -3, None, "x"]
    assert [convert(v, "boolean") for v in ("Y", "n", "True", "maybe")] == [
        True,
        False,
        True,
        "maybe",
    ]
    assert convert("2024-02-29T10:00:00Z", "date") == dt.datetime(2024, 2, 29, 10, tzinfo=dt.UTC)
    assert convert("1e3", "number") == 1000.0 and convert("Leeds", "text") == "Leeds"
    table = b"a\tb\n1\tx\n"
    entry = schema.ManifestFile(
        path="t.tsv",
        size=len(table),
        sha256=hashlib.sha256(table).hexdigest(),
        columns=[schema.Column(name="a", type="integer")],
    )
    assert load(entry, table) == [{"a": 1, "b": "x"}]
    with pytest.raises(ChecksumMismatch, match=r"t\.tsv"):
        load(entry, b"a\tb\n2\tx\n")


def test_a_client_made_with_no_workspace_names_none(monkeypatch):
    monkeypatch.delenv("JUPYTER_EXT_WORKSPACE", raising=False)
    client = Client("http://127.0.0.1:9/", token="t")
    with pytest.raises(ClientError, match="which project"):
        client.datasets.usable()
    client.close()
