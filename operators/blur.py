"""Deblurring: 'same' convolution with a reflect boundary, kernels by name or from a .npy file.

A kernel spec is ``gaussian:SIGMA`` (a (2⌈3σ⌉+1)² Gaussian), ``motion:LENGTH:ANGLE`` (a line of
LENGTH pixels at ANGLE degrees, anti-aliased), or a path to a 2-D ``.npy`` array (normalised to sum 1).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from patchnr.errors import ParameterError
from patchnr.operators.base import Operator, Shape
from patchnr.operators.superres import gaussian_kernel

WIENER_BALANCE = 1e-2  # noise-to-signal power of the Wiener pseudo-inverse (per frequency)
NAMED_KERNELS = ("gaussian:SIGMA", "motion:LENGTH:ANGLE")


def motion_kernel(length: float, angle_degrees: float) -> torch.Tensor:
    """A straight motion blur of ``length`` pixels at ``angle_degrees``: an anti-aliased line, sum 1."""
    size = 2 * math.ceil(length / 2) + 1
    grid = torch.arange(size, dtype=torch.float64) - size // 2
    rows, cols = torch.meshgrid(grid, grid, indexing="ij")
    angle = math.radians(angle_degrees)
    along = cols * math.cos(angle) - rows * math.sin(angle)
    across = cols * math.sin(angle) + rows * math.cos(angle)
    weight = (1 - across.abs()).clamp_min(0) * (length / 2 + 0.5 - along.abs()).clamp(0, 1)
    return (weight / weight.sum()).float()


def _named_kernel(spec: str) -> torch.Tensor:
    kind, _, rest = spec.partition(":")
    try:
        values = [float(part) for part in rest.split(":")] if rest else []
    except ValueError:
        values = []
    if kind == "gaussian" and len(values) == 1 and 0 < values[0] <= 50:
        sigma = values[0]
        return gaussian_kernel(2 * math.ceil(3 * sigma) + 1, sigma)
    if kind == "motion" and len(values) == 2 and 1 <= values[0] <= 100 and math.isfinite(values[1]):
        return motion_kernel(values[0], values[1])
    raise ParameterError("kernel", f"expected {' or '.join(NAMED_KERNELS)} (SIGMA in (0, 50], LENGTH in [1, 100]) or FILE.npy, got {spec!r}")


def load_kernel(spec: str) -> torch.Tensor:
    """The 2-D kernel (float32, sum 1) named by ``spec`` or stored in the ``.npy`` file ``spec``."""
    if not spec.lower().endswith(".npy"):
        return _named_kernel(spec)
    path = Path(spec)
    if not path.is_file():
        raise ParameterError("kernel", f"{path}: no such file")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ParameterError("kernel", f"{path}: not a readable .npy array ({error})") from None
    return normalised_kernel(array, str(path))


def normalised_kernel(array: np.ndarray, source: str = "kernel") -> torch.Tensor:
    """``array`` as a float32 kernel of sum 1; ``ParameterError('kernel')`` if not 2-D, not finite or not of positive sum."""
    if array.ndim != 2 or min(array.shape) < 1 or not np.issubdtype(array.dtype, np.number):
        raise ParameterError("kernel", f"{source}: a kernel must be a 2-D numeric array, got shape {array.shape} ({array.dtype})")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ParameterError("kernel", f"{source}: the kernel contains NaN or Inf")
    if not array.sum() > 0:
        raise ParameterError("kernel", f"{source}: the kernel's sum must be positive, got {array.sum():g}")
    return torch.from_numpy(array / array.sum()).float()


class Blur(Operator):
    """A x = k ∗ x, 'same' size: x (B×C×H×W) reflect-padded by the kernel's half sizes, then a valid
    convolution (the kernel flipped: a true convolution). The kernel must be smaller than the image."""

    def __init__(self, kernel: torch.Tensor):
        super().__init__()
        if kernel.ndim != 2:
            raise ValueError(f"the kernel must be 2-D, got shape {tuple(kernel.shape)}")
        self.register_buffer("kernel", kernel.float()[None, None])

    @property
    def kernel_shape(self) -> Shape:
        return tuple(self.kernel.shape[-2:])

    def _padding(self) -> tuple[int, int, int, int]:
        """(left, right, top, bottom) so that the output has the input's size."""
        kh, kw = self.kernel_shape
        return ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2)

    def check_image_shape(self, image_shape: Shape) -> None:
        """``ParameterError('kernel')`` if the kernel is as large as the image or larger."""
        if any(k >= side for k, side in zip(self.kernel_shape, image_shape)):
            raise ParameterError("kernel", f"the {self.kernel_shape[0]}×{self.kernel_shape[1]} kernel is larger than the "
                                           f"{image_shape[0]}×{image_shape[1]} image")

    def range_shape(self, image_shape: Shape) -> Shape:
        self.check_image_shape(tuple(image_shape))
        return tuple(image_shape)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        self.check_image_shape(tuple(observation_shape))
        return tuple(observation_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_image_shape(tuple(x.shape[-2:]))
        kernel = self.kernel.to(x.dtype).flip(-2, -1).expand(x.shape[1], 1, -1, -1)
        return F.conv2d(F.pad(x, self._padding(), mode="reflect"), kernel, groups=x.shape[1])

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Wiener deconvolution (noise-to-signal ``WIENER_BALANCE``) of the reflect-padded observation, cropped back."""
        left, right, top, bottom = (2 * p for p in self._padding())
        padded = F.pad(y, (left, right, top, bottom), mode="reflect").double()
        height, width = padded.shape[-2:]
        kh, kw = self.kernel_shape
        psf = torch.zeros(height, width, dtype=torch.float64, device=y.device)
        psf[:kh, :kw] = self.kernel[0, 0].double()
        psf = torch.roll(psf, shifts=(-((kh - 1) // 2), -((kw - 1) // 2)), dims=(0, 1))  # centre at the origin
        transfer = torch.fft.rfft2(psf)
        spectrum = torch.fft.rfft2(padded) * transfer.conj() / (transfer.abs() ** 2 + WIENER_BALANCE)
        restored = torch.fft.irfft2(spectrum, s=(height, width))
        return restored[..., top:height - bottom, left:width - right].to(y.dtype)


def blur(spec: str) -> Blur:
    """The blur operator of a kernel spec (``gaussian:SIGMA``, ``motion:LENGTH:ANGLE`` or FILE.npy)."""
    return Blur(load_kernel(spec))


__all__ = ["Blur", "NAMED_KERNELS", "blur", "load_kernel", "motion_kernel", "normalised_kernel"]
