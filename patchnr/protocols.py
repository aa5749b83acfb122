"""The building blocks' contracts, as ``typing.Protocol``s: any object with these methods plugs in.

Shapes: images are B×C×H×W tensors, observations B×C×… in the operator's range, patches (N, C·s·s).
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import torch


@runtime_checkable
class NoiseModel(Protocol):
    """How observations scatter around A x: simulation, negative log-likelihood and misfit.

    ``forward(predicted, observation)`` is −log p(y | A x) up to a constant, a scalar summed over the
    batch (the data term D); ``discrepancy`` is the misfit summed over all measurements, about one per
    measurement at the true image; ``simulate(clean, seed)`` draws a noisy observation.
    """

    def __call__(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor: ...

    def discrepancy(self, predicted: torch.Tensor, observation: torch.Tensor) -> torch.Tensor: ...

    def simulate(self, clean: torch.Tensor, seed: int) -> torch.Tensor: ...


@runtime_checkable
class Prior(Protocol):
    """A regularizer R: images B×C×H×W → one energy per image, shape (B,) (``PatchPrior``, ``TotalVariation``)."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class PatchDensity(Protocol):
    """A density of s×s patches: patches (N, C·s·s) → negative log-likelihood (N,), with the
    ``patch_size`` s and the ``channels`` C it models (``FlowDensity``, ``GaussianMixtureDensity``)."""

    patch_size: int
    channels: int

    def __call__(self, patches: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class Solver(Protocol):
    """Minimises an ``Objective`` from a B×C×H×W start; returns a ``Reconstruction`` (``Adam``, ``LBFGS``).

    Each callback's ``start``, ``step`` and ``end`` hooks run around the iterations.
    """

    def solve(self, objective, init: torch.Tensor, callbacks: Sequence = ()): ...


__all__ = ["NoiseModel", "PatchDensity", "Prior", "Solver"]
