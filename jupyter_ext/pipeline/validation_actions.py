"""Check the `actions:` section: each action's keys, its `needs`, and the graph.

One action at a time (its `run` and `outputs` through the mixins it builds on),
then what only the whole section shows: the same `run` or output twice, a
`needs` naming no action, and a cycle (the official job runner recurses on it
until it crashes).
"""

from __future__ import annotations

from typing import Any

from .graph import find_cycles
from .models import RUN_ALL, Action, Outputs
from .names import SAFE_NAME, SAFE_NAME_RULE, is_safe_name, safe_name_like, shown
from .validation_outputs import CHECKED_IMAGES, OutputChecks
from .validation_report import describe, suggest
from .validation_runs import RunChecks
from .versions import Features

__all__ = ["ACTION_KEYS", "ActionChecks"]

ACTION_KEYS = ("run", "outputs", "needs", "config", "dummy_data_file")
ACTION_KEY_SET = frozenset(ACTION_KEYS)
MISSING_ACTION_KEY_HINTS = {
    "run": "add the image and command, like `run: python:v2 analysis/model.py`",
    "outputs": "add `outputs:` with at least one file under a privacy level",
}
_SAFE_NAME = SAFE_NAME.fullmatch  # bound once: it runs per action and per output


class ActionChecks(RunChecks, OutputChecks):
    """The checks of the `actions` section, built on those of `run` and `outputs`."""

    def check_actions(self, actions: Any, feats: Features | None) -> dict[str, Action] | None:
        if not self.expect(actions, dict, ("actions",), "`actions`"):
            return None
        built: dict[str, Action] = {}
        runs: dict[str, str] = {}
        outputs_seen: dict[str, tuple[str, str, str]] = {}
        for name, spec in actions.items():
            path = ("actions", name)
            if not isinstance(name, str):
                self.error(
                    "bad-action-name",
                    f"the action name {name} is read as {describe(name)}: quote it "
                    f"('{name}') or start it with a letter, so it can be requested by name",
                    path,
                    at_key=True,
                )
                continue
            if _SAFE_NAME(name) is None:
                self.error(
                    "bad-action-name",
                    f"the action name `{shown(name)}` is not safe as a file name on the site: "
                    f"{SAFE_NAME_RULE}; rename it (e.g. to `{safe_name_like(name)}`) here and "
                    "in every `needs` that names it",
                    path,
                    at_key=True,
                )
            if name == RUN_ALL and feats is not None:
                message = "`run_all` is a reserved name (it runs every action): rename this action"
                if feats.no_run_all_action:
                    self.error("reserved-name", message, path, at_key=True)
                else:
                    self.warn("reserved-name", message + "; older versions ignore it", path)
            action = self.check_action(name, spec, path, feats)
            if action is None:
                continue
            built[name] = action
            if (first := runs.setdefault(action.run.raw, name)) != name:
                self.error(
                    "duplicate-run",
                    f"the same `run` as action `{first}`: two actions would do the same work; "
                    "remove one or make them differ",
                    (*path, "run"),
                )
            if feats is not None and feats.unique_output_paths:
                for level, output, pattern in _declared(action.outputs):
                    owner = outputs_seen.setdefault(pattern, (name, level, output))
                    if owner != (name, level, output):
                        first = "this action" if owner[0] == name else f"action `{owner[0]}`"
                        self.error(
                            "duplicate-output",
                            f"`{pattern}` is already an output of {first}: declare each file once",
                            (*path, "outputs", level, output),
                        )
        self.check_needs(actions, built)
        return built

    def check_action(self, name: str, spec: Any, path: tuple, feats: Features | None):
        # the common, valid case builds no message and no key path: they are made on failure
        if type(spec) is not dict:
            self.expect(spec, dict, path, f"action `{name}`")
            return None
        for key in spec if spec.keys() - ACTION_KEY_SET else ():
            if key not in ACTION_KEY_SET:
                self.error(
                    "unknown-key",
                    f"unknown key `{key}` in action `{name}`: an action has "
                    f"{', '.join(ACTION_KEYS)}{suggest(key, ACTION_KEYS)}",
                    (*path, key),
                    at_key=True,
                )
        if "run" not in spec or "outputs" not in spec:
            for key, hint in MISSING_ACTION_KEY_HINTS.items():
                if key not in spec:
                    self.error(
                        "missing-key", f"action `{name}` has no `{key}`: {hint}", path, at_key=True
                    )
        run = self.check_run(spec["run"], (*path, "run"), feats) if "run" in spec else None
        outputs = self.check_outputs(spec["outputs"], path) if "outputs" in spec else None
        needs = spec.get("needs")
        if needs is not None and type(needs) is not list:
            self.expect(needs, list, (*path, "needs"), "`needs`")
            needs = None
        elif needs and not all(type(n) is str and " " not in n for n in needs):
            for i, need in enumerate(needs):
                if not isinstance(need, str):
                    self.error(
                        "bad-need",
                        f"`needs` lists action names; {need} is read as {describe(need)}: "
                        f"quote it ('{need}')",
                        (*path, "needs", i),
                    )
                elif " " in need.strip():
                    self.error(
                        "bad-need",
                        f"`{need}` looks like several actions: separate them with commas, "
                        f"as [{', '.join(need.split())}]",
                        (*path, "needs", i),
                    )
        config, dummy = spec.get("config"), spec.get("dummy_data_file")
        if config is not None and type(config) is not dict:
            self.expect(config, dict, (*path, "config"), "`config`")
        if dummy is not None and type(dummy) is not str:
            self.expect(dummy, str, (*path, "dummy_data_file"), "`dummy_data_file`")
        if run is None or outputs is None:
            return None
        if run.image in CHECKED_IMAGES:
            self.check_command_outputs(name, run, outputs, path)
        needs = tuple(needs) if needs else ()
        return Action(name, run, needs, outputs, config, dummy, self.doc.key_line(path))

    # -- the graph ---------------------------------------------------------

    def check_needs(self, actions: dict, built: dict[str, Action]) -> None:
        names = [n for n in actions if isinstance(n, str)]
        position = {name: i for i, name in enumerate(names)}
        ordered = True  # every need defined above its action: then there is no cycle
        for name, spec in actions.items():
            needs = spec.get("needs") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not isinstance(needs, list):
                continue
            here = position[name]
            for i, need in enumerate(needs):
                where = position.get(need) if isinstance(need, str) else -1
                if where is None:
                    if " " in need.strip():
                        continue  # "looks like several actions", said in check_action
                    if not is_safe_name(need):
                        self.error(
                            "bad-need",
                            f"`{shown(need)}` cannot be an action's name (an action name "
                            f"becomes a file name on the site: {SAFE_NAME_RULE}): name the "
                            "action this one needs",
                            ("actions", name, "needs", i),
                        )
                    else:
                        self.error(
                            "unknown-need",
                            f"`{need}` is not an action in this file{suggest(need, names)}",
                            ("actions", name, "needs", i),
                        )
                elif where >= here:
                    ordered = False
        if ordered:
            return
        graph = {name: [n for n in a.needs if n in built] for name, a in built.items()}
        for cycle in find_cycles(graph):
            closing = cycle[-2]
            index = list(built[closing].needs).index(cycle[-1])
            self.error(
                "cycle",
                f"actions need each other in a cycle ({' -> '.join(cycle)}), so none can "
                "ever run: remove one of these needs",
                ("actions", closing, "needs", index),
            )


def _declared(outputs: Outputs) -> list[tuple[str, str, str]]:
    """(level, name, pattern) of each output, as a list: cheaper than iterating `Outputs`."""
    return [
        (level, name, p) for level, named in outputs.by_level.items() for name, p in named.items()
    ]
