"""Executors run one action's command next to the data: local process, Docker, Slurm."""

from .base import Execution, Executor, JobSpec
from .local import LocalExecutor
from .slurm import SlurmExecutor

__all__ = ["Execution", "Executor", "JobSpec", "LocalExecutor", "SlurmExecutor"]
