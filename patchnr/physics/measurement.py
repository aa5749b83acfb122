"""A measurement: a forward operator with its noise model, so that simulation and data term agree."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from patchnr.operators.base import Operator, as_operator

DataTerm = Callable[[torch.Tensor], torch.Tensor]


class Measurement(nn.Module):
    """y = noise(A x).

    Args:
        operator: the forward operator A used to reconstruct: an ``Operator``, or any differentiable
            callable (wrapped by ``as_operator``).
        noise: a noise model (``GaussianNoise``, ``PoissonNoise``): simulation and data term.
        simulator: maps a ground truth to its clean measurement for ``simulate`` when the data are
            made differently from A (CT: a finer grid, no inverse crime); default A itself.
    """

    def __init__(self, operator: Operator | Callable[[torch.Tensor], torch.Tensor], noise: nn.Module,
                 simulator: Callable[[torch.Tensor], torch.Tensor] | None = None):
        super().__init__()
        self.operator = as_operator(operator)
        self.noise = noise
        self.simulator = simulator

    def with_noise(self, noise: nn.Module) -> "Measurement":
        """The same kind of measurement, operator and simulator, with another noise model."""
        return type(self)(self.operator, noise, self.simulator)

    def simulate(self, image: torch.Tensor, seed: int) -> torch.Tensor:
        """A noisy observation of a B×C×H×W ground truth, deterministic for ``seed``."""
        with torch.no_grad():
            clean = (self.simulator or self.operator)(image)
        return self.noise.simulate(clean, seed)

    def data_term(self, image: torch.Tensor, observation: torch.Tensor) -> torch.Tensor:
        """−log p(y | x) up to a constant, a scalar (summed over the batch)."""
        return self.noise(self._apply(self.operator, image), observation.to(image.dtype))

    def data_terms(self, observation: torch.Tensor, ordered_subsets: bool) -> list[DataTerm]:
        """x ↦ n · D(A_j x, y_j) for each of the n measurement blocks j (their mean is the full data
        term), or the single full term without ``ordered_subsets``."""
        blocks = self.operator.measurement_blocks(observation) if ordered_subsets else [(self.operator, observation)]
        count = len(blocks)
        return [lambda x, block=block, part=part: count * self.noise(self._apply(block, x), part.to(x.dtype)) for block, part in blocks]

    def discrepancy(self, image: torch.Tensor, observation: torch.Tensor) -> float:
        """The noise model's misfit of A x against y divided by the number of measurements (≈ 1 at the truth)."""
        with torch.no_grad():
            predicted = self._apply(self.operator, image)
            return (self.noise.discrepancy(predicted, observation.to(predicted.dtype)) / observation.numel()).item()

    def _apply(self, operator: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        """A x computed in the operator's own precision, returned in the image's."""
        working = self.operator.working_dtype()
        return operator(image.to(working)).to(image.dtype)
