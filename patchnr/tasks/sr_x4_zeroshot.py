"""Zero-shot ×4 superresolution (material images): 16×16 Gaussian σ = 2, stride 4, the estimate
reflect-padded by 6 (h×w → 4h×4w), noise 0.01; the prior is trained on the observation itself
(its 4 rotations × 2 flips) in the run; the paper recipe draws 50 000 patches per iteration, the
fast one 20 000 (zero_shot_common)."""

from __future__ import annotations

import torch

from patchnr.operators.zeroshot import zero_shot_x4
from patchnr.tasks.base import Task
from patchnr.tasks.zero_shot_common import zero_shot_task

NAME = "sr-x4-zeroshot"


def make_task(device: str | torch.device = "cpu") -> Task:
    """The task on ``device``."""
    return zero_shot_task(NAME, zero_shot_x4, n_patches=50_000, example_file="examples/material_test.png", device=device)
