"""The task registry: one file per task, each with ``NAME`` and ``make_task(device, **options)``.

``get_task(name, device=..., **options)`` builds a task; an option its ``make_task`` does not take
(``backend`` for superresolution, say) is refused with a ``ParameterError`` naming the option.
A new task is one new file and one entry in ``_TASKS``.
"""

from __future__ import annotations

import inspect

import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.tasks import ct_limited, ct_lowdose, deblur, inpaint, sr_x2_zeroshot, sr_x4, sr_x4_zeroshot
from patchnr.tasks.base import Task, TVBaseline, bundled_file

_TASKS = {module.NAME: module.make_task for module in (sr_x4, ct_lowdose, ct_limited, deblur, inpaint,
                                                     sr_x2_zeroshot, sr_x4_zeroshot)}
TASK_NAMES = tuple(_TASKS)


def get_task(name: str, device: str | torch.device = "cpu", **options) -> Task:
    """The task called ``name`` (one of ``TASK_NAMES``) with its operator on ``device``.

    ``options`` whose value is ``None`` are left to the task's defaults.
    """
    if name not in _TASKS:
        raise PatchNRError(f"unknown task {name!r} (choose from {', '.join(TASK_NAMES)})")
    factory = _TASKS[name]
    given = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(factory).parameters
    for key in given:
        if key not in accepted:
            users = [other for other, make in _TASKS.items() if key in inspect.signature(make).parameters]
            raise ParameterError(key, f"applies to {', '.join(users) or 'no task'}, not to {name}")
    return factory(device=device, **given)


__all__ = ["TASK_NAMES", "TVBaseline", "Task", "bundled_file", "get_task"]
