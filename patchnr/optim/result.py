"""What a solver returns, and the learning-rate schedule of the recipes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

Schedule = Callable[[int], float]


@dataclass
class Reconstruction:
    """Solver output: the image (B×C×H×W); per iteration (L-BFGS: per evaluation) the objective, the
    wall-clock seconds since the start and, with a ``PSNRHistory`` callback, the PSNR in dB."""

    image: torch.Tensor
    objective: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)


def cosine_schedule(iterations: int, final_fraction: float = 0.05) -> Schedule:
    """Learning-rate factor decaying from 1 to ``final_fraction`` along a half cosine."""
    return lambda k: final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * k / max(iterations, 1)))
