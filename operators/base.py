"""The operator protocol.

A forward operator is any differentiable torch callable ``x ↦ A x`` on B×C×H×W tensors: a plain
function or an ``nn.Module`` works in ``patchnr.reconstruct`` without subclassing anything.
Operators may offer extras, looked up by name:

- ``pseudo_inverse(y)``: a cheap reconstruction used as the solver's initialisation
  (bicubic upsampling, FBP, ...);
- ``adjoint(y)``: Aᵀ y, the fallback initialisation.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class ForwardOperator(Protocol):
    """x (B×C×H×W) ↦ A x, differentiable with respect to x."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


def initial_guess(operator: ForwardOperator, observation: torch.Tensor) -> torch.Tensor:
    """The operator's ``pseudo_inverse`` of y if it has one, else its ``adjoint``."""
    for name in ("pseudo_inverse", "adjoint"):
        method = getattr(operator, name, None)
        if callable(method):
            with torch.no_grad():
                return method(observation)
    raise TypeError("the operator has neither pseudo_inverse nor adjoint: pass an explicit init")
