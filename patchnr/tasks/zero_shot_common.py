"""What the zero-shot superresolution tasks share: Gaussian noise 0.01, a bicubic start, patches from
the estimate reflect-padded like the operator, a prior trained on the observation in the run, and
two recipes:

- ``paper``: the reference's λ 0.25 (paper units; 1250 in NLL units), Adam lr 0.01, 60 iterations,
  80 000 (×4: 50 000) patches;
- ``fast`` (the default): bf16 flow, 20 000 stratified patches, 150 iterations at lr 0.02
  cosine-decayed, chosen on validation images (``data_scripts/tune_zero_shot.py``,
  results/tuning_zero_shot.log). ×4: λ 1250; on img_val_material λ ∈ {80, 300, 3000, 8000} fell
  0.4–1.5 dB below it, and the PSNR gained less than 0.05 dB after iteration 100. ×2: λ 800, the
  best mean PSNR and SSIM of {500, 800, 1250, 3000} on two natural validation crops.
"""

from __future__ import annotations

from typing import Callable

import torch

from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.operators.zeroshot import PaddedDownsample
from patchnr.optim.recipes import Recipe
from patchnr.flows.zero_shot import train_on_observation
from patchnr.tasks.base import Task, TVBaseline
from patchnr.tasks.sr_x4 import NOISE_STD, TV, paper_lambda

ZERO_SHOT_LAMBDA = paper_lambda(0.25)  # the reference's 0.25 for Σ (A x − y)², σ = 0.01


def zero_shot_recipe(n_patches: int, padding: int) -> Recipe:
    """The reference's reconstruction: λ 0.25 (paper units), Adam lr 0.01, 60 iterations."""
    return Recipe(lam=ZERO_SHOT_LAMBDA, iterations=60, lr=0.01, n_patches=n_patches, padding=padding)


def zero_shot_fast_recipe(padding: int, lam: float) -> Recipe:
    """The default: bf16 flow, 20 000 stratified patches, cosine-decayed steps (data_scripts/tune_zero_shot.py)."""
    return Recipe(lam=lam, iterations=150, lr=0.02, n_patches=20_000, padding=padding, lr_schedule="cosine",
                  bf16=True, stratified=True)


def zero_shot_task(name: str, operator: Callable[[], PaddedDownsample], n_patches: int, example_file: str,
                   device: str | torch.device = "cpu", tv: TVBaseline = TV, fast_lam: float = ZERO_SHOT_LAMBDA) -> Task:
    """A zero-shot task: ``operator()`` builds its forward model; its prior is trained on each observation.
    n_patches: the paper recipe's; fast_lam: the fast recipe's λ (NLL units)."""
    padding = operator().padding
    return Task(
        name=name,
        build_measurement=lambda: Measurement(operator().to(device), GaussianNoise(NOISE_STD)),
        shapes=operator(),
        prior_file="",
        gmm_file="",
        example_file=example_file,
        recipes={"paper": zero_shot_recipe(n_patches, padding), "fast": zero_shot_fast_recipe(padding, fast_lam)},
        tv=tv,
        epll_lam=ZERO_SHOT_LAMBDA,
        baseline="bicubic",
        prior_trainer=lambda observation, progress=True: train_on_observation(observation, progress=progress),
    )
