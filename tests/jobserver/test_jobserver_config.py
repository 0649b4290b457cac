"""Configuration once: each option is a trait, and reaches the part that uses it.

A table of `c.<Class>.<trait>` settings and where each must arrive, as oauthenticator's
tests build an authenticator from `class_config`: the job server's own traits are what
routes read (`app.state.settings`), its parts (`EventBus`, `Notifier`, the repository
sources) are configurables built with `parent=` it.
"""

from __future__ import annotations

import logging

import pytest
from traitlets.config import Config

from .harness import JobServer
from .mocking import MockJobServerApp

CASES = [  # (section, trait, value, where it arrives in a built app)
    ("JobServerApp", "lease_seconds", 7.5, lambda app: app.state.settings.lease_seconds),
    ("JobServerApp", "sweep_every", 0.5, lambda app: app.state.settings.sweep_every),
    ("JobServerApp", "required_approvals", 3, lambda app: app.state.settings.required_approvals),
    ("Notifier", "interval", 0.25, lambda app: app.state.notifier.interval),
    ("Notifier", "retry_max", 9.0, lambda app: app.state.notifier.retry_max),
    ("Notifier", "smtp_host", "smtp.example.org", lambda app: app.state.notifier.smtp_host),
    ("EventBus", "queue_size", 12, lambda app: app.state.bus.queue_size),
]


@pytest.mark.parametrize(("section", "trait", "value", "arrives"), CASES)
def test_an_option_reaches_the_part_that_uses_it(tmp_path, section, trait, value, arrives):
    server = JobServer(
        "sqlite://", tmp_path, MockJobServerApp(config=Config({section: {trait: value}}))
    )
    try:
        assert arrives(server.app) == value
    finally:
        server.close()


def test_the_public_url_of_mails_defaults_to_the_base_url(tmp_path):
    server = JobServer("sqlite://", tmp_path, MockJobServerApp(base_url="/services/js"))
    try:
        assert server.app.state.notifier.public_url == "/services/js/"
    finally:
        server.close()


def test_the_notification_options_moved_to_notifier_keep_their_old_names(caplog):
    """`c.JobServerApp.smtp_host` (before Notifier had its traits) still reaches Notifier,
    with a warning; the new name wins over the old one."""
    from jupyter_ext.jobserver.notifications import Notifier

    config = Config()
    config.JobServerApp.smtp_host = "old.example.org"
    config.JobServerApp.webhook_url = "https://old.example.org/hook"
    config.Notifier.webhook_url = "https://new.example.org/hook"
    server = MockJobServerApp(config=config, log=logging.getLogger("jupyter_ext.tests"))
    with caplog.at_level(logging.WARNING):
        server.init_moved_config()
    notifier = Notifier(parent=server)
    assert notifier.smtp_host == "old.example.org"
    assert notifier.webhook_url == "https://new.example.org/hook"
    assert "JobServerApp.smtp_host is now Notifier.smtp_host" in caplog.text


def test_github_is_asked_with_its_configured_timeout():
    from jupyter_ext.jobserver.repos import GitHub

    server = MockJobServerApp(config=Config({"GitHub": {"timeout": 3.0}}))
    server.init_repos()
    (github,) = [s for s in server.repos.sources if isinstance(s, GitHub)]
    assert github.client.timeout.connect == 3.0
