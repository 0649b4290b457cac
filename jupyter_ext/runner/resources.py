"""What an action may ask to run with on this backend, in the runner's words.

An executor's traits give its defaults (`cpus`, `memory_mb`, `time_limit`) and maximums
(`max_cpus`, `max_memory_mb`, `max_time_limit`; 0: the default's); the runner reports them
with each heartbeat (`schema.ResourceLimits`) and refuses, before anything of the job is
written or checked out, a lease that asks for more: the job server checks the same, but a
lease is hostile until checked. The executor applies what a job asked for, else the default
(`Executor.applied`).
"""

from __future__ import annotations

from ..schema import JobResources, ResourceLimits
from ..schema.resources import duration_words, memory_words

TOO_MUCH = "the action asks for more than this backend allows"


def over_limits(limits: ResourceLimits, asked: JobResources | None) -> str:
    """'' when `asked` is within the maximums of `limits`; else the sentence saying what is
    over, each figure with the most it may be."""
    over = limits.over(asked) if asked is not None else []
    return f"{TOO_MUCH}: {'; '.join(over)}" if over else ""


def limits_words(limits: ResourceLimits) -> str:
    """`1 CPU, 4 GB, 6 h by default; an action may ask for up to 4 CPUs, 16 GB, 24 h`."""
    default, most = limits.default, limits.maximum
    said = f"{_words(default)} by default"
    if most == default:
        return f"{said}; an action may ask for less, not more"
    return f"{said}; an action may ask for up to {_words(most)}"


def _words(figures: JobResources) -> str:
    cpus = f"{figures.cpus:g} CPU{'' if figures.cpus == 1 else 's'}"
    memory = memory_words(figures.memory_mb) if figures.memory_mb else "no memory limit"
    return f"{cpus}, {memory}, {duration_words(figures.time_limit or 0)}"
