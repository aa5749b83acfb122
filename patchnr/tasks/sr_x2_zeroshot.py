"""Zero-shot ×2 superresolution (natural images): 16×16 Gaussian σ = 1, stride 2, the estimate
reflect-padded by 7 (h×w → 2h×2w), noise 0.01; the prior is trained on the observation itself
(its 4 rotations × 2 flips) in the run; the paper recipe draws 80 000 patches per iteration, the
fast one 20 000 (zero_shot_common)."""

from __future__ import annotations

import torch

from patchnr.operators.zeroshot import zero_shot_x2
from patchnr.tasks.base import Task, TVBaseline
from patchnr.tasks.zero_shot_common import zero_shot_task

NAME = "sr-x2-zeroshot"
# TV's λ (NLL units): the best mean SSIM of λ ∈ {1, 3.5, 10, 17, 30, 100} on the validation crops of
# data_scripts/tune_zero_shot.py x2 (results/tuning_zero_shot.log)
TV = TVBaseline(lam=17.0, eps=1e-2, iterations=300)
FAST_LAMBDA = 800.0  # the fast recipe's λ (NLL units), chosen the same way among {500, 800, 1250, 3000}


def make_task(device: str | torch.device = "cpu") -> Task:
    """The task on ``device``."""
    return zero_shot_task(NAME, zero_shot_x2, n_patches=80_000, example_file="examples/camera_crop.png", device=device,
                          tv=TV, fast_lam=FAST_LAMBDA)
