"""Zero-shot ×2 superresolution (natural images): 16×16 Gaussian σ = 1, stride 2, the estimate
reflect-padded by 7 (h×w → 2h×2w), noise 0.01; the prior is trained on the observation itself
(its 4 rotations × 2 flips) in the run; 80 000 patches per iteration."""

from __future__ import annotations

import torch

from ..operators.zeroshot import zero_shot_x2
from .base import Task
from .zero_shot_common import zero_shot_task

NAME = "sr-x2-zeroshot"


def make_task(device: str | torch.device = "cpu") -> Task:
    """The task on ``device``."""
    return zero_shot_task(NAME, zero_shot_x2, n_patches=80_000, example_file="examples/camera_crop.png", device=device)
