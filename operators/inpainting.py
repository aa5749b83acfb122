"""Inpainting: a mask of known pixels. The observation is the image; its unknown pixels are ignored.

A x = m ⊙ x on B×C×H×W images, m ∈ {0, 1}^{H×W} (1: known). The mask is fixed (from a file) or
drawn per image size with a seeded generator (a fraction of missing pixels), the same for every
call with that size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from patchnr.errors import ParameterError
from patchnr.operators.base import Operator, Shape

FILL_SIGMAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)  # normalized-convolution scales of the fill, in pixels
FILL_MIN_WEIGHT = 1e-3  # a pixel is filled at the first scale whose known-pixel weight reaches this


class MaskSizeError(ParameterError, ValueError):
    """A fixed mask whose size is not the image's (a ``ValueError`` too, as the operator contract asks)."""


def load_mask(path: str | Path) -> torch.Tensor:
    """A H×W float mask (1 known, 0 unknown) from a PNG (grey or colour) or 2-D ``.npy``: nonzero = known.

    ``ParameterError('mask')`` for a missing or unreadable file, a non-2-D or non-finite array, or a
    mask without any known pixel.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError("mask", f"{path}: no such file")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".png":
            from PIL import Image

            array = np.asarray(Image.open(path).convert("L"))
        else:
            raise ParameterError("mask", f"{path}: expected a .png or .npy file")
    except (OSError, ValueError) as error:
        raise ParameterError("mask", f"{path}: not a readable image or array ({error})") from None
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
        raise ParameterError("mask", f"{path}: a mask must be a 2-D array, got shape {array.shape}")
    if not np.isfinite(array.astype(np.float64)).all():
        raise ParameterError("mask", f"{path}: the mask contains NaN or Inf")
    known = torch.from_numpy((array != 0).astype(np.float32))
    if known.sum() == 0:
        raise ParameterError("mask", f"{path}: the mask marks no pixel as known (nonzero = known)")
    return known


def random_mask(shape: Shape, missing: float, seed: int = 0) -> torch.Tensor:
    """A H×W float mask with round(missing·H·W) unknown pixels at seeded random positions."""
    count = shape[0] * shape[1]
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    mask = torch.ones(count)
    mask[order[: round(missing * count)]] = 0
    return mask.view(*shape)


def check_missing(missing: float) -> float:
    """``missing`` if it is a fraction in (0, 1); else ``ParameterError('missing')``."""
    if not 0 < missing < 1:
        raise ParameterError("missing", f"the fraction of missing pixels must be in (0, 1), got {missing:g}")
    return float(missing)


def _gaussian_smooth(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """A B×C×H×W batch convolved with a Gaussian of ``sigma`` pixels (zero padding), as two 1-D passes."""
    radius = min(int(3 * sigma), max(images.shape[-2:]) - 1)
    grid = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    line = torch.exp(-grid**2 / (2 * sigma**2))
    line = (line / line.sum()).expand(images.shape[1], 1, -1)
    rows = F.conv2d(images, line[..., None], padding=(radius, 0), groups=images.shape[1])
    return F.conv2d(rows, line[:, :, None, :], padding=(0, radius), groups=images.shape[1])


class Inpainting(Operator):
    """A x = m ⊙ x. Give ``mask`` (H×W, nonzero known) or ``missing`` (a fraction) with ``seed``."""

    def __init__(self, mask: torch.Tensor | None = None, missing: float | None = None, seed: int = 0):
        super().__init__()
        if (mask is None) == (missing is None):
            raise ValueError("give either a mask or a fraction of missing pixels")
        self.missing = None if missing is None else check_missing(missing)
        self.seed = seed
        self.register_buffer("fixed_mask", None if mask is None else (mask != 0).float())
        self._drawn: dict[Shape, torch.Tensor] = {}

    def mask_for(self, shape: Shape, device: torch.device | None = None) -> torch.Tensor:
        """The H×W mask (1 known) for images of ``shape``; ``MaskSizeError`` if a fixed mask has another size."""
        shape = tuple(shape)
        if self.fixed_mask is not None:
            if tuple(self.fixed_mask.shape) != shape:
                raise MaskSizeError("mask", f"the mask is {self.fixed_mask.shape[0]}×{self.fixed_mask.shape[1]}, the image {shape[0]}×{shape[1]}")
            mask = self.fixed_mask
        else:
            if shape not in self._drawn:
                self._drawn[shape] = random_mask(shape, self.missing, self.seed)
            mask = self._drawn[shape]
        return mask.to(device or mask.device)

    def range_shape(self, image_shape: Shape) -> Shape:
        self.mask_for(image_shape)
        return tuple(image_shape)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        self.mask_for(observation_shape)
        return tuple(observation_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mask_for(tuple(x.shape[-2:]), x.device).to(x.dtype)

    def known_pixels(self, observation: torch.Tensor) -> int:
        """How many entries of a B×C×H×W observation are known (the measurements)."""
        mask = self.mask_for(tuple(observation.shape[-2:]))
        return int(mask.sum().item()) * observation.shape[0] * observation.shape[1]

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Known pixels kept; each unknown one the normalized convolution (Gaussian-weighted mean of the
        known pixels) at the finest scale of ``FILL_SIGMAS`` that reaches it, else the mean of the known."""
        mask = self.mask_for(tuple(y.shape[-2:]), y.device).to(y.dtype).expand_as(y)
        known = y * mask
        fill = torch.full_like(y, 0.0) + known.sum((-2, -1), keepdim=True) / mask.sum((-2, -1), keepdim=True)
        pending = mask == 0
        for sigma in FILL_SIGMAS:
            weight = _gaussian_smooth(mask, sigma)
            value = _gaussian_smooth(known, sigma) / weight.clamp_min(1e-12)
            reached = pending & (weight >= FILL_MIN_WEIGHT)
            fill = torch.where(reached, value, fill)
            pending = pending & ~reached
        return torch.where(mask > 0, known, fill)


__all__ = ["FILL_SIGMAS", "Inpainting", "MaskSizeError", "check_missing", "load_mask", "random_mask"]
