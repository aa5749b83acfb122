"""A measurement of the known pixels only (inpainting): the observation's unknown pixels are ignored."""

from __future__ import annotations

import torch

from patchnr.physics.measurement import Measurement
from patchnr.operators.inpainting import Inpainting


class KnownPixelsMeasurement(Measurement):
    """y = m ⊙ (x + noise) for an ``Inpainting`` operator with mask m. The observation is masked
    before every data term, and the misfit is counted per known pixel."""

    operator: Inpainting

    def masked(self, observation: torch.Tensor) -> torch.Tensor:
        """The observation with its unknown pixels set to 0 (their values carry no information)."""
        return self.operator(observation)

    def simulate(self, image: torch.Tensor, seed: int) -> torch.Tensor:
        return self.masked(super().simulate(image, seed))

    def data_term(self, image: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        return super().data_term(image, self.masked(observation))

    def data_terms(self, observation: torch.Tensor, ordered_subsets: bool):
        return super().data_terms(self.masked(observation), ordered_subsets)

    def discrepancy(self, image: torch.Tensor, observation: torch.Tensor) -> float:
        """The misfit per known pixel (≈ 1 at the truth)."""
        total = super().discrepancy(image, self.masked(observation)) * observation.numel()
        return total / self.operator.known_pixels(observation)


__all__ = ["KnownPixelsMeasurement"]
