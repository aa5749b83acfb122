"""The task registry: one file per task, each with ``NAME`` and ``make_task(...)``.

``get_task(name, device=..., backend=...)`` builds a task; options a task does not take (``backend``
for superresolution) are refused with a ``PatchNRError`` naming the parameter.
"""

from __future__ import annotations

import inspect

import torch

from ..errors import PatchNRError
from . import ct_limited, ct_lowdose, sr_x4
from .base import Task, TVBaseline, bundled_file

_TASKS = {module.NAME: module.make_task for module in (sr_x4, ct_lowdose, ct_limited)}
TASK_NAMES = tuple(_TASKS)


def get_task(name: str, device: str | torch.device = "cpu", backend: str | None = None) -> Task:
    """The task called ``name`` (one of ``TASK_NAMES``) with its operator on ``device``."""
    if name not in _TASKS:
        raise PatchNRError(f"unknown task {name!r} (choose from {', '.join(TASK_NAMES)})")
    factory = _TASKS[name]
    options = {"device": device}
    if backend is not None:
        if "backend" not in inspect.signature(factory).parameters:
            raise PatchNRError(f"backend applies to the CT tasks only, not to {name}")
        options["backend"] = backend
    return factory(**options)


__all__ = ["TASK_NAMES", "TVBaseline", "Task", "bundled_file", "get_task"]
