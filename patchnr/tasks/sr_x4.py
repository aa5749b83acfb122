"""×4 superresolution of the paper's material images: 16×16 Gaussian blur (σ = 2), stride 4,
periodic boundary (600² → 150²), Gaussian noise σ = 0.01. With degradation 'bicubic' the
operator is the usual anti-aliased bicubic ×4 resize instead (low-resolution images made that way).

λ here is in units of the Gaussian NLL Σ (A x − y)² / (2σ²). The paper's data term is Σ (A x − y)²,
so a paper λ converts by ``paper_lambda`` (÷ 2σ²): its 0.15 is 750 here.
"""

from __future__ import annotations

import sys

import torch

from patchnr.errors import ParameterError
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.operators.bicubic import BicubicDownsample
from patchnr.operators.superres import superresolution_x4
from patchnr.optim.recipes import Recipe
from patchnr.tasks.base import Task, TVBaseline, settings_task

NAME = "sr-x4"
NOISE_STD = 0.01


def paper_lambda(lam: float) -> float:
    """A λ of the paper's term Σ (A x − y)² in units of this task's Gaussian NLL (also converts any
    other quantity in the paper's objective units, such as Adam's ε)."""
    return lam / (2 * NOISE_STD**2)


ADAM_EPS = paper_lambda(1e-8)  # PyTorch's ε on the paper's objective: Adam takes the paper's steps


# The paper's settings; the fast recipe was tuned on img_val_material only (results/tuning.md).
PAPER = Recipe(lam=paper_lambda(0.15), iterations=300, lr=0.03, n_patches=130_000, adam_eps=ADAM_EPS)
FAST = Recipe(lam=paper_lambda(0.25), iterations=150, lr=0.01, n_patches=30_000, lr_schedule="cosine", bf16=True, adam_eps=ADAM_EPS)
# Baselines, chosen on img_val_material: results/lambda_sweep_sr-x4_tv.md (λ 7e-4, ε 1e-2 in the
# paper's units) and results/lambda_sweep_sr-x4_epll.md (λ 0.25 in the paper's units).
TV = TVBaseline(lam=paper_lambda(7e-4), eps=1e-2, iterations=300)
PRIOR_FILE = "priors/sr_material.pt"
GMM_FILE = "priors/gmm_sr_material.pt"
EXAMPLE_FILE = "examples/material_test.png"
BASELINE = "bicubic"
EPLL_LAM = paper_lambda(0.25)


DEGRADATIONS = ("gaussian", "bicubic")


def degradation_operator(degradation: str):
    """'gaussian': the paper's operator; 'bicubic': the usual anti-aliased bicubic ×4 downscale."""
    if degradation == "gaussian":
        return superresolution_x4()
    if degradation == "bicubic":
        return BicubicDownsample(4)
    raise ParameterError("degradation", f"expected one of {', '.join(DEGRADATIONS)}, got {degradation!r}")


def make_task(device: str | torch.device = "cpu", degradation: str = "gaussian") -> Task:
    """The task on ``device`` for the low-resolution images' ``degradation`` (``DEGRADATIONS``)."""
    degradation_operator(degradation)
    def build_measurement():
        return Measurement(degradation_operator(degradation).to(device), GaussianNoise(NOISE_STD))

    return settings_task(sys.modules[__name__], build_measurement, degradation_operator(degradation))
