"""Named tasks: each file declares a task's settings as data (``TaskSettings``: recipes, baseline
settings, bundled assets) and registers the factory of its measurement with ``@register_task``.

``get_task(name, device=..., **options)`` builds a task; an option its factory does not take
(``backend`` for superresolution, say) is refused with a ``ParameterError`` naming the option.
A new task is a new file with a registered factory, imported below; ``TASK_NAMES`` lists the tasks
in the order of that import.
"""

from __future__ import annotations

from patchnr.tasks.assets import bundled_file
from patchnr.tasks.base import Task
from patchnr.tasks.registry import get_task, register_task, task_names
from patchnr.tasks.settings import TaskAssets, TaskSettings, TVBaseline

from patchnr.tasks import sr_x4, ct_lowdose, ct_limited, deblur, inpaint, sr_x2_zeroshot, sr_x4_zeroshot  # noqa: E402, F401, I001

TASK_NAMES = task_names()

__all__ = ["TASK_NAMES", "TVBaseline", "Task", "TaskAssets", "TaskSettings", "bundled_file", "get_task", "register_task"]
