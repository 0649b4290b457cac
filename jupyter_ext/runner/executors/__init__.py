"""Executors run one action's command next to the data: local process, Docker, Slurm."""

from .base import Execution, Executor, JobSpec
from .local import LocalExecutor

__all__ = ["Execution", "Executor", "JobSpec", "LocalExecutor"]
