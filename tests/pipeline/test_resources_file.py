"""resources.yaml: each action's CPUs, memory and time limit, read with units as people write
them; every problem said with its line and what to write instead."""

from __future__ import annotations

import pytest

from jupyter_ext.pipeline import ProjectValidationError
from jupyter_ext.pipeline.resources import AskedResources, load_resources

ACTIONS = ["generate_dataset", "fit_model"]


def read(entry: str) -> AskedResources:
    return load_resources(f"version: 1\nactions:\n  fit_model: {entry}\n", ACTIONS)["fit_model"]


@pytest.mark.parametrize(
    ("entry", "asked"),
    [
        ("{cpus: 2}", {"cpus": 2.0}),
        ("{cpus: 0.5}", {"cpus": 0.5}),
        ("{memory: 512M}", {"memory_mb": 512}),
        ("{memory: 16G}", {"memory_mb": 16384}),
        ("{memory: 1.5GiB}", {"memory_mb": 1536}),
        ("{memory: 1T}", {"memory_mb": 1024 * 1024}),
        ("{time_limit: 90m}", {"time_limit": 5400.0}),
        ("{time_limit: 1h30m}", {"time_limit": 5400.0}),
        ("{time_limit: 2d}", {"time_limit": 172800.0}),
        ("{time_limit: 45s}", {"time_limit": 45.0}),
        ("{}", {}),
    ],
)
def test_what_an_action_asks_for_is_read_with_its_units(entry, asked):
    assert read(entry) == AskedResources(**asked)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("{cpus: 0}", "`cpus` is a number of CPUs from 0.5 to 1024, e.g. `2`"),
        ("{cpus: 0.25}", "`cpus` is at least 0.5"),
        ("{cpus: yes}", "`cpus` is a number of CPUs from 0.5 to 1024, e.g. `2`"),
        ("{memory: 4096}", "4096 is not an amount of memory: write e.g. `512M` or `16G`"),
        ("{memory: 8M}", "`memory` is from 16M to 64T"),
        ("{time_limit: 3600}", "3600 is not a duration: write e.g. `90m` or `1h30m`"),
        ("{time_limit: 0s}", "`time_limit` is from 1s to 90d"),
        ("{time_limit: 100d}", "`time_limit` is from 1s to 90d"),
        ("{cpu: 2}", "unknown key 'cpu': did you mean 'cpus'?"),
        ("[2]", "give the action's `cpus`, `memory` or `time_limit`"),
    ],
)
def test_a_figure_that_is_not_one_says_what_to_write(entry, said):
    with pytest.raises(ProjectValidationError) as raised:
        read(entry)
    assert [p.message for p in raised.value.problems] == [said]
    assert raised.value.problems[0].line == 3


def test_every_problem_of_the_file_is_listed_at_its_line():
    text = "version: 2\nactions:\n  fit_modle:\n    cpus: 2\n  generate_dataset:\n    disk: 1\n"
    with pytest.raises(ProjectValidationError) as raised:
        load_resources(text, ACTIONS)
    assert [p.format("resources.yaml") for p in raised.value.problems] == [
        "resources.yaml:1:10: version: `version` must be 1",
        "resources.yaml:3:3: actions.fit_modle: there is no action 'fit_modle': "
        "did you mean 'fit_model'?",
        "resources.yaml:6:5: actions.generate_dataset.disk: unknown key 'disk': "
        "write cpus, memory, time_limit",
    ]
