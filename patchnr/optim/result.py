"""What a solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from patchnr.optim.schedules import Schedule


@dataclass
class Reconstruction:
    """Solver output: the image (B×C×H×W); per iteration (L-BFGS: per evaluation) the objective, the
    wall-clock seconds since the start and, with a ``PSNRHistory`` callback, the PSNR in dB."""

    image: torch.Tensor
    objective: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)


__all__ = ["Reconstruction", "Schedule"]
