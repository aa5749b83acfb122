"""Zero-shot ×2 superresolution (natural images): 16×16 Gaussian σ = 1, stride 2, the estimate
reflect-padded by 7 (h×w → 2h×2w), noise 0.01; the prior is trained on the observation itself
(its 4 rotations × 2 flips) in the run."""

from __future__ import annotations

import torch

from patchnr.operators.zeroshot import zero_shot_x2
from patchnr.tasks.base import Task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TVBaseline
from patchnr.tasks.zero_shot_common import zero_shot_settings, zero_shot_task

# λ of TV and of the fast recipe (NLL units): the best mean SSIM of TV's λ ∈ {1, 3.5, 10, 17, 30, 100}
# and the best mean PSNR and SSIM of the fast λ ∈ {500, 800, 1250, 3000} on two natural validation
# crops (data_scripts/tune_zero_shot.py x2, results/tuning_zero_shot.log).
SETTINGS = zero_shot_settings("sr-x2-zeroshot", zero_shot_x2, paper_patches=80_000, fast_lam=800.0,
                              tv=TVBaseline(lam=17.0, eps=1e-2, iterations=300), example_file="examples/camera_crop.png")


@register_task(SETTINGS.name)
def make_task(device: str | torch.device = "cpu") -> Task:
    """The task on ``device``."""
    return zero_shot_task(SETTINGS, zero_shot_x2, device)
