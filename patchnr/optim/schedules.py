"""Learning-rate schedules: factors on a base step size, as a function of progress."""

from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[float], float]


def cosine_schedule(span: float, final_fraction: float = 0.05) -> Schedule:
    """t ↦ the factor on the learning rate at progress t: 1 at t = 0, decaying along a half cosine to
    ``final_fraction`` at t = ``span`` and staying there after.

    ``span`` is in the caller's units of progress: iterations for the solvers (``Recipe``, floor 0.05),
    the fraction 1.0 of a training run for ``flows.train`` (floor 0.01). A span ≤ 0 counts as 1.
    """
    length = span if span > 0 else 1
    return lambda t: final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * min(t, length) / length))


__all__ = ["Schedule", "cosine_schedule"]
