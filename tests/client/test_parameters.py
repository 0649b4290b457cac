"""A notebook action's parameters from the client: overrides sent, warnings said."""

from __future__ import annotations

import pytest

from ..jobserver.test_notebook_parameters import add_notebook_workspace


def test_overrides_reach_the_job_and_an_undeclared_name_is_a_python_warning(
    world, connect, tmp_path
):
    add_notebook_workspace(world, tmp_path)
    dev = connect("dev")
    with pytest.warns(UserWarning, match="does not declare the parameter colour"):
        made = dev.job_requests.create(
            "nb",
            actions=["explore"],
            backend="tpp",
            parameters={"explore": {"threshold": 3, "colour": "red"}},
        )
    explore = next(j for j in made.jobs if j.action == "explore")
    assert explore.parameters == {"threshold": 3, "colour": "red"}
    assert made.parameters == {"explore": {"threshold": 3, "colour": "red"}}
