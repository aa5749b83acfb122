"""Total variation as a prior: TV_ε(x) = Σ_pixels ( sqrt(|∇x|² + ε²) − ε ).

∇ = forward differences with a Neumann boundary (the last difference along each axis is 0),
summed over channels; TV_ε(constant) = 0 and TV_ε → isotropic TV as ε → 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class TotalVariation(nn.Module):
    """Smoothed isotropic TV: images B×C×H×W → TV_ε per image, shape (B,) (image units × pixels)."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = eps

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected images B×C×H×W, got shape {tuple(images.shape)}")
        dx = F.pad(images[..., :, 1:] - images[..., :, :-1], (0, 1))
        dy = F.pad(images[..., 1:, :] - images[..., :-1, :], (0, 0, 0, 1))
        magnitude = torch.sqrt(dx.square() + dy.square() + self.eps**2) - self.eps
        return magnitude.flatten(1).sum(1)
