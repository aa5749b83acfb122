"""What the zero-shot superresolution tasks share: Gaussian noise 0.01, a bicubic start, patches from
the estimate reflect-padded like the operator, a prior trained on the observation in the run, and
two recipes:

- ``paper``: the reference's λ 0.25 (paper units; 1250 in NLL units), Adam lr 0.01, 60 iterations;
- ``fast`` (the default): bf16 flow, 20 000 stratified patches, 150 iterations at lr 0.02
  cosine-decayed, λ chosen on validation images (``data_scripts/tune_zero_shot.py``,
  results/tuning_zero_shot.log).
"""

from __future__ import annotations

from typing import Callable

import torch

from patchnr.flows.zero_shot import train_on_observation
from patchnr.operators.zeroshot import PaddedDownsample
from patchnr.optim.recipes import Recipe
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.tasks.assets import example_only
from patchnr.tasks.base import Task
from patchnr.tasks.settings import TaskSettings, TVBaseline
from patchnr.tasks.sr_common import NOISE_STD, paper_lambda

ZERO_SHOT_LAMBDA = paper_lambda(0.25)  # the reference's 0.25 for Σ (A x − y)², σ = 0.01


def zero_shot_recipe(n_patches: int, padding: int) -> Recipe:
    """The reference's reconstruction: λ 0.25 (paper units), Adam lr 0.01, 60 iterations."""
    return Recipe(lam=ZERO_SHOT_LAMBDA, iterations=60, lr=0.01, n_patches=n_patches, padding=padding)


def zero_shot_fast_recipe(padding: int, lam: float) -> Recipe:
    """The default: bf16 flow, 20 000 stratified patches, cosine-decayed steps (data_scripts/tune_zero_shot.py)."""
    return Recipe(lam=lam, iterations=150, lr=0.02, n_patches=20_000, padding=padding, lr_schedule="cosine",
                  bf16=True, stratified=True)


def zero_shot_settings(name: str, operator: Callable[[], PaddedDownsample], paper_patches: int, fast_lam: float,
                       tv: TVBaseline, example_file: str) -> TaskSettings:
    """A zero-shot task's settings: the recipes draw patches with ``operator()``'s padding;
    paper_patches: the paper recipe's patches per iteration; fast_lam: the fast recipe's λ (NLL units);
    EPLL's λ is the reference's; no bundled prior."""
    padding = operator().padding
    return TaskSettings(name=name, paper=zero_shot_recipe(paper_patches, padding), fast=zero_shot_fast_recipe(padding, fast_lam),
                        tv=tv, epll_lam=ZERO_SHOT_LAMBDA, baseline="bicubic", assets=example_only(example_file))


def zero_shot_task(settings: TaskSettings, operator: Callable[[], PaddedDownsample], device: str | torch.device = "cpu") -> Task:
    """A zero-shot task: ``operator()`` builds its forward model on ``device``; its prior is trained on each observation."""
    return Task(
        settings,
        build_measurement=lambda: Measurement(operator().to(device), GaussianNoise(NOISE_STD)),
        shapes=operator(),
        prior_trainer=lambda observation, progress=True: train_on_observation(observation, progress=progress),
    )
