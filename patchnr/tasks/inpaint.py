"""Inpainting of texture images (lentils, material): the known pixels of a mask are observed with
Gaussian noise 0.01; the observation is the image and its unknown pixels are ignored. ``mask`` is a
PNG or ``.npy`` of the image's size (nonzero = known); ``missing`` draws a seeded random mask of
that fraction of unknown pixels per image size (default 0.5 when neither is given). The start is a
normalized-convolution fill; the prior is the bundled lentils patchNR.

λ is in units of the Gaussian NLL over the known pixels: patchNR's 1000, EPLL's 300 and TV's 5 are
the PSNR-best on a 256² validation crop of img_val_lentils at 50 % missing pixels
(``benchmarks/problems.py sweep-inpaint``, results/sweep_inpaint.md; EPLL at 300 and 1000 and TV
at 1 and 5 within 0.01 dB).
"""

from __future__ import annotations

import torch

from patchnr.errors import ParameterError
from patchnr.operators.inpainting import Inpainting, check_missing, load_mask
from patchnr.physics.known_pixels import KnownPixelsMeasurement
from patchnr.physics.noise import GaussianNoise
from patchnr.tasks.base import Task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TVBaseline
from patchnr.tasks.texture_common import texture_settings

NOISE_STD = 0.01
DEFAULT_MISSING = 0.5

# τ of --lam auto: the misfit per measurement at the PSNR-best λ 1000 (0.05 at λ 300, 1.05 at λ 3000;
# results/sweep_inpaint.md), at 50 % missing and the default noise.
SETTINGS = texture_settings("inpaint", lam=1000.0, tv=TVBaseline(lam=5.0, eps=1e-2, iterations=300), epll_lam=300.0,
                            baseline="fill", discrepancy_target=0.31)


def inpainting_operator(mask: str | None = None, missing: float | None = None, seed: int = 0) -> Inpainting:
    """The mask of the file ``mask``, or a random one with ``missing`` (default 0.5) unknown pixels."""
    if mask is not None and missing is not None:
        raise ParameterError("missing", "give either --mask or --missing, not both")
    if mask is not None:
        return Inpainting(mask=load_mask(mask))
    return Inpainting(missing=check_missing(DEFAULT_MISSING if missing is None else missing), seed=seed)


@register_task(SETTINGS.name)
def make_task(device: str | torch.device = "cpu", mask: str | None = None, missing: float | None = None, mask_seed: int = 0) -> Task:
    """The task on ``device`` for a mask file or a fraction of missing pixels (drawn with ``mask_seed``)."""
    operator = inpainting_operator(mask, missing, mask_seed)

    def build_measurement() -> KnownPixelsMeasurement:
        return KnownPixelsMeasurement(operator.to(device), GaussianNoise(NOISE_STD))

    return Task(SETTINGS, build_measurement, shapes=operator)
