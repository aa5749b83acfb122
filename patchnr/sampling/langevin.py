"""Posterior samples of an ``Objective`` by the unadjusted Langevin algorithm (ULA).

The posterior is p(x | y) ∝ exp(−J(x)) with J = D(A x; y) + λ·R(x) (λ tempers the prior). Each
chain moves by x ← x − δ ∇J(x) + √(2δ) ξ, ξ ~ N(0, I); all chains run as one batch B×C×H×W, from
the MAP estimate, so the burn-in only has to spread them out to the posterior's width.

Step size: δ = ``step_fraction`` / L with L an upper estimate of ∇J's Lipschitz constant, the data
term's curvature times ‖A‖² (Gaussian: 1/σ²; Poisson: μ_max² times the largest expected count at
the start) plus λ times the prior's largest Hessian eigenvalue (power iteration on Hessian-vector
products at the start). ULA is biased by O(δ): for a Gaussian with curvature h its variance is
1 / (h (1 − δ h / 2)), so the default fraction 0.5 inflates the stiffest direction's variance by at most 33 % and the
softer ones (those the data do not fix, where the uncertainty lies) by far less; the soft
directions set the mixing time, about 1 / (δ h_soft) steps.

Stochastic gradients: a patch prior evaluated on a random subset of patches makes ∇J an unbiased
but noisy estimate (stochastic-gradient Langevin). The extra noise δ·ε (ε the gradient error) adds
a variance of order δ²·Var(ε) per step against the injected 2δ: small for small δ, but it makes
the samples slightly over-dispersed; more patches per chain (or all of them) reduce it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from patchnr.errors import DivergenceError
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.optim.objective import Objective


@dataclass(frozen=True)
class LangevinSettings:
    """chains: parallel chains (the batch size B); samples: samples kept over all chains (each chain
    keeps ⌈samples / chains⌉); burn_in: steps discarded first; thin: steps between kept samples;
    step_fraction: δ·L (see the module); step: δ itself (image units² per unit of J), overriding
    ``step_fraction``; curvature_iterations: power iterations of the prior's Hessian."""

    chains: int = 8
    samples: int = 200
    burn_in: int = 200
    thin: int = 5
    step_fraction: float = 0.5
    step: float | None = None
    curvature_iterations: int = 8

    def __post_init__(self) -> None:
        for name in ("chains", "samples", "thin"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.burn_in < 0:
            raise ValueError(f"burn_in must be non-negative, got {self.burn_in}")
        if self.step is not None and not (self.step > 0 and math.isfinite(self.step)):
            raise ValueError(f"step must be finite and positive, got {self.step}")
        if not 0 < self.step_fraction < 2:
            raise ValueError(f"step_fraction must lie in (0, 2), got {self.step_fraction}")

    @property
    def per_chain(self) -> int:
        return math.ceil(self.samples / self.chains)

    @property
    def steps(self) -> int:
        """Langevin steps in all: the burn-in, then ``thin`` steps per kept sample."""
        return self.burn_in + self.thin * self.per_chain


@dataclass
class PosteriorSamples:
    """samples: (K, C, H, W) float32 on the CPU, K = chains × kept per chain (chain-major: chain c's
    k-th sample is row k·chains + c); step: δ used; seconds: wall-clock of the chains."""

    samples: torch.Tensor
    step: float
    seconds: float

    def spread_ratio(self) -> float:
        """Mean pixel std of the later half of the kept samples over that of the earlier half: about 1
        once the chains are stationary, above 1 while they still spread out from their start."""
        rows = len(self.samples) // 2
        if rows < 2:
            return float("nan")
        early, late = self.samples[:rows].double(), self.samples[-rows:].double()
        return (late.std(0).mean() / early.std(0).mean()).item()

    def summary(self) -> dict[str, np.ndarray]:
        """Pixel-wise mean, std (K − 1 in the denominator), 5 % and 95 % quantiles: float32 C×H×W each."""
        values = self.samples.double().numpy()
        low, high = np.quantile(values, [0.05, 0.95], axis=0)
        statistics = {"mean": values.mean(0), "std": values.std(0, ddof=1 if len(values) > 1 else 0), "q05": low, "q95": high}
        return {name: value.astype(np.float32) for name, value in statistics.items()}


def data_curvature(objective: Objective, image: torch.Tensor) -> float:
    """An upper estimate of the data term's Hessian norm near ``image`` (1×C×H×W): curvature × ‖A‖²."""
    measurement = objective.measurement
    operator_norm = measurement.operator.norm(tuple(image.shape[-2:]))
    noise = measurement.noise
    if isinstance(noise, GaussianNoise):
        curvature = 1.0 / noise.sigma**2
    elif isinstance(noise, PoissonNoise):
        with torch.no_grad():
            predicted = measurement._apply(measurement.operator, image)
        curvature = noise.mu_max**2 * noise.photons * torch.exp(-noise.mu_max * predicted).max().item()
    else:
        raise ValueError(f"no curvature known for the noise model {type(noise).__name__}")
    return curvature * operator_norm**2


def prior_curvature(prior: torch.nn.Module, image: torch.Tensor, iterations: int = 8, seed: int = 0) -> float:
    """The largest eigenvalue of ∇²R at ``image`` (1×C×H×W), by power iteration on Hessian-vector
    products (double backward; a prior on random patches gives a noisy but unbiased product)."""
    point = image.detach().clone().requires_grad_(True)
    direction = torch.randn(point.shape, generator=torch.Generator().manual_seed(seed)).to(point)
    estimate = 0.0
    for _ in range(iterations):
        direction = direction / direction.norm()
        with torch.enable_grad():
            (gradient,) = torch.autograd.grad(prior(point).sum(), point, create_graph=True)
            (product,) = torch.autograd.grad(gradient, point, direction)
        estimate = product.norm().item()
        direction = product.detach()
        if estimate == 0:
            break
    return estimate


def step_size(objective: Objective, image: torch.Tensor, fraction: float = 0.5, iterations: int = 8) -> float:
    """δ = fraction / (data curvature × ‖A‖² + λ × the prior's curvature), at ``image`` (1×C×H×W)."""
    lipschitz = data_curvature(objective, image) + objective.lam * prior_curvature(objective.prior, image, iterations)
    return fraction / lipschitz


def langevin(objective: Objective, start: torch.Tensor, settings: LangevinSettings = LangevinSettings(), seed: int = 0,
             progress: bool = True) -> PosteriorSamples:
    """ULA chains for exp(−J) from ``start`` (1×C×H×W, e.g. the MAP estimate); see the module.

    The objective's data term and prior act per image, so one batch of B = ``settings.chains`` images
    runs every chain at once (the full data term: ``objective(x)``). Raises ``DivergenceError`` when a
    chain turns non-finite (δ too large).
    """
    step = settings.step or step_size(objective, start, settings.step_fraction, settings.curvature_iterations)
    generator = torch.Generator().manual_seed(seed)
    chains = start.detach().repeat(settings.chains, *([1] * (start.ndim - 1))).clone()
    kept: list[torch.Tensor] = []
    scale = math.sqrt(2 * step)
    began = time.perf_counter()
    bar = tqdm(total=settings.steps, desc=f"sample ({settings.chains} chains)", leave=False, disable=not progress)
    try:
        for k in range(settings.steps):
            chains.requires_grad_(True)
            with torch.enable_grad():
                (gradient,) = torch.autograd.grad(objective(chains), chains)
            noise = torch.randn(chains.shape, generator=generator).to(chains)
            chains = (chains.detach() - step * gradient + scale * noise).detach()
            if not torch.isfinite(chains).all():
                raise DivergenceError(f"Langevin chains diverged at step {k} (δ = {step:.3g}); lower the step")
            if k >= settings.burn_in and (k - settings.burn_in + 1) % settings.thin == 0:
                kept.append(chains.detach().cpu().float().clone())
            bar.update()
    finally:
        bar.close()
    return PosteriorSamples(samples=torch.cat(kept), step=step, seconds=time.perf_counter() - began)
