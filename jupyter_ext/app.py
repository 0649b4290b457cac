"""`jupyter ext`: the command line of jupyter-ext, one traitlets Application per subcommand.

Configuration works as in JupyterHub: every knob is a configurable trait,
`jupyter_ext_config.py` in the current folder (or the file given with
`--config`) is read before the command runs, command-line flags win over the
file, and `jupyter ext --help-all` lists every trait with its help.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from traitlets import Bool, Unicode
from traitlets.config import Application, catch_config_error
from traitlets.utils.importstring import import_item

from ._version import __version__

base_aliases = {
    "config": "JupyterExtBase.config_file",
    "log-level": "Application.log_level",
}
base_flags = {
    "debug": ({"Application": {"log_level": 10}}, "Log everything, for debugging."),
    "generate-config": (
        {"JupyterExtBase": {"generate_config": True}},
        "Write a commented jupyter_ext_config.py with every option, then exit.",
    ),
}


class JupyterExtBase(Application):
    """What every jupyter-ext command shares: the config file and its generation."""

    name = "jupyter-ext"
    version = __version__
    aliases = base_aliases
    flags = base_flags

    config_file = Unicode(
        "jupyter_ext_config.py",
        help="""The configuration file to read, as JupyterHub reads jupyterhub_config.py.

        A relative path is taken from the current folder. Command-line options win
        over the file. Example: `jupyter ext pipeline check --config=/etc/jupyter_ext_config.py`.
        """,
    ).tag(config=True)

    generate_config = Bool(
        False, help="Write a commented config file with every option to `config_file`, then exit."
    ).tag(config=True)

    every_class = False  # whether `classes` names the subcommands' classes too (see there)

    @catch_config_error
    def initialize(self, argv: list[str] | None = None) -> None:
        given = sys.argv[1:] if argv is None else argv
        every = ("--help-all", "--generate-config")
        self.every_class = any(a.startswith(every) for a in given)
        self.parse_command_line(argv)
        if self.subapp is not None:
            return
        if not self.generate_config:
            self.load_config_file(self.config_file)

    def start(self) -> None:
        if self.subapp is not None:
            self.subapp.start()
            return
        if self.generate_config:
            self.write_config_file()
            return
        self.run()

    def run(self) -> None:
        """The command's work; a command with subcommands shows its help when given none."""
        self.print_help()
        self.exit(1)

    def write_config_file(self) -> None:
        path = self.config_file
        if os.path.exists(path):
            self.exit(f"{path} exists already: move it away or give another --config path")
        self.every_class = True
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.generate_config_file())
        print(f"Wrote {path}")

    @property
    def classes(self) -> list[type]:  # type: ignore[override]
        """This command's class, and for `--help-all` and `--generate-config` its subcommands'
        (so those cover every trait a command can be given). Only then: importing every
        subcommand's module (the runner's, the job server's web stack) would cost each command
        that runs one, `jupyter ext admin token` say, half a second."""
        if not self.every_class:
            return [type(self)]
        return [type(self), *subcommand_classes(self.subcommands)]


def subcommand_classes(subcommands: dict[str, Any]) -> list[type]:
    """The configurable classes of a command's subcommands, and of theirs."""
    found: list[type] = []
    for spec, _help in subcommands.values():
        cls = import_item(spec) if isinstance(spec, str) else spec
        if isinstance(cls, type):
            found.append(cls)
            nested = getattr(cls, "subcommands", None)
            found += subcommand_classes(nested) if isinstance(nested, dict) else []
    return found


class JupyterExtApp(JupyterExtBase):
    """The `jupyter ext` (or `jupyter-ext`) command."""

    description = """Secure research jobs from JupyterHub.

    Run the actions of a repository's project.yaml as jobs on backends where the
    data lives, follow their logs, and release reviewed outputs."""

    examples = """
    jupyter ext pipeline check project.yaml
    jupyter ext pipeline plan project.yaml analyse --state state.json
    jupyter ext --help-all
    """

    subcommands = {
        "pipeline": (
            "jupyter_ext.cli.pipeline.PipelineApp",
            "Check, plan and draw project.yaml pipelines.",
        ),
        "jobserver": (
            "jupyter_ext.jobserver.app.JobServerApp",
            "Run the job server (REST API, live events, runner endpoints).",
        ),
        "runner": (
            "jupyter_ext.runner.app.RunnerApp",
            "Run a backend's jobs next to its data.",
        ),
        "demo": (
            "jupyter_ext.cli.demo.DemoApp",
            "Start the whole system on this machine (hub, job server, runner), with demo data.",
        ),
        "admin": (
            "jupyter_ext.jobserver.admin.AdminApp",
            "Administer the job server's database: users, tokens, organisations, backends.",
        ),
    }


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `jupyter-ext` script (and so of `jupyter ext`)."""
    try:
        app = JupyterExtApp.instance()
        app.initialize(argv)
        app.start()
    except KeyboardInterrupt:  # Ctrl-C before a command handles it: a line, no traceback
        print("stopped", file=sys.stderr)
        sys.exit(130)
    sys.exit(0)


if __name__ == "__main__":
    main()
