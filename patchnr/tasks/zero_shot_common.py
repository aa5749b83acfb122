"""What the zero-shot superresolution tasks share: Gaussian noise 0.01, the reference's solver
settings (λ 0.25 in the paper's units, Adam lr 0.01, 60 iterations, bicubic start, patches from the
estimate reflect-padded like the operator), and a prior trained on the observation in the run."""

from __future__ import annotations

from typing import Callable

import torch

from ..measurement import Measurement
from ..noise import GaussianNoise
from ..operators.zeroshot import PaddedDownsample
from ..recipes import Recipe
from ..zero_shot import train_on_observation
from .base import Task, TVBaseline
from .sr_x4 import NOISE_STD, TV, paper_lambda

ZERO_SHOT_LAMBDA = paper_lambda(0.25)  # the reference's 0.25 for Σ (A x − y)², σ = 0.01


def zero_shot_recipe(n_patches: int, padding: int) -> Recipe:
    """The reference's reconstruction: λ 0.25 (paper units), Adam lr 0.01, 60 iterations."""
    return Recipe(lam=ZERO_SHOT_LAMBDA, iterations=60, lr=0.01, n_patches=n_patches, padding=padding)


def zero_shot_task(name: str, operator: Callable[[], PaddedDownsample], n_patches: int, example_file: str,
                   device: str | torch.device = "cpu", tv: TVBaseline = TV) -> Task:
    """A zero-shot task: ``operator()`` builds its forward model; its prior is trained on each observation."""
    padding = operator().padding
    recipe = zero_shot_recipe(n_patches, padding)
    return Task(
        name=name,
        build_measurement=lambda: Measurement(operator().to(device), GaussianNoise(NOISE_STD)),
        shapes=operator(),
        prior_file="",
        gmm_file="",
        example_file=example_file,
        recipes={"paper": recipe, "fast": recipe},
        tv=tv,
        epll_lam=ZERO_SHOT_LAMBDA,
        baseline="bicubic",
        prior_trainer=lambda observation, progress=True: train_on_observation(observation, progress=progress),
    )
