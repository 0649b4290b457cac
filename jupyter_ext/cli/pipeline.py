"""`jupyter ext pipeline check|plan|graph`: the pipeline engine on the command line.

Text for people, `--json` for scripts. Exit status: 0 when all is well, 2 when
a file is invalid or a plan is refused, as compilers and linters do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Unicode

from ..app import JupyterExtBase, base_aliases, base_flags
from ..pipeline import (
    JobState,
    NothingToDoError,
    Pipeline,
    PlanningError,
    Problem,
    check_pipeline,
    needs_graph,
    plan_jobs,
    render_mermaid,
    render_tree,
)
from ..pipeline.yaml_loader import MAX_CHARACTERS

INVALID = 2


class PipelineCommand(JupyterExtBase):
    """A pipeline subcommand: reads project files named on the command line."""

    flags = {
        **base_flags,
        "json": ({"PipelineCommand": {"as_json": True}}, "Print JSON, for scripts."),
    }

    as_json = Bool(False, help="Print JSON instead of text.").tag(config=True)

    def read(self, filename: str) -> tuple[Pipeline | None, list[Problem], list[Problem]]:
        """Check one file; an unreadable file is one problem, not a crash.

        At most one character past the parser's limit is read, so a huge file (or
        /dev/zero) costs no more memory than the largest file the parser accepts."""
        try:
            with Path(filename).open(encoding="utf-8") as file:
                text = file.read(MAX_CHARACTERS + 1)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            return None, [Problem("unreadable", f"cannot read the file: {reason}")], []
        return check_pipeline(text, filename)

    def one_file(self) -> str:
        if not self.extra_args:
            self.exit_with(f"name the project file: jupyter ext pipeline {self.name} project.yaml")
        return self.extra_args[0]

    def load_or_exit(self, filename: str) -> Pipeline:
        pipeline, problems, _warnings = self.read(filename)
        if pipeline is None:
            if self.as_json:
                self.print_json({"file": filename, "valid": False, "problems": _json(problems)})
            else:
                for problem in problems:
                    print(problem.format(filename), file=sys.stderr)
            self.exit(INVALID)
        return pipeline  # type: ignore[return-value]

    def exit_with(self, message: str, status: int = INVALID) -> None:
        if self.as_json:
            self.print_json({"error": message})
        else:
            print(f"error: {message}", file=sys.stderr)
        self.exit(status)

    @staticmethod
    def print_json(data: Any) -> None:
        print(json.dumps(data, indent=2, default=str))


class CheckApp(PipelineCommand):
    name = "check"
    description = """Validate project.yaml files: one line per file, then `file:line:col: message`
    for each problem. Exits with 2 if any file is invalid."""
    examples = "jupyter ext pipeline check project.yaml other/project.yaml --json"

    def run(self) -> None:
        if not self.extra_args:
            self.exit_with(
                "name at least one project file: jupyter ext pipeline check project.yaml"
            )
        results = []
        for filename in self.extra_args:
            pipeline, problems, warnings = self.read(filename)
            results.append((filename, pipeline, problems, warnings))
        if self.as_json:
            self.print_json(
                [
                    {
                        "file": filename,
                        "valid": pipeline is not None,
                        "problems": _json(problems),
                        "warnings": _json(warnings),
                    }
                    for filename, pipeline, problems, warnings in results
                ]
            )
        else:
            for filename, pipeline, problems, warnings in results:
                if pipeline is not None:
                    count = len(pipeline.actions)
                    print(f"{filename}: valid, {count} action{'s' * (count != 1)}")
                else:
                    count = len(problems)
                    print(f"{filename}: invalid, {count} problem{'s' * (count != 1)}")
                for problem in [*problems, *warnings]:
                    print(f"  {problem.format(filename)}")
        if any(pipeline is None for _, pipeline, _, _ in results):
            self.exit(INVALID)


class PlanApp(PipelineCommand):
    name = "plan"
    description = """Show the jobs a job request would create, in order, and what it would
    reuse. Actions default to run_all. --state names a JSON file mapping actions to the
    state of their last job (pending, running, succeeded, failed)."""
    examples = "jupyter ext pipeline plan project.yaml make_table --state state.json"

    aliases = {**base_aliases, "state": "PlanApp.state_file"}
    flags = {
        **PipelineCommand.flags,
        "force-run-dependencies": (
            {"PlanApp": {"force_run_dependencies": True}},
            "Run the dependencies again even where they succeeded.",
        ),
    }

    state_file = Unicode(
        "", help="JSON file of the last state of each action: {action: state}."
    ).tag(config=True)
    force_run_dependencies = Bool(
        False, help="Run the requested actions' dependencies again even if they succeeded."
    ).tag(config=True)

    def run(self) -> None:
        filename = self.one_file()
        pipeline = self.load_or_exit(filename)
        requested = self.extra_args[1:] or ["run_all"]
        states = self.read_states()
        try:
            plan = plan_jobs(
                pipeline, requested, states, force_run_dependencies=self.force_run_dependencies
            )
        except NothingToDoError as exc:
            if self.as_json:
                self.print_json({"jobs": [], "reused": {}, "nothing_to_do": str(exc)})
            else:
                print(f"Nothing to do: {exc}.")
            return
        except PlanningError as exc:
            self.exit_with(str(exc))
            return
        if self.as_json:
            self.print_json(plan.to_json())
            return
        width = max(len(job.action) for job in plan.jobs)
        print(f"{len(plan.jobs)} job{'s' * (len(plan.jobs) != 1)} to run, in order:")
        for number, job in enumerate(plan.jobs, 1):
            waits = f"  waits for {', '.join(job.wait_for)}" if job.wait_for else ""
            print(f"{number:4}. {job.action:<{width}}  {job.reason}{waits}")
        if plan.reused:
            print("Reused:")
            for action, reason in plan.reused.items():
                print(f"      {action:<{width}}  {reason}")

    def read_states(self) -> dict[str, str]:
        if not self.state_file:
            return {}
        try:
            states = json.loads(Path(self.state_file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            self.exit_with(f"cannot read the state file {self.state_file}: {exc}")
        allowed = {state.value for state in JobState}
        if not isinstance(states, dict) or not all(
            state is None or state in allowed for state in states.values()
        ):
            self.exit_with(
                f"the state file must map actions to one of {', '.join(sorted(allowed))} "
                'or null, like {"extract": "succeeded"}'
            )
        return states


class GraphApp(PipelineCommand):
    name = "graph"
    description = """Draw the actions' dependency graph: a tree (default), Mermaid, or JSON."""
    examples = "jupyter ext pipeline graph project.yaml --format mermaid"

    aliases = {**base_aliases, "format": "GraphApp.format"}

    format = Enum(["tree", "mermaid"], default_value="tree", help="How to draw the graph.").tag(
        config=True
    )

    def run(self) -> None:
        pipeline = self.load_or_exit(self.one_file())
        if self.as_json:
            actions = {name: action.to_json() for name, action in pipeline.actions.items()}
            self.print_json({"actions": actions})
            return
        graph = needs_graph(pipeline)
        print(render_mermaid(graph) if self.format == "mermaid" else render_tree(graph))


class PipelineApp(JupyterExtBase):
    name = "pipeline"
    description = "Check, plan and draw project.yaml pipelines."
    subcommands = {
        "check": (CheckApp, CheckApp.description.splitlines()[0]),
        "plan": (PlanApp, "Show the jobs a job request would create, in order."),
        "graph": (GraphApp, GraphApp.description),
    }


def _json(problems: list[Problem]) -> list[dict[str, Any]]:
    return [problem.to_json() for problem in problems]
