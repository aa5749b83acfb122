"""``solve``: an observation → a reconstruction, in one call, for a named task or a user's operator."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from patchnr.errors import ParameterError
from patchnr.optim.callbacks import Callback, DivergenceGuard, ProgressBar, PSNRHistory
from patchnr.optim.lambda_search import discrepancy_search, task_tau
from patchnr.optim.objective import Objective
from patchnr.optim.recipes import Recipe
from patchnr.physics.mismatch import operator_mismatch
from patchnr.physics.noise import GaussianNoise
from patchnr.pipeline.problem import (AUTO, Regularizer, estimate_noise, initial_image, prepare_observation, recipe_of,
                                      resolve_device, resolve_prior, resolve_task, restate_noise, split_observation)
from patchnr.pipeline.results import SolveResult
from patchnr.protocols import Solver
from patchnr.tasks import Task


class PatchNRWarning(UserWarning):
    """A result that is computed but probably not what the user wants (an operator mismatch)."""


@dataclass
class Setup:
    """One image's problem, ready to solve: task (at its noise level), observation y (1×1×…),
    regularizer, recipe, start (1×1×H×W) and the notes made on the way."""

    task: Task
    observation: torch.Tensor
    regularizer: Regularizer
    recipe: Recipe
    init: torch.Tensor
    notes: list[str]


def solve(observation: np.ndarray | torch.Tensor, task: str | Task | None = None, *, operator=None, noise=None, prior=None,
          image_shape: tuple[int, int] | None = None, lam: float | str | None = None, recipe: str | Recipe = "fast",
          init=None, device: str | torch.device = "cpu", noise_std: float | None = None, photons: float | None = None,
          tau: float | None = None, iterations: int | None = None, n_patches: int | None = None, lr: float | None = None,
          solver: Solver | None = None, seed: int = 0, callbacks: Sequence[Callback] = (),
          ground_truth: np.ndarray | torch.Tensor | None = None, **task_options) -> SolveResult:
    """Reconstruct x from y = noise(A x) by minimising D(A x; y) + λ·R(x).

    Args:
        observation: y: a 2-D array or tensor (one grey image's observation) or a B×1×h×w batch (each
            image solved on its own).
        task: a bundled task's name (``patchnr.tasks.TASK_NAMES``) or a ``Task``; or instead
        operator: the forward model A, any differentiable callable on B×C×H×W tensors or an
            ``Operator``, with ``noise`` (required then) and ``image_shape`` where A cannot tell it.
        noise: a noise model (``GaussianNoise(σ)``, ``PoissonNoise(photons)``) or its text
            ('gaussian:0.02', 'poisson:4096'; a bare 'gaussian' has σ estimated from y). With a task
            it replaces the task's noise model.
        prior: R: ``None`` (the task's bundled prior; zero-shot tasks train one on y), a checkpoint
            path, a ``PatchFlow``, a patch density, or any prior (images → per-image energy).
        lam: λ in units of the noise model's negative log-likelihood; ``None``: the recipe's; 'auto':
            the discrepancy principle (``patchnr.optim.lambda_search``) with target ``tau``.
        recipe: 'fast' (default) or 'paper', or a ``Recipe``; ``iterations``, ``n_patches`` and ``lr``
            override its fields.
        init: the start: ``None`` (the task's: pseudo-inverse, else adjoint), 'adjoint', 'zeros' or an image.
        noise_std, photons: restate the task's Gaussian σ (y's units) or Poisson photons per bin. With
            ``lam='auto'`` and no σ stated, a Gaussian σ is estimated from y.
        solver: any ``Solver`` (default: the recipe's Adam) for a fixed λ.
        seed: seeds the patch draws (and the zero-shot training).
        callbacks: observe each iteration; nothing is printed unless one of them prints
            (``patchnr.ProgressBar()`` shows a bar, also over a zero-shot training).
        ground_truth: the true image(s), in the observation's layout: checked against the image shape
            before any solve, and scored each iteration (``result.psnr_history``).
        task_options: options of the named task (``kernel``, ``mask``, ``missing``, ``degradation``, ``backend``).

    Returns a ``SolveResult``; a mismatch warning is in ``result.warnings`` and issued as a ``PatchNRWarning``.
    """
    if tau is not None and lam != AUTO:
        raise ParameterError("tau", "applies only when λ is chosen from the data (lam='auto')")
    if isinstance(lam, str) and lam != AUTO:
        raise ParameterError("lam", f"expected a number or 'auto', got {lam!r}")
    resolved = resolve_device(device)
    chosen_task, unstated = resolve_task(task, operator, noise, image_shape, resolved, task_options)
    chosen_task = restate_noise(chosen_task, noise_std, photons)
    estimate = (unstated or lam == AUTO) and noise_std is None and _gaussian_unstated(chosen_task, noise, unstated)
    observations = split_observation(observation)
    progress = any(isinstance(callback, ProgressBar) for callback in callbacks)
    overrides = {"lam": None if lam in (None, AUTO) else float(lam), "iterations": iterations, "n_patches": n_patches, "lr": lr}
    truths = _ground_truths(ground_truth, observations, chosen_task, operator is not None)
    setups = [prepare(chosen_task, image, operator is not None, estimate, prior, recipe, overrides, init, resolved, seed, progress)
              for image in observations.images]
    scorers = [[PSNRHistory(truth.to(resolved))] for truth in truths] or [[] for _ in setups]
    start = time.perf_counter()
    outcomes = [_solve_one(setup, lam == AUTO, tau, solver, seed, [*callbacks, *scorer]) for setup, scorer in zip(setups, scorers)]
    seconds = time.perf_counter() - start
    return _result(setups, outcomes, observations, seconds)


def _ground_truths(ground_truth, observations, task: Task, user_operator: bool) -> list[torch.Tensor]:
    """The ground truth as 1×1×H×W tensors, one per observation, each checked against its image shape."""
    if ground_truth is None:
        return []
    truths = split_observation(ground_truth)
    if len(truths.images) != len(observations.images):
        raise ParameterError("ground_truth", f"{len(truths.images)} images for {len(observations.images)} observations")
    for truth, observation in zip(truths.images, observations.images):
        prepared, _ = prepare_observation(task, observation, user_operator)
        task.check_ground_truth(truth, prepared.shape)
    return [torch.from_numpy(truth)[None, None] for truth in truths.images]


def _gaussian_unstated(task: Task, noise, unstated: bool) -> bool:
    """Whether σ may be estimated: Gaussian noise that the user did not state as a model."""
    return isinstance(task.measurement.noise, GaussianNoise) and (unstated or noise is None)


def prepare(task: Task, observation: np.ndarray, user_operator: bool, estimate: bool, prior, recipe, overrides: dict, init,
            device: torch.device, seed: int, progress: bool) -> Setup:
    """The ``Setup`` of one 2-D observation: checked, at its noise level, with its prior and start."""
    prepared, note = prepare_observation(task, observation, user_operator)
    notes = [note] if note else []
    if estimate:
        task, sigma = estimate_noise(task, prepared)
        notes.append(f"noise σ estimated from the observation (MAD of its finest diagonal wavelet coefficients): {sigma:.4g}")
    y = torch.from_numpy(np.ascontiguousarray(prepared, dtype=np.float32))[None, None].to(device)
    regularizer = resolve_prior(prior, task, y, seed, progress)
    if regularizer.seconds:
        notes.append(f"zero-shot prior trained on the observation's 8 rotations/flips in {regularizer.seconds:.1f} s")
    return Setup(task, y, regularizer, recipe_of(task, recipe, overrides), initial_image(task, y, init), notes)


def solve_at(setup: Setup, lam: float, start: torch.Tensor, iterations: int, seed: int, solver: Solver | None,
             callbacks: Sequence[Callback]):
    """One solve of the setup's objective at λ from ``start``: the recipe's solver with ``iterations``,
    or ``solver``; returns the ``Reconstruction``."""
    settings = setup.recipe.with_overrides(lam=lam, iterations=iterations)
    prior = setup.regularizer.build(settings, seed, setup.observation.device)
    objective = Objective(setup.task.measurement, setup.observation, prior, settings.lam, settings.ordered_subsets)
    return (solver or settings.solver()).solve(objective, start, [DivergenceGuard(), *callbacks])


@dataclass
class _Outcome:
    image: torch.Tensor
    lam: float
    psnr: list[float]
    trials: list[tuple[float, float]]
    tau: float | None


def _solve_one(setup: Setup, auto: bool, tau: float | None, solver: Solver | None, seed: int,
               callbacks: Sequence[Callback]) -> _Outcome:
    """A fixed-λ solve, or the discrepancy search over λ (the PSNR history of its final solve)."""
    recipe = setup.recipe
    if not auto:
        solved = solve_at(setup, recipe.lam, setup.init, recipe.iterations, seed, solver, callbacks)
        return _Outcome(solved.image, recipe.lam, solved.psnr, [], None)
    last = []

    def solve_image(lam: float, start: torch.Tensor, iterations: int) -> torch.Tensor:
        last[:] = [solve_at(setup, lam, start, iterations, seed, solver, callbacks)]
        return last[0].image

    target = tau if tau is not None else task_tau(setup.task, setup.observation)
    search = discrepancy_search(solve_image, lambda image: setup.task.measurement.discrepancy(image, setup.observation),
                                setup.init, recipe.lam, recipe.iterations, target)
    return _Outcome(search.image, search.lam, last[0].psnr, search.trials, search.target)


def _result(setups: list[Setup], outcomes: list[_Outcome], observations, seconds: float) -> SolveResult:
    """The ``SolveResult`` of the images' solves, the mismatch warnings issued."""
    misfits = [setup.task.measurement.discrepancy(outcome.image, setup.observation) for setup, outcome in zip(setups, outcomes)]
    found = [operator_mismatch(setup.task.measurement, outcome.image, setup.observation) for setup, outcome in zip(setups, outcomes)]
    messages = [message for message in found if message is not None]
    for message in messages:
        warnings.warn(message, PatchNRWarning, stacklevel=3)
    single = not observations.batched
    lams = [outcome.lam for outcome in outcomes]
    return SolveResult(
        image=observations.layout([outcome.image for outcome in outcomes]),
        init=observations.layout([setup.init for setup in setups]),
        lam=lams[0] if single else lams, misfit=misfits[0] if single else misfits, seconds=seconds,
        recipe=setups[0].recipe.with_overrides(lam=lams[0]), noise=setups[0].task.measurement.noise,
        prior_seconds=sum(setup.regularizer.seconds for setup in setups), warnings=messages,
        notes=[note for setup in setups for note in setup.notes], lam_trials=[outcome.trials for outcome in outcomes if outcome.trials],
        tau=outcomes[0].tau, psnr_history=[outcome.psnr for outcome in outcomes if outcome.psnr], setups=setups,
        layout=observations)


__all__ = ["PatchNRWarning", "Setup", "prepare", "solve", "solve_at"]
