"""Total-variation baseline: minimise D(Ax, y) + λ · TV_ε(x) with L-BFGS (strong-Wolfe line search).

TV_ε(x) = Σ_pixels ( sqrt(|∇x|² + ε²) − ε ), ∇ = forward differences with a Neumann boundary
(the last difference along each axis is 0), summed over channels; TV_ε(constant) = 0 and
TV_ε → isotropic TV as ε → 0. D and A are the task's own fidelity and operator, used through
autograd, so any task works (Gaussian SR, Poisson CT). The objective is evaluated in float64 (the
Poisson data term of a LoDoPaB sinogram is ~1e9, too large for float32 line searches); the
operator itself runs in float32.

Plain Adam with the patchNR step size does badly on this objective (shared/docs/measured-here.md),
hence L-BFGS. λ and ε are chosen on validation images by ``data_scripts/sweep_lambda.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..errors import DivergenceError
from ..solver import Reconstruction


@dataclass(frozen=True)
class TVSettings:
    """lam: weight λ of TV_ε (a sum over pixels, so it depends on the image size);
    eps: smoothing ε in image units; iterations: L-BFGS iterations; history: L-BFGS memory."""

    lam: float
    eps: float = 1e-3
    iterations: int = 300
    history: int = 20


# sr-x4: λ, ε chosen on the validation image (img_val_material, 600×600): results/lambda_sweep_sr-x4_tv_coarse.md,
# then results/lambda_sweep_sr-x4_tv.md (28.04 dB against bicubic's 25.81 dB).
# ct-lowdose: λ chosen on runs/ct_data/val (2 slices, 100 L-BFGS iterations): results/lambda_sweep_ct-lowdose_tv.md
# (37.52 dB at λ = 30; FBP ≈ 33 dB). ct-limited re-uses it (not swept separately).
TV_DEFAULTS: dict[str, TVSettings] = {
    "sr-x4": TVSettings(lam=7e-4, eps=1e-2),
    "ct-lowdose": TVSettings(lam=30.0, eps=5e-3, iterations=100),
    "ct-limited": TVSettings(lam=30.0, eps=5e-3, iterations=100),
}


class TotalVariation(nn.Module):
    """Smoothed isotropic TV: images B×C×H×W → TV_ε per image, shape (B,) (image units × pixels)."""

    def __init__(self, eps: float = 1e-3):
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.eps = eps

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected images B×C×H×W, got shape {tuple(images.shape)}")
        dx = torch.nn.functional.pad(images[..., :, 1:] - images[..., :, :-1], (0, 1))
        dy = torch.nn.functional.pad(images[..., 1:, :] - images[..., :-1, :], (0, 0, 0, 1))
        magnitude = torch.sqrt(dx.square() + dy.square() + self.eps**2) - self.eps
        return magnitude.flatten(1).sum(1)


def solve_tv(
    observation: torch.Tensor,
    operator: Callable[[torch.Tensor], torch.Tensor],
    fidelity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    settings: TVSettings,
) -> Reconstruction:
    """Minimise ``fidelity(operator(x), observation) + lam · TV_eps(x).sum()`` from ``init`` (B×C×H×W).

    Returns the image (float32, like ``init``) and the objective at every function evaluation.
    Raises ``DivergenceError`` for a non-finite objective or image.
    """
    image = init.detach().to(torch.float64).clone().requires_grad_(True)
    target = observation.detach().to(torch.float64)
    tv = TotalVariation(settings.eps)
    optimizer = torch.optim.LBFGS(
        [image], lr=1.0, max_iter=settings.iterations, max_eval=int(1.5 * settings.iterations) + 1,
        history_size=settings.history, tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe",
    )
    result = Reconstruction(image=image)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        predicted = operator(image.to(init.dtype)).to(torch.float64)
        objective = fidelity(predicted, target) + settings.lam * tv(image).sum()
        if not torch.isfinite(objective):
            raise DivergenceError(f"TV solver diverged: objective is {objective.item()}; lower lam or raise eps")
        objective.backward()
        result.objective.append(objective.item())
        return objective

    if settings.iterations > 0:
        optimizer.step(closure)
    if not torch.isfinite(image).all():
        raise DivergenceError("TV solver diverged: the image holds non-finite values")
    result.image = image.detach().to(init.dtype)
    return result
