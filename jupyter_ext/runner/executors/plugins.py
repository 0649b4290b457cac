"""Executors as plug-ins: any installed package may add one, by a short name.

A package registers its executor (a subclass of `Executor`) in the entry-point group
`jupyter_ext.executors`; `c.RunnerApp.executor` (`--executor`) then takes that name, as it
takes `local`, `docker` and `slurm`, which jupyter-ext registers the same way. A dotted
import string (`mysite.executors.K8sExecutor`) or the class itself works too. The trait
is JupyterHub's `EntryPointType` (`spawner_class`, `authenticator_class`), written here so
that a runner does not need JupyterHub installed.
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from importlib.metadata import EntryPoint, entry_points

from traitlets import TraitError, Type

GROUP = "jupyter_ext.executors"

log = logging.getLogger(__name__)


def group_points(group: str) -> tuple[EntryPoint, ...]:
    """A group's entry points: read once for the current `sys.path` (reading them scans every
    installed package, ~25 ms, and a runner's start asks several times)."""
    return _points(group, tuple(sys.path))


@functools.cache
def _points(group: str, path: tuple[str, ...]) -> tuple[EntryPoint, ...]:
    return tuple(entry_points(group=group))


def registered() -> dict[str, EntryPoint]:
    """The installed executors' entry points, by their lower-case short name."""
    return {point.name.lower(): point for point in group_points(GROUP)}


def installed_classes() -> list[type]:
    """Every installed executor's class (for `--help-all` and generated config files);
    one that cannot be imported is left out, with a warning, rather than stop the runner."""
    classes = []
    for name, point in registered().items():
        try:
            classes.append(point.load())
        except Exception as exc:
            log.warning("the executor %r (%s) cannot be imported: %s", name, point.value, exc)
    return classes


class EntryPointType(Type):
    """A class trait that also takes the short name an entry point gives a class."""

    _original_help = ""

    def __init__(self, *args, entry_point_group: str, **kwargs) -> None:
        self.entry_point_group = entry_point_group
        super().__init__(*args, **kwargs)

    @property
    def help(self) -> str:  # type: ignore[override]
        """The help, and the names installed now."""
        installed = [
            f"  - {point.name}: {point.value.replace(':', '.')}"
            for point in group_points(self.entry_point_group)
        ]
        return "\n".join([self._original_help, "Currently installed:", *installed])

    @help.setter
    def help(self, value: str) -> None:
        self._original_help = inspect.cleandoc(value)

    def _resolve_string(self, string: str):
        """A registered short name (in any case) first, else a dotted import string."""
        points = {p.name.lower(): p for p in group_points(self.entry_point_group)}
        if point := points.get(string.lower()):
            return point.load()
        return super()._resolve_string(string)

    def validate(self, obj, value):
        try:
            return super().validate(obj, value)
        except TraitError:
            if not isinstance(value, str) or "." in value:
                raise
        names = ", ".join(sorted(p.name for p in group_points(self.entry_point_group)))
        raise TraitError(
            f"{self.name} = {value!r} is not installed (installed: {names}); give one of those, "
            "a dotted import string or a class"
        )
