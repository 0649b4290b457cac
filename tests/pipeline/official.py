"""The official parser (opensafely 2.1.1) as a peer: its verdict and what it read."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import pytest

official = pytest.importorskip(
    "opensafely._vendor.pipeline", reason="the official parser (opensafely==2.1.1) is not installed"
)


@dataclass
class Verdict:
    valid: bool
    crashed: bool  # raised something other than its own validation error
    message: str
    summary: dict[str, Any] | None


def official_verdict(text: str) -> Verdict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pipeline = official.load_pipeline(text)
        except official.ProjectValidationError as exc:
            return Verdict(False, False, str(exc), None)
        except Exception as exc:  # the official parser crashes on some inputs
            return Verdict(False, True, f"{type(exc).__name__}: {exc}", None)
    return Verdict(True, False, "", official_summary(pipeline))


def official_summary(pipeline: Any) -> dict[str, Any]:
    actions = {}
    for name, action in pipeline.actions.items():
        parts = action.run.parts
        image, _, version = parts[0].partition(":")
        actions[name] = {
            "needs": list(action.needs),
            "outputs": {k: dict(v) for k, v in action.outputs.dict().items()},
            "run": (image, version, list(parts[1:])),
            "config": _plain(action.config),
            "dummy_data_file": action.dummy_data_file,
            "is_database_action": action.is_database_action,
        }
    expectations = pipeline.expectations
    return {
        "version": float(pipeline.version),
        "actions": actions,
        "all_actions": list(pipeline.all_actions),
        "population_size": expectations.population_size if expectations else None,
    }


def our_summary(pipeline: Any) -> dict[str, Any]:
    actions = {
        name: {
            "needs": list(action.needs),
            "outputs": action.outputs.to_json(),
            "run": (action.run.image, action.run.version, list(action.run.args)),
            "config": _plain(action.config),
            "dummy_data_file": action.dummy_data_file,
            "is_database_action": action.run.is_database_action,
        }
        for name, action in pipeline.actions.items()
    }
    return {
        "version": pipeline.version,
        "actions": actions,
        "all_actions": pipeline.all_actions,
        "population_size": pipeline.population_size,
    }


def _plain(value: Any) -> Any:
    """ruamel's commented maps and scalar subclasses as plain Python values, types kept."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return (kind.__name__, kind(value))
    return ("other", value)
