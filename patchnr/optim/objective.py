"""The variational objective J(x) = D(A x; y) + λ · Σ_b R(x_b), the one thing every solver minimises."""

from __future__ import annotations

from typing import Iterator

import torch
from torch import nn

from patchnr.physics.measurement import Measurement


def epoch_order(count: int, seed: int = 0) -> Iterator[int]:
    """Indices 0..count−1 forever, each epoch a fresh random permutation (reproducible for ``seed``)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield from torch.randperm(count, generator=generator).tolist()


class Objective:
    """D(A x; y) + λ · prior(x).sum() for images x of shape B×C×H×W.

    Args:
        measurement: operator and noise model; D is the noise model's negative log-likelihood.
        observation: y, B×C×… in the operator's range.
        prior: images B×C×H×W → one value per image, shape (B,) (``PatchNR``, ``TotalVariation``, …).
        lam: λ ≥ 0, in units of D.
        ordered_subsets: ``estimate`` uses one block of the measurement per call (where the operator
            splits its measurement), scaled by the number of blocks, visiting every block once per
            epoch in a random order: an unbiased, cheaper data gradient (as OS-EM does for CT).
    """

    def __init__(self, measurement: Measurement, observation: torch.Tensor, prior: nn.Module, lam: float, ordered_subsets: bool = False):
        if not lam >= 0:
            raise ValueError(f"lam must be non-negative, got {lam}")
        self.measurement, self.observation, self.prior, self.lam = measurement, observation, prior, float(lam)
        self._block_terms = measurement.data_terms(observation, ordered_subsets)
        self._block_order = epoch_order(len(self._block_terms))

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """J(x) with the full data term, a scalar."""
        return self.measurement.data_term(image, self.observation) + self.lam * self.prior(image).sum()

    def estimate(self, image: torch.Tensor) -> torch.Tensor:
        """J(x) with the next block's data term (the full one without ordered subsets), a scalar."""
        return self._block_terms[next(self._block_order)](image) + self.lam * self.prior(image).sum()

    def discrepancy(self, image: torch.Tensor) -> float:
        """The measurement's misfit per measurement at ``image`` (≈ 1 at the truth)."""
        return self.measurement.discrepancy(image, self.observation)
