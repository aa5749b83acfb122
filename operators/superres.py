"""Superresolution: Gaussian blur followed by subsampling, as in the patchNR paper."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from patchnr.operators.base import Operator, Shape


def gaussian_kernel(size: int, sigma: float) -> torch.Tensor:
    """size×size Gaussian centred at ((size−1)/2, (size−1)/2), normalised to sum 1."""
    grid = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * sigma**2))
    return (kernel / kernel.sum()).float()


class GaussianDownsample(Operator):
    """A x = (k ∗ x) sampled every ``stride`` pixels, on B×C×H×W images in [0, 1].

    boundary='periodic' (the paper's ×4 operator): the first k−1 rows, then columns, are appended
    at the bottom/right before a valid convolution, so H → ⌊(H−1)/stride⌋ + 1 (600 → 150).
    boundary='valid' (inside the zero-shot operators, ``zeroshot.PaddedDownsample``): plain valid
    convolution, H → ⌊(H−k)/stride⌋ + 1.
    """

    def __init__(self, stride: int = 4, kernel_size: int = 16, sigma: float = 2.0, boundary: str = "periodic"):
        super().__init__()
        if boundary not in ("periodic", "valid"):
            raise ValueError(f"boundary must be 'periodic' or 'valid', got {boundary!r}")
        self.stride, self.kernel_size, self.boundary = stride, kernel_size, boundary
        self.register_buffer("kernel", gaussian_kernel(kernel_size, sigma)[None, None])

    def output_size(self, size: int) -> int:
        """Low-resolution side length for a high-resolution side ``size``."""
        extra = self.kernel_size - 1 if self.boundary == "periodic" else 0
        return (size + extra - self.kernel_size) // self.stride + 1

    def input_size(self, size: int) -> int:
        """High-resolution side length that maps to a low-resolution side ``size``."""
        if self.boundary == "periodic":
            return size * self.stride
        return (size - 1) * self.stride + self.kernel_size

    def range_shape(self, image_shape: Shape) -> Shape:
        """The low-resolution size of an H×W image; ``ValueError`` if it is smaller than the kernel allows."""
        shape = tuple(self.output_size(side) for side in image_shape)
        if min(shape) < 1:
            raise ValueError(f"an image of {image_shape[0]}×{image_shape[1]} is too small for a {self.kernel_size}×{self.kernel_size} kernel")
        return shape

    def domain_shape(self, observation_shape: Shape) -> Shape:
        """The high-resolution size that maps to a low-resolution ``observation_shape`` (at least 4×4)."""
        if min(observation_shape) < 4:
            raise ValueError("the low-resolution image must be at least 4×4")
        return tuple(self.input_size(side) for side in observation_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.boundary == "periodic":
            pad = self.kernel_size - 1
            x = torch.cat([x, x[:, :, :pad]], dim=2)
            x = torch.cat([x, x[:, :, :, :pad]], dim=3)
        kernel = self.kernel.to(x.dtype).expand(x.shape[1], 1, -1, -1)
        return F.conv2d(x, kernel, stride=self.stride, groups=x.shape[1])

    @property
    def _shift(self) -> int:
        """Offset (HR pixels) between an LR sample's kernel centre and bicubic's sample grid."""
        return round((self.kernel_size - 1) / 2 - (self.stride - 1) / 2)

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Bicubic upsampling by ``stride``, shifted onto the kernel centres (the paper's initialisation)."""
        up = F.interpolate(y, scale_factor=self.stride, mode="bicubic", align_corners=False)
        if self.boundary == "periodic":
            return torch.roll(up, shifts=(self._shift, self._shift), dims=(2, 3))
        margin = self.input_size(y.shape[-1]) - up.shape[-1]
        low = margin // 2
        return F.pad(up, (low, margin - low, low, margin - low), mode="replicate")


def superresolution_x4() -> GaussianDownsample:
    """The paper's material ×4 operator: 16×16 Gaussian, σ = 2, stride 4, periodic (600² → 150²)."""
    return GaussianDownsample(stride=4, kernel_size=16, sigma=2.0, boundary="periodic")


__all__ = ["GaussianDownsample", "gaussian_kernel", "superresolution_x4"]
