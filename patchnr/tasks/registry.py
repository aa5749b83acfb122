"""The task registry: a task file registers its factory with ``@register_task(name)``; ``get_task``
builds a task by name, checking its options against the factory's parameters."""

from __future__ import annotations

import inspect
from typing import Callable

import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.tasks.base import Task

TaskFactory = Callable[..., Task]
"""``factory(device=..., **options) -> Task``: cheap to call (the operator is built on first use)."""

_FACTORIES: dict[str, TaskFactory] = {}


def register_task(name: str) -> Callable[[TaskFactory], TaskFactory]:
    """Decorator: register ``factory`` as the task ``name``. Names list in registration order; a name
    registered again by another module is a ``ValueError``."""

    def register(factory: TaskFactory) -> TaskFactory:
        known = _FACTORIES.get(name)
        if known is not None and known.__module__ != factory.__module__:
            raise ValueError(f"task {name!r} is registered by both {known.__module__} and {factory.__module__}")
        _FACTORIES[name] = factory
        return factory

    return register


def task_names() -> tuple[str, ...]:
    """The registered task names, in registration order."""
    return tuple(_FACTORIES)


def get_task(name: str, device: str | torch.device = "cpu", **options) -> Task:
    """The task called ``name`` with its operator on ``device``.

    ``options`` whose value is ``None`` are left to the task's defaults; an option the task's factory
    does not take (``backend`` for superresolution, say) is a ``ParameterError`` naming the option
    and the tasks that take it.
    """
    if name not in _FACTORIES:
        raise PatchNRError(f"unknown task {name!r} (choose from {', '.join(_FACTORIES)})")
    factory = _FACTORIES[name]
    given = {key: value for key, value in options.items() if value is not None}
    accepted = inspect.signature(factory).parameters
    for key in given:
        if key not in accepted:
            users = [other for other, make in _FACTORIES.items() if key in inspect.signature(make).parameters]
            raise ParameterError(key, f"applies to {', '.join(users) or 'no task'}, not to {name}")
    return factory(device=device, **given)


__all__ = ["TaskFactory", "get_task", "register_task", "task_names"]
