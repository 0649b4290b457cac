"""ScheduleBoard against the real job server, driven by clicks: a weekly schedule made,
paused, resumed, run now and deleted; a bad cron refused with the server's sentence."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client
from jupyter_ext.widgets import ScheduleBoard

from ..client.conftest import root
from ..client.conftest import world as client_world
from ..jobserver.test_schedules import MONDAY_NOON, with_clock

world = client_world  # the client tests' job server


@pytest.fixture
def dev(world):
    with_clock(world, MONDAY_NOON)
    client = Client(root(world), token=world.tokens["dev"], workspace="sample")
    yield client
    client.close()


def test_schedule_pause_resume_run_now_and_delete_by_clicks(dev):
    board = ScheduleBoard(client=dev)
    assert "No schedules yet" in board.list_box.children[0].value
    board.actions.value = ("generate_dataset",)
    board.backend.value = "tpp"
    board.preset.value = "Every day at 06:00"
    assert board.cron.value == "0 6 * * *"
    board.timezone.value = "Europe/London"
    board.create_button.click()
    assert "Scheduled" in board.message.value, board.message.value
    (made,) = board.schedules
    assert made.cron == "0 6 * * *" and made.state == "active"
    row = board.list_box.children[0]
    assert "Europe/London" in row.children[0].value

    def click(label: str) -> None:
        (button,) = [
            b for b in board.list_box.children[0].children[1].children if b.description == label
        ]
        button.click()

    click("Pause")
    assert board.schedules[0].state == "paused" and "paused" in board.message.value
    click("Resume")
    assert board.schedules[0].state == "active"
    click("Run now")
    assert "run now: fired" in board.list_box.children[0].children[0].value
    click("Delete")
    assert board.schedules == [] and "deleted" in board.message.value
    assert "none" in repr(board)


def test_a_cron_that_cannot_be_read_is_the_servers_sentence_and_makes_nothing(dev):
    board = ScheduleBoard(client=dev)
    board.actions.value = ("generate_dataset",)
    board.cron.value = "every monday"
    board.create_button.click()
    assert "is not a cron expression" in board.message.value
    assert board.schedules == []


def test_a_chosen_notebook_shows_its_parameters_and_the_schedule_keeps_what_changed(
    world, tmp_path
):
    from ..jobserver.test_notebook_parameters import add_notebook_workspace

    add_notebook_workspace(world, tmp_path)
    with_clock(world, MONDAY_NOON)
    with Client(root(world), token=world.tokens["dev"], workspace="nb") as dev:
        board = ScheduleBoard(client=dev)
        assert board.parameter_box.children == ()
        board.actions.value = ("explore", "make_table")
        (fields,) = board.parameter_box.children  # make_table is a script: no parameters
        fields.fields["threshold"].value = 3
        board.create_button.click()
        (made,) = board.schedules
        assert made.parameters == {"explore": {"threshold": 3}}, board.message.value
