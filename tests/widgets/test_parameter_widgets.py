"""A notebook action's parameters in ActionPicker: fields of their kind, only changes sent."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client
from jupyter_ext.widgets import ActionPicker

from ..jobserver.test_notebook_parameters import add_notebook_workspace
from ..runner.test_uploads import world_at


@pytest.fixture
def world(tmp_path):
    world = world_at(tmp_path)
    add_notebook_workspace(world, tmp_path)
    token = world.client("dev").headers["Authorization"].removeprefix("Bearer ")
    world.dev = Client(world.base_url.removesuffix("api/v1/"), token=token, workspace="nb")
    yield world
    world.dev.close()
    world.close()


def test_a_checked_notebook_shows_its_parameters_and_sends_what_changed(world):
    picker = ActionPicker(client=world.dev)
    fields = picker.parameters["explore"]
    assert set(picker.parameters) == {"explore"}  # scripts have none
    assert fields.layout.display == "none"
    picker.checks["explore"].value = True
    assert fields.layout.display is None
    assert (fields.fields["threshold"].value, fields.fields["region"].value) == (10, "all")
    fields.fields["threshold"].value = 3
    request = picker.run()
    assert request.parameters == {"explore": {"threshold": 3}}
    explore = next(j for j in request.jobs if j.action == "explore")
    assert explore.parameters == {"threshold": 3}  # the notebook keeps its own defaults
