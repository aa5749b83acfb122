"""Deblurring of texture images (lentils): 'same' convolution with a reflect boundary, Gaussian
noise 5/255 as in the reference; ``kernel`` is ``gaussian:SIGMA``, ``motion:LENGTH:ANGLE`` or a
2-D ``.npy`` file (normalised). The prior is the bundled lentils patchNR.

λ is in units of the Gaussian NLL Σ (A x − y)² / (2σ²); patchNR's 300, EPLL's 300 and TV's 5 are
the PSNR-best of a sweep on a 256² crop of img_val_lentils with kernel gaussian:2
(``benchmarks/problems.py sweep-deblur``, results/sweep_deblur.md). As everywhere the patch prior is
a mean over patches, so λ suits images of about that size.
"""

from __future__ import annotations

import sys

import torch

from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.operators.blur import blur
from patchnr.optim.recipes import Recipe
from patchnr.tasks.base import Task, TVBaseline, settings_task

NAME = "deblur"
NOISE_STD = 5 / 255
DEFAULT_KERNEL = "gaussian:2"

FAST = Recipe(lam=300.0, iterations=150, lr=0.01, n_patches=30_000, lr_schedule="cosine", bf16=True)
PAPER = Recipe(lam=300.0, iterations=300, lr=0.01, n_patches=60_000)
TV = TVBaseline(lam=5.0, eps=1e-2, iterations=300)
PRIOR_FILE = "priors/lentils.pt"
GMM_FILE = "priors/gmm_lentils.pt"
EXAMPLE_FILE = "examples/lentils_test.png"
BASELINE = "wiener"
EPLL_LAM = 300.0
# τ of --lam auto: the misfit per measurement of the PSNR-best λ (300) of the validation sweep
# (results/sweep_deblur.md; 0.90 at λ 100, 0.97 at λ 1000: flat in λ), at the default noise and kernel.
DISCREPANCY_TARGET = 0.93


def make_task(device: str | torch.device = "cpu", kernel: str = DEFAULT_KERNEL) -> Task:
    """The task on ``device`` for the blur kernel spec ``kernel``."""
    operator = blur(kernel)  # parses the spec now: a bad kernel is a ParameterError before any work
    def build_measurement():
        return Measurement(operator.to(device), GaussianNoise(NOISE_STD))

    return settings_task(sys.modules[__name__], build_measurement, operator)
