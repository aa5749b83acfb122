"""Zero-shot superresolution operators of the reference code: the estimate reflect-padded, then a
valid Gaussian downsampling. The domain is the unpadded image: an h×w observation comes from a
(factor·h)×(factor·w) image (×2: σ = 1, padding 7; ×4: σ = 2, padding 6; 16×16 kernels)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from patchnr.operators.base import Operator, Shape
from patchnr.operators.superres import GaussianDownsample


class PaddedDownsample(Operator):
    """A x = valid Gaussian downsampling of x (B×C×H×W) reflect-padded by ``padding`` pixels."""

    def __init__(self, stride: int, sigma: float, padding: int, kernel_size: int = 16):
        super().__init__()
        self.inner = GaussianDownsample(stride=stride, kernel_size=kernel_size, sigma=sigma, boundary="valid")
        self.stride, self.padding = stride, padding

    def range_shape(self, image_shape: Shape) -> Shape:
        if min(image_shape) <= self.padding:
            raise ValueError(f"an image of {image_shape[0]}×{image_shape[1]} is too small for a reflect padding of {self.padding}")
        return self.inner.range_shape(tuple(side + 2 * self.padding for side in image_shape))

    def domain_shape(self, observation_shape: Shape) -> Shape:
        if min(observation_shape) < 4:
            raise ValueError("the low-resolution image must be at least 4×4")
        return tuple(side * self.stride for side in observation_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(F.pad(x, (self.padding,) * 4, mode="reflect"))

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Bicubic upsampling by the stride, whose samples sit on the kernel centres.

        LR sample i averages padded pixels stride·i … stride·i + 15, centred at stride·i + 7.5 − padding
        in image coordinates: 2i + 0.5 (×2) and 4i + 1.5 (×4), where bicubic (half-pixel centres) puts it.
        """
        return F.interpolate(y, scale_factor=self.stride, mode="bicubic", align_corners=False)


def zero_shot_x2() -> PaddedDownsample:
    """×2: 16×16 Gaussian σ = 1, stride 2, reflect padding 7 (h×w → 2h×2w)."""
    return PaddedDownsample(stride=2, sigma=1.0, padding=7)


def zero_shot_x4() -> PaddedDownsample:
    """×4: 16×16 Gaussian σ = 2, stride 4, reflect padding 6 (h×w → 4h×4w)."""
    return PaddedDownsample(stride=4, sigma=2.0, padding=6)


__all__ = ["PaddedDownsample", "zero_shot_x2", "zero_shot_x4"]
