"""A task with another noise model: its simulation and data term both use the new one."""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from patchnr.physics.measurement import Measurement
from patchnr.tasks.base import Task


def with_noise(task: Task, noise: nn.Module) -> Task:
    """``task`` whose measurement keeps the operator and simulator but uses ``noise``.

    The task's recipes keep their λ, which is in units of the noise model's negative log-likelihood:
    the prior keeps the same weight against the new likelihood.
    """
    def build() -> Measurement:
        return task.measurement.with_noise(noise)

    return replace(task, build_measurement=build)
