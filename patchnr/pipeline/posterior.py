"""``sample``: posterior samples around the MAP estimate, as pixel-wise uncertainty maps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.optim.callbacks import ProgressBar
from patchnr.optim.objective import Objective
from patchnr.pipeline.problem import split_observation
from patchnr.pipeline.results import PosteriorResult, SolveResult
from patchnr.pipeline.map_estimate import Setup, solve
from patchnr.priors import PatchSampler
from patchnr.sampling import LangevinSettings, langevin

SAMPLE_PATCHES = 4000  # patches per chain and Langevin step of the prior's gradient


def sample(observation: np.ndarray | torch.Tensor, task=None, *, samples: int = 200, chains: int = 8, burn_in: int = 200,
           thin: int = 5, step: float | None = None, step_fraction: float = 0.5, sample_patches: int | None = SAMPLE_PATCHES,
           seed: int = 0, callbacks=(), **solve_options) -> PosteriorResult:
    """Posterior samples of p(x | y) ∝ exp(−D(A x; y) − λ R(x)) by unadjusted Langevin chains.

    The MAP estimate comes first (``solve`` with ``task`` and ``solve_options``: operator, noise,
    prior, lam — 'auto' too —, recipe, …); the chains start there and use its λ.

    Args:
        observation: one observation (a 2-D array or a 1×1×h×w tensor).
        samples: samples kept over all chains; chains: chains run as one batch; burn_in: steps
            discarded first; thin: steps between kept samples.
        step: the Langevin step δ (image units² per unit of J); default ``step_fraction`` over an
            estimate of ∇J's Lipschitz constant.
        sample_patches: patches per chain and step of a patch prior's gradient (``None``: all).
        callbacks: as for ``solve``; a ``ProgressBar`` among them also shows the chains' progress.

    Returns a ``PosteriorResult`` with mean, std, q05 and q95 maps in the observation's layout.
    """
    settings = langevin_settings(samples, chains, burn_in, thin, step, step_fraction)
    if split_observation(observation).batched and len(split_observation(observation).images) > 1:
        raise ParameterError("observation", "sample takes one observation at a time")
    estimate = solve(observation, task, seed=seed, callbacks=callbacks, **solve_options)
    progress = any(isinstance(callback, ProgressBar) for callback in callbacks)
    return sample_around(estimate, settings, sample_patches, seed, progress)


def langevin_settings(samples: int, chains: int, burn_in: int, thin: int, step: float | None, step_fraction: float) -> LangevinSettings:
    """The chains' settings, a value out of range a ``ParameterError``."""
    try:
        return LangevinSettings(chains=chains, samples=samples, burn_in=burn_in, thin=thin, step_fraction=step_fraction, step=step)
    except ValueError as error:
        raise PatchNRError(str(error)) from None


def sample_around(estimate: SolveResult, settings: LangevinSettings = LangevinSettings(), sample_patches: int | None = SAMPLE_PATCHES,
                  seed: int = 0, progress: bool = False) -> PosteriorResult:
    """Langevin chains from a single-image ``solve`` result, at its λ (a tqdm bar when ``progress``)."""
    setup = replace(estimate.setups[0], recipe=estimate.recipe)
    objective = Objective(setup.task.measurement, setup.observation, _sampling_prior(setup, sample_patches, seed), estimate.recipe.lam)
    start = torch.as_tensor(estimate.image).reshape(setup.init.shape).to(setup.observation.device)
    posterior = langevin(objective, start, settings, seed, progress=progress)
    statistics = {name: torch.from_numpy(value)[None] for name, value in posterior.summary().items()}
    return PosteriorResult(**{name: estimate.layout.layout([value]) for name, value in statistics.items()}, samples=posterior.samples,
                           step=posterior.step, seconds=posterior.seconds, spread_ratio=posterior.spread_ratio(), map=estimate)


def _sampling_prior(setup: Setup, sample_patches: int | None, seed: int):
    """The chains' prior: a patch density on ``sample_patches`` stratified patches per chain and step
    (all with ``None``), or the setup's ready prior."""
    device = setup.observation.device
    sampler = PatchSampler(setup.task.patch_size, sample_patches or None, setup.recipe.padding, True,
                           torch.Generator(device=device).manual_seed(seed))
    return setup.regularizer.build(setup.recipe, seed, device, sampler)


__all__ = ["SAMPLE_PATCHES", "langevin_settings", "sample", "sample_around"]
