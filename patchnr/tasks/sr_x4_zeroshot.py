"""Zero-shot ×4 superresolution (material images): 16×16 Gaussian σ = 2, stride 4, the estimate
reflect-padded by 6 (h×w → 4h×4w), noise 0.01; the prior is trained on the observation itself
(its 4 rotations × 2 flips) in the run. TV is sr-x4's (material images)."""

from __future__ import annotations

import torch

from patchnr.operators.zeroshot import zero_shot_x4
from patchnr.tasks.base import Task
from patchnr.tasks.registry import register_task
from patchnr.tasks.sr_common import MATERIAL_TV
from patchnr.tasks.zero_shot_common import ZERO_SHOT_LAMBDA, zero_shot_settings, zero_shot_task

# The fast recipe keeps the reference's λ 1250 (NLL units): on img_val_material λ ∈ {80, 300, 3000,
# 8000} gave 0.4–1.5 dB lower PSNR (results/tuning_zero_shot.log).
SETTINGS = zero_shot_settings("sr-x4-zeroshot", zero_shot_x4, paper_patches=50_000, fast_lam=ZERO_SHOT_LAMBDA,
                              tv=MATERIAL_TV, example_file="examples/material_test.png")


@register_task(SETTINGS.name)
def make_task(device: str | torch.device = "cpu") -> Task:
    """The task on ``device``."""
    return zero_shot_task(SETTINGS, zero_shot_x4, device)
