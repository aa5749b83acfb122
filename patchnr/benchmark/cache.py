"""What a benchmark worker process keeps between cases: the task of its last case and the flow of its last patchNR case.

One value per kind (the last key only), so a worker holds one CT matrix at a time: a case of another
task drops the old task, and its operator, before building the new one.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.tasks import Task, get_task

Value = TypeVar("Value")

_CACHE: dict[str, tuple[str, object]] = {}  # kind ('task', 'flow') → (key, value)
_CACHE_LOCK = threading.Lock()


def _cached(kind: str, key: str, build: Callable[[], Value]) -> Value:
    """The ``kind`` value for ``key``, built once per process (thread-safe); the previous value of
    that kind is dropped before ``build`` runs."""
    with _CACHE_LOCK:
        if _CACHE.get(kind, (None,))[0] != key:
            _CACHE.pop(kind, None)
            _CACHE[kind] = (key, build())
        return _CACHE[kind][1]


def cached_task(name: str) -> Task:
    """The task ``name`` (``patchnr.tasks.get_task``), built once per process while its cases last."""
    return _cached("task", name, lambda: get_task(name))


def cached_flow(asset: dict) -> PatchFlow:
    """The flow (eval mode) of a shipped flow asset: ``config`` (``FlowConfig.to_dict``), ``state_dict``,
    and ``sha256`` of its weights file, the cache key."""
    def build() -> PatchFlow:
        flow = PatchFlow(FlowConfig(**asset["config"]))
        flow.load_state_dict(asset["state_dict"])
        return flow.eval()

    return _cached("flow", asset["sha256"], build)
