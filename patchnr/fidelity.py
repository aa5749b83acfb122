"""Data-fidelity terms D(Ax, y), summed over the measurement (and the batch) to a scalar."""

from __future__ import annotations

import torch
from torch import nn

LODOPAB_PHOTONS = 4096.0
LODOPAB_MU_MAX = 81.35858  # 1/m: attenuation of HU 3071 on the LoDoPaB scale


class GaussianFidelity(nn.Module):
    """D(Ax, y) = Σ (Ax − y)², the paper's superresolution data term (no ½)."""

    def forward(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        return (predicted - observation).pow(2).sum()


class PoissonFidelity(nn.Module):
    """Poisson NLL of photon counts for post-log data in LoDoPaB's normalised units.

    With expected counts N0·exp(−μ_max·Ax) and the observed counts N0·exp(−μ_max·y):
    D(Ax, y) = Σ N0·e^{−μ_max (Ax)} + N0·e^{−μ_max y} · μ_max (Ax)   (up to a constant).
    ``Ax`` and ``y`` are line integrals of μ/μ_max (dimensionless per metre of path in LoDoPaB).
    """

    def __init__(self, photons: float = LODOPAB_PHOTONS, mu_max: float = LODOPAB_MU_MAX):
        super().__init__()
        self.photons = photons
        self.mu_max = mu_max

    def forward(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        expected = self.photons * torch.exp(-self.mu_max * predicted)
        observed = self.photons * torch.exp(-self.mu_max * observation)
        return (expected + observed * self.mu_max * predicted).sum()
