"""λ from the data: the discrepancy principle, searched with warm-started solves along log λ.

The misfit per measurement of the reconstruction x_λ (``Measurement.discrepancy``: Σ (A x − y)²/(mσ²)
for Gaussian noise, the Poisson deviance / m for counts) grows with λ and is about 1 at the true
image. The search finds λ with misfit(x_λ) = τ, τ a safety factor:

1. one solve at the starting λ with the full iteration count N;
2. up to ``trials`` short solves (N / 4 iterations each), each warm-started from the solution of
   the nearest λ tried so far, at a λ from the secant on (log λ, log misfit) — regula falsi once
   the target is bracketed, an extrapolation with the last slope (or slope 1) before;
3. a final solve of N iterations at the chosen λ from ``init``: the same solve as a fixed λ would
   run (warm-started from a trial's solution instead, it kept that trial's artifacts: 0.9 dB below
   the fixed-λ solves on either side of its λ, on the first test crop of results/auto_lambda.md).

That is at most 3 N iterations, three fixed-λ solves. When no λ tried comes within a factor
``reach`` of the target and none lies on its other side, the target is out of reach (a noise
level stated far too small or too large): ``LambdaSearchError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch

from patchnr.errors import PatchNRError

# The safety factor τ for Gaussian noise grows with the relative noise level r = σ / std(y): the
# PSNR-best reconstruction fits part of the noise where the noise is weak and fits the data less
# closely than the truth does where it is strong. τ = GAUSSIAN_TAU_AT_R01 · (r / 0.1)^GAUSSIAN_TAU_SLOPE,
# with r clamped to the range it was chosen on, RELATIVE_NOISE_RANGE: the rule with the least mean
# PSNR loss against the best grid λ on two 128² validation crops of img_val_material at
# σ ∈ {0.005, 0.01, 0.02, 0.05} (×4 SR; benchmarks/auto_lambda.py tune, results/auto_lambda.md):
# τ 0.45 at r = 0.036, 0.64 at r = 0.1, 1.10 at r = 0.47.
GAUSSIAN_TAU_AT_R01 = 0.64
GAUSSIAN_TAU_SLOPE = 0.35
RELATIVE_NOISE_RANGE = (0.036, 0.47)
# For Poisson counts (CT), Morozov's τ = 1, not tuned: the deviance per measurement of low-dose CT
# reconstructions stays within 2 % of 1 over a 4× range of λ around the recipe's (results/auto_lambda.md),
# so the search keeps λ where it meets 1 within its tolerance and a smaller τ drives λ far too low.
POISSON_TAU = 1.0


def gaussian_tau(sigma: float, observation: torch.Tensor) -> float:
    """τ for Gaussian noise of standard deviation ``sigma`` (the observation's units) on ``observation`` (any shape)."""
    spread = float(observation.double().std())
    relative = sigma / spread if spread > 0 else RELATIVE_NOISE_RANGE[1]
    relative = min(max(relative, RELATIVE_NOISE_RANGE[0]), RELATIVE_NOISE_RANGE[1])
    return GAUSSIAN_TAU_AT_R01 * (relative / 0.1) ** GAUSSIAN_TAU_SLOPE


def default_tau(noise: torch.nn.Module | None, observation: torch.Tensor) -> float:
    """The target misfit per measurement for a noise model and its observation: ``POISSON_TAU`` for
    ``PoissonNoise``, ``gaussian_tau`` for ``GaussianNoise`` (its σ)."""
    from patchnr.physics.noise import GaussianNoise, PoissonNoise

    if isinstance(noise, PoissonNoise):
        return POISSON_TAU
    if isinstance(noise, GaussianNoise):
        return gaussian_tau(noise.sigma, observation)
    raise ValueError(f"no default discrepancy target for the noise model {type(noise).__name__}; give one")


def task_tau(task, observation: torch.Tensor) -> float:
    """The default τ of a ``Task``: its ``discrepancy_target`` where its validation chose one, else
    ``default_tau`` of its noise model and the observation."""
    if task.discrepancy_target is not None:
        return task.discrepancy_target
    return default_tau(getattr(task.measurement, "noise", None), observation)


Solve = Callable[[float, torch.Tensor, int], torch.Tensor]
Misfit = Callable[[torch.Tensor], float]


class LambdaSearchError(PatchNRError):
    """The discrepancy target cannot be reached by any λ the search may try."""


@dataclass
class LambdaSearch:
    """The search's outcome: the chosen λ, the misfit per measurement of its reconstruction, the target
    τ, the reconstruction (B×C×H×W) and every (λ, misfit) tried, in order (the final solve last)."""

    lam: float
    misfit: float
    target: float
    image: torch.Tensor
    trials: list[tuple[float, float]] = field(default_factory=list)


def discrepancy_search(solve: Solve, misfit: Misfit, init: torch.Tensor, lam: float, iterations: int, target: float,
                       trials: int = 4, tolerance: float = 0.03, max_factor: float = 16.0, reach: float = 2.0) -> LambdaSearch:
    """λ > 0 whose reconstruction's misfit per measurement is ``target`` (within ``tolerance``, relative).

    Args:
        solve: (λ, start image, iterations) → reconstruction, both B×C×H×W.
        misfit: reconstruction → misfit per measurement (≈ 1 at the truth).
        init: the first solve's start; lam: the first λ (> 0); iterations: N of one fixed-λ solve.
        trials: short solves at most; max_factor: the largest change of λ in one step.
        reach: how close (a factor) some trial must come to the target when it is never bracketed.
    """
    if not (lam > 0 and math.isfinite(lam)):
        raise ValueError(f"the starting lam must be finite and positive, got {lam}")
    if not (target > 0 and math.isfinite(target)):
        raise ValueError(f"the target misfit must be finite and positive, got {target}")
    log_target = math.log(target)
    image = solve(lam, init, iterations)
    tried: list[tuple[float, float, torch.Tensor]] = [(math.log(lam), _log(misfit(image)), image)]
    if abs(tried[0][1] - log_target) <= math.log1p(tolerance):
        return LambdaSearch(lam=lam, misfit=math.exp(tried[0][1]), target=target, image=image, trials=[(lam, math.exp(tried[0][1]))])
    short = max(1, iterations // 4)
    for _ in range(trials):
        if abs(tried[-1][1] - log_target) <= math.log1p(tolerance):
            break
        log_lam = _next_log_lambda(tried, log_target, math.log(max_factor))
        image = solve(math.exp(log_lam), _nearest(tried, log_lam), short)
        tried.append((log_lam, _log(misfit(image)), image))
    _check_reachable(tried, log_target, math.log(reach))
    log_lam = _next_log_lambda(tried, log_target, math.log(max_factor))
    image = solve(math.exp(log_lam), init, iterations)
    final = misfit(image)
    history = [(math.exp(a), math.exp(b)) for a, b, _ in tried] + [(math.exp(log_lam), final)]
    return LambdaSearch(lam=math.exp(log_lam), misfit=final, target=target, image=image, trials=history)


def _log(value: float) -> float:
    """log of a misfit (a zero misfit counts as tiny, a non-finite one is an error)."""
    if not math.isfinite(value):
        raise LambdaSearchError(f"the data misfit is {value}; the reconstruction diverged")
    return math.log(max(value, 1e-300))


def _next_log_lambda(tried: list[tuple[float, float, torch.Tensor]], log_target: float, max_step: float) -> float:
    """The next log λ: interpolation between the closest bracketing pair, else a secant (slope 1 when
    the last two points give none that is positive) from the trial closest to the target."""
    below = [t for t in tried if t[1] <= log_target]
    above = [t for t in tried if t[1] > log_target]
    if below and above:
        low = max(below, key=lambda t: t[1])
        high = min(above, key=lambda t: t[1])
        if high[1] - low[1] > 1e-12:
            return low[0] + (log_target - low[1]) * (high[0] - low[0]) / (high[1] - low[1])
        return 0.5 * (low[0] + high[0])
    closest = min(tried, key=lambda t: abs(t[1] - log_target))
    slope = 1.0
    if len(tried) >= 2:
        (a, fa, _), (b, fb, _) = tried[-2], tried[-1]
        if abs(b - a) > 1e-12 and (fb - fa) / (b - a) > 0.05:
            slope = (fb - fa) / (b - a)
    step = (log_target - closest[1]) / slope
    return closest[0] + max(-max_step, min(max_step, step))


def _nearest(tried: list[tuple[float, float, torch.Tensor]], log_lam: float) -> torch.Tensor:
    """The reconstruction of the λ tried closest to ``log_lam`` (the warm start)."""
    return min(tried, key=lambda t: abs(t[0] - log_lam))[2]


def _check_reachable(tried: list[tuple[float, float, torch.Tensor]], log_target: float, log_reach: float) -> None:
    misfits = [t[1] for t in tried]
    bracketed = min(misfits) <= log_target <= max(misfits)
    if bracketed or min(abs(m - log_target) for m in misfits) <= log_reach:
        return
    side = "above" if min(misfits) > log_target else "below"
    closest = min(tried, key=lambda t: abs(t[1] - log_target))
    raise LambdaSearchError(
        f"the data misfit cannot reach the discrepancy target {math.exp(log_target):.3g} per measurement: it stays {side} it "
        f"(closest {math.exp(closest[1]):.3g} at λ={math.exp(closest[0]):.3g}); is the stated noise level right "
        "(or are the solves too short to fit the data)?")


def search_task_lambda(task, observation: torch.Tensor, density: torch.nn.Module, recipe, init: torch.Tensor,
                       target: float | None = None, seed: int = 0, progress: bool = False) -> LambdaSearch:
    """``discrepancy_search`` for a ``Task`` with a patch density under a ``Recipe``: its λ starts the
    search, its iteration count is N, each solve is ``task.solve_patch_prior``; observation 1×1×….
    ``target``: τ (default: ``task_tau``)."""
    def solve(lam: float, start: torch.Tensor, iterations: int) -> torch.Tensor:
        settings = recipe.with_overrides(lam=lam, iterations=iterations)
        return task.solve_patch_prior(observation, density, settings, start, seed, progress=progress).image

    def misfit(image: torch.Tensor) -> float:
        return task.measurement.discrepancy(image, observation)

    tau = target if target is not None else task_tau(task, observation)
    return discrepancy_search(solve, misfit, init, recipe.lam, recipe.iterations, tau)
