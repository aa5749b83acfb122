"""The operator contract, in the style of ODL: a map x ↦ A x with shapes, an adjoint and a norm.

Images are B×C×H×W tensors; a measurement is B×C×… (every operator here keeps B and C and maps the
last two axes). An ``Operator`` is an ``nn.Module`` whose ``forward`` is differentiable; it offers

- ``range_shape(image_shape)`` / ``domain_shape(observation_shape)``: the 2-D sizes either way
  (``ValueError`` when they do not fit; ``domain_shape`` may say it cannot tell);
- ``adjoint(y)``: Aᵀ y, by default autograd's vector-Jacobian product at x = 0 (exact for a
  linear operator, the Jacobian's transpose at 0 otherwise);
- ``norm(image_shape)``: ‖A‖ by power iteration on AᵀA, cached per shape (solvers and samplers
  pick step sizes from it);
- ``pseudo_inverse(y)``: optional, a cheap reconstruction (``None`` when the operator has none);
- ``measurement_blocks(y)``: the measurement split into blocks for ordered subsets (default: one).

``as_operator`` wraps any differentiable callable (a user's own function) into this contract.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

Shape = tuple[int, int]


class Operator(nn.Module):
    """x (B×C×H×W) ↦ A x (B×C×M×N), differentiable. Subclasses implement ``forward``."""

    pseudo_inverse: Callable[[torch.Tensor], torch.Tensor] | None = None

    def __init__(self) -> None:
        super().__init__()
        self._norms: dict[Shape, float] = {}

    def range_shape(self, image_shape: Shape) -> Shape:
        """The measurement's 2-D size for an H×W image (default: evaluate on zeros)."""
        with torch.no_grad():
            probe = torch.zeros(1, 1, *image_shape, dtype=self.working_dtype(), device=self.working_device())
            return tuple(self(probe).shape[-2:])

    def domain_shape(self, observation_shape: Shape) -> Shape:
        """The image's 2-D size for a measurement of ``observation_shape``; ``ValueError`` if unknown."""
        raise ValueError("this operator cannot tell the image size from the observation; give the image shape")

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Aᵀ y (B×C×…) → B×C×H×W: the vector-Jacobian product of ``forward`` at x = 0."""
        x = torch.zeros(*y.shape[:-2], *self.domain_shape(tuple(y.shape[-2:])), dtype=y.dtype, device=y.device)
        with torch.enable_grad():
            x.requires_grad_(True)
            (vjp,) = torch.autograd.grad(self(x), x, y, create_graph=y.requires_grad)
        return vjp

    def norm(self, image_shape: Shape, tolerance: float = 1e-6, max_iterations: int = 500, seed: int = 0) -> float:
        """‖A‖₂ for H×W images, by power iteration on AᵀA from a seeded random start (cached per shape).

        Stops when the estimate changes by less than ``tolerance`` (relative) in one iteration, or
        after ``max_iterations``; the estimate approaches ‖A‖ from below.
        """
        image_shape = tuple(image_shape)
        if image_shape not in self._norms:
            generator = torch.Generator().manual_seed(seed)
            x = torch.randn(1, 1, *image_shape, generator=generator).to(self.working_device(), self.working_dtype())
            estimate = 0.0
            with torch.no_grad():
                for _ in range(max_iterations):
                    x = self.adjoint(self(x / x.norm()))
                    previous, estimate = estimate, x.norm().sqrt().item()
                    if abs(estimate - previous) <= tolerance * estimate:
                        break
            self._norms[image_shape] = estimate
        return self._norms[image_shape]

    def measurement_blocks(self, y: torch.Tensor) -> list[tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]]:
        """Pairs (x ↦ A_j x, y_j) whose data terms sum to the full one; here the single pair (A, y)."""
        return [(self, y)]

    def working_device(self) -> torch.device:
        """Where the operator's buffers live (the CPU for an operator without any)."""
        tensor = next(iter(self.buffers()), None)
        return tensor.device if tensor is not None else torch.device("cpu")

    def working_dtype(self) -> torch.dtype:
        """The precision the operator computes in: its first floating buffer's dtype, else float32."""
        tensor = next((t for t in self.buffers() if t.is_floating_point()), None)
        return tensor.dtype if tensor is not None else torch.float32


class FunctionOperator(Operator):
    """Any differentiable callable ``function(x)`` on B×C×H×W tensors as an ``Operator``.

    ``image_shape`` (H, W) tells ``domain_shape`` (and so ``adjoint``) the image size when the
    function cannot; without it those raise ``ValueError``.
    """

    def __init__(self, function: Callable[[torch.Tensor], torch.Tensor], image_shape: Shape | None = None):
        super().__init__()
        self.function = function
        self.image_shape = tuple(image_shape) if image_shape is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        if self.image_shape is None:
            return super().domain_shape(observation_shape)
        return self.image_shape


def as_operator(operator, image_shape: Shape | None = None) -> Operator:
    """``operator`` itself when it follows the contract, else a ``FunctionOperator`` around it.

    An object with its own ``adjoint``/``pseudo_inverse`` (not an ``Operator``) keeps them.
    """
    if isinstance(operator, Operator):
        return operator
    if not callable(operator):
        raise TypeError(f"an operator must be callable, got {type(operator).__name__}")
    wrapped = FunctionOperator(operator, image_shape)
    for name in ("adjoint", "pseudo_inverse"):
        method = getattr(operator, name, None)
        if callable(method):
            setattr(wrapped, name, method)
    return wrapped


def initial_guess(operator: Operator, observation: torch.Tensor) -> torch.Tensor:
    """The operator's ``pseudo_inverse`` of y if it has one, else its ``adjoint``."""
    method = operator.pseudo_inverse if callable(getattr(operator, "pseudo_inverse", None)) else operator.adjoint
    with torch.no_grad():
        return method(observation)
