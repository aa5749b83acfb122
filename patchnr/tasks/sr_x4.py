"""×4 superresolution of the paper's material images: 16×16 Gaussian blur (σ = 2), stride 4,
periodic boundary (600² → 150²), Gaussian noise σ = 0.01. With degradation 'bicubic' the
operator is the usual anti-aliased bicubic ×4 resize instead (low-resolution images made that way).

λ is in units of the Gaussian NLL (``sr_common.paper_lambda`` converts the paper's: 0.15 → 750).
"""

from __future__ import annotations

import torch

from patchnr.errors import ParameterError
from patchnr.operators.bicubic import BicubicDownsample
from patchnr.operators.superres import superresolution_x4
from patchnr.optim.recipes import Recipe
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.tasks.assets import MATERIAL_SR
from patchnr.tasks.base import Task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TaskSettings
from patchnr.tasks.sr_common import MATERIAL_TV, NOISE_STD, paper_lambda

ADAM_EPS = paper_lambda(1e-8)  # PyTorch's ε on the paper's objective: Adam takes the paper's steps

PAPER = Recipe(lam=paper_lambda(0.15), iterations=300, lr=0.03, n_patches=130_000, adam_eps=ADAM_EPS)
# chosen on img_val_material (results/tuning.md)
FAST = Recipe(lam=paper_lambda(0.25), iterations=150, lr=0.01, n_patches=30_000, lr_schedule="cosine", bf16=True, adam_eps=ADAM_EPS)

SETTINGS = TaskSettings(
    name="sr-x4",
    paper=PAPER,
    fast=FAST,
    tv=MATERIAL_TV,
    epll_lam=paper_lambda(0.25),  # chosen on img_val_material (results/lambda_sweep_sr-x4_epll.md)
    baseline="bicubic",
    assets=MATERIAL_SR,
)

DEGRADATIONS = ("gaussian", "bicubic")


def degradation_operator(degradation: str):
    """'gaussian': the paper's operator; 'bicubic': the usual anti-aliased bicubic ×4 downscale."""
    if degradation == "gaussian":
        return superresolution_x4()
    if degradation == "bicubic":
        return BicubicDownsample(4)
    raise ParameterError("degradation", f"expected one of {', '.join(DEGRADATIONS)}, got {degradation!r}")


@register_task(SETTINGS.name)
def make_task(device: str | torch.device = "cpu", degradation: str = "gaussian") -> Task:
    """The task on ``device`` for the low-resolution images' ``degradation`` (``DEGRADATIONS``)."""
    operator = degradation_operator(degradation)

    def build_measurement() -> Measurement:
        return Measurement(degradation_operator(degradation).to(device), GaussianNoise(NOISE_STD))

    return Task(SETTINGS, build_measurement, shapes=operator)
