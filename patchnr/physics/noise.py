"""Noise models: how a clean measurement A x becomes the observation y, and the data term they imply.

Each model ``simulate``s an observation from a clean measurement (seeded), and its ``forward`` is the
negative log-likelihood −log p(y | A x) up to a constant: the data term of the objective, summed over
the measurement and the batch. ``discrepancy`` is a misfit whose expected value at the true image is
about one per measurement (the discrepancy principle's yardstick).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LODOPAB_PHOTONS = 4096.0
LODOPAB_MU_MAX = 81.35858  # 1/m: attenuation of HU 3071 on the LoDoPaB scale
ZERO_COUNT_REPLACEMENT = 0.1  # LoDoPaB's value for a detector bin that counted no photon


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value}")
    return value


def _seeded_generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


class GaussianNoise(nn.Module):
    """y = A x + σ ξ with ξ ~ N(0, I); NLL Σ (A x − y)² / (2σ²).

    ``sigma`` is in the measurement's units. The paper's superresolution term Σ (A x − y)² is this
    NLL times 2σ², so its λ is 2σ² times the λ of this data term.
    """

    def __init__(self, sigma: float):
        super().__init__()
        self.sigma = _positive("sigma", sigma)

    def simulate(self, clean: torch.Tensor, seed: int) -> torch.Tensor:
        """A noisy observation of ``clean`` (any shape); the noise is drawn on the CPU, deterministic for ``seed``."""
        noise = torch.randn(clean.shape, generator=_seeded_generator(seed, torch.device("cpu"))).to(clean)
        return clean + self.sigma * noise

    def forward(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        return (predicted - observation).pow(2).sum() / (2 * self.sigma**2)

    def discrepancy(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        """Σ (A x − y)² / σ²: about one per measurement at the true image."""
        return (predicted - observation).pow(2).sum() / self.sigma**2

    def extra_repr(self) -> str:
        return f"sigma={self.sigma:g}"


class PoissonNoise(nn.Module):
    """Post-log transmission CT in LoDoPaB's units (line integrals of μ/μ_max).

    counts ~ Poisson(N₀ e^{−μ_max A x}); zero counts → 0.1; y = −log(counts / N₀) / μ_max.
    NLL of the counts k = N₀ e^{−μ_max y}, up to a constant:
    Σ N₀ e^{−μ_max (A x)} + k · μ_max (A x).
    """

    def __init__(self, photons: float = LODOPAB_PHOTONS, mu_max: float = LODOPAB_MU_MAX):
        super().__init__()
        self.photons = _positive("photons", photons)
        self.mu_max = _positive("mu_max", mu_max)

    def simulate(self, clean: torch.Tensor, seed: int) -> torch.Tensor:
        """A noisy post-log observation of the clean line integrals (drawn on ``clean``'s device)."""
        expected = self.photons * torch.exp(-self.mu_max * clean)
        counts = torch.poisson(expected, generator=_seeded_generator(seed, clean.device)).clamp_min(ZERO_COUNT_REPLACEMENT)
        return -torch.log(counts / self.photons) / self.mu_max

    def forward(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        expected = self.photons * torch.exp(-self.mu_max * predicted)
        observed = self.photons * torch.exp(-self.mu_max * observation)
        return (expected + observed * self.mu_max * predicted).sum()

    def discrepancy(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        """The Poisson deviance 2 Σ [k log(k/λ) − (k − λ)] of counts k against expected λ: about one per bin."""
        expected = self.photons * torch.exp(-self.mu_max * predicted)
        observed = self.photons * torch.exp(-self.mu_max * observation)
        log_ratio = self.mu_max * (predicted - observation)  # log(k / λ)
        return 2 * (observed * log_ratio - (observed - expected)).sum()

    def extra_repr(self) -> str:
        return f"photons={self.photons:g}, mu_max={self.mu_max:g}"
