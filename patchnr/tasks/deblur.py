"""Deblurring of texture images (lentils): 'same' convolution with a reflect boundary, Gaussian
noise 5/255 as in the reference; ``kernel`` is ``gaussian:SIGMA``, ``motion:LENGTH:ANGLE`` or a
2-D ``.npy`` file (normalised). The prior is the bundled lentils patchNR.

λ is in units of the Gaussian NLL Σ (A x − y)² / (2σ²); patchNR's 300, EPLL's 300 and TV's 5 are
the PSNR-best on a 256² validation crop of img_val_lentils with kernel gaussian:2
(``benchmarks/problems.py sweep-deblur``, results/sweep_deblur.md). As everywhere the patch prior is
a mean over patches, so λ suits images of about that size.
"""

from __future__ import annotations

import torch

from patchnr.operators.blur import blur
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.tasks.base import Task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TVBaseline
from patchnr.tasks.texture_common import texture_settings

NOISE_STD = 5 / 255
DEFAULT_KERNEL = "gaussian:2"

# τ of --lam auto: the misfit per measurement at the PSNR-best λ 300 (0.90 at λ 100, 0.97 at λ 1000:
# flat in λ; results/sweep_deblur.md), at the default noise and kernel.
SETTINGS = texture_settings("deblur", lam=300.0, tv=TVBaseline(lam=5.0, eps=1e-2, iterations=300), epll_lam=300.0,
                            baseline="wiener", discrepancy_target=0.93)


@register_task(SETTINGS.name)
def make_task(device: str | torch.device = "cpu", kernel: str = DEFAULT_KERNEL) -> Task:
    """The task on ``device`` for the blur kernel spec ``kernel`` (parsed now: a bad one is a
    ``ParameterError`` before any work)."""
    operator = blur(kernel)

    def build_measurement() -> Measurement:
        return Measurement(operator.to(device), GaussianNoise(NOISE_STD))

    return Task(SETTINGS, build_measurement, shapes=operator)
