"""Superresolution of images made the usual way: an anti-aliased bicubic downscale.

A x = bicubic resize of x (B×C×H×W) by 1/factor with anti-aliasing (Keys a = −0.5, the kernel
stretched by the factor), as PIL's ``Image.resize(..., BICUBIC)`` and
``torch.nn.functional.interpolate(..., mode='bicubic', antialias=True)`` do; differentiable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from patchnr.operators.base import Operator, Shape


class BicubicDownsample(Operator):
    """H×W → (H/factor)×(W/factor); the sides must be multiples of ``factor``."""

    def __init__(self, factor: int = 4):
        super().__init__()
        if factor < 2:
            raise ValueError(f"factor must be at least 2, got {factor}")
        self.factor = int(factor)

    def range_shape(self, image_shape: Shape) -> Shape:
        if any(side % self.factor or side < 4 * self.factor for side in image_shape):
            raise ValueError(f"an image of {image_shape[0]}×{image_shape[1]} is not a multiple of {self.factor} of at least {4 * self.factor}")
        return tuple(side // self.factor for side in image_shape)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        if min(observation_shape) < 4:
            raise ValueError("the low-resolution image must be at least 4×4")
        return tuple(side * self.factor for side in observation_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = self.range_shape(tuple(x.shape[-2:]))
        return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False)

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Bicubic upsampling by ``factor`` (the same pixel-centre alignment as the downscale)."""
        return F.interpolate(y, scale_factor=self.factor, mode="bicubic", align_corners=False)


__all__ = ["BicubicDownsample"]
