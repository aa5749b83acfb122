"""A named task: its measurement (operator and noise model), bundled prior, recipes and baselines."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from patchnr.errors import PatchNRError
from patchnr.flows.flow import PatchFlow
from patchnr.physics.measurement import Measurement
from patchnr.optim.objective import Objective
from patchnr.operators.base import initial_guess
from patchnr.priors import FlowDensity, GaussianMixtureDensity, PatchPrior, TotalVariation
from patchnr.optim.recipes import Recipe
from patchnr.optim import LBFGS, Reconstruction, default_callbacks
from patchnr.optim.callbacks import Callback


def bundled_file(name: str) -> Path:
    """Path of a file shipped in ``patchnr/data`` (priors/…, examples/…)."""
    return Path(str(resources.files("patchnr") / "data" / name))


class Shapes(Protocol):
    """Maps 2-D sizes between image and observation (an ``Operator``, or a CT geometry)."""

    def range_shape(self, image_shape: tuple[int, int]) -> tuple[int, int]: ...

    def domain_shape(self, observation_shape: tuple[int, int]) -> tuple[int, int]: ...


@dataclass(frozen=True)
class TVBaseline:
    """Total variation solved by L-BFGS: lam (in units of the data term, per pixel sum of TV_ε),
    eps: TV smoothing in image units, iterations: L-BFGS iterations."""

    lam: float
    eps: float = 1e-3
    iterations: int = 300


def unchanged_observation(observation: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The default ``Task.prepare_observation``: the observation as it is, no note."""
    return observation, None


@dataclass
class Task:
    """Everything needed to simulate and solve one kind of inverse problem.

    build_measurement: makes the measurement on first use of ``measurement`` (so input checks stay
        cheap: the CT operator builds or loads a large matrix).
    shapes: the cheap 2-D shape maps (``Shapes``), the same as the operator's.
    prior_file / gmm_file / example_file: bundled files (``bundled_file`` names).
    recipes: 'fast' and 'paper' at least; tv, epll_lam: the baselines' tuned settings.
    baseline: the method key of the initialisation ('bicubic', 'fbp').
    prepare_observation: a 2-D observation → (the one the operator takes, a note when changed).
    prior_trainer: for a zero-shot task, (observation 1×1×h×w, progress) → a flow trained on it,
        used instead of ``prior_file`` (which is then empty).
    discrepancy_target: the τ of ``--lam auto`` where the task's own validation chose one; None: the
        noise model's default (``lambda_search.default_tau``).
    """

    name: str
    build_measurement: Callable[[], Measurement]
    shapes: Shapes
    prior_file: str
    gmm_file: str
    example_file: str | None
    recipes: dict[str, Recipe]
    tv: TVBaseline
    epll_lam: float
    baseline: str
    prepare_observation: Callable[[np.ndarray], tuple[np.ndarray, str | None]] = unchanged_observation
    patch_size: int = 6  # the patch size the recipes' λ is calibrated for
    prior_trainer: Callable[[torch.Tensor, bool], PatchFlow] | None = None
    discrepancy_target: float | None = None

    @cached_property
    def measurement(self) -> Measurement:
        return self.build_measurement()

    def with_noise(self, noise: torch.nn.Module) -> "Task":
        """This task with another noise model (simulation and data term); λ stays in units of its NLL."""
        return replace(self, build_measurement=lambda: self.measurement.with_noise(noise))

    @property
    def operator(self):
        return self.measurement.operator

    def simulate(self, ground_truth: torch.Tensor, seed: int) -> torch.Tensor:
        """A noisy observation of a 1×1×H×W ground truth, deterministic for ``seed``."""
        return self.measurement.simulate(ground_truth, seed)

    def image_shape(self, observation_shape: tuple[int, int]) -> tuple[int, int]:
        return tuple(self.shapes.domain_shape(tuple(observation_shape)))

    def check_observation(self, observation: np.ndarray) -> None:
        """Raise ``PatchNRError`` if a 2-D observation cannot come from this task's operator."""
        try:
            expected = self.shapes.range_shape(self.image_shape(observation.shape))
        except ValueError as error:
            raise PatchNRError(f"observation of shape {observation.shape} does not fit task {self.name}: {error}") from None
        if tuple(expected) != tuple(observation.shape):
            raise PatchNRError(f"observation of shape {observation.shape} does not fit task {self.name} (expects {expected})")
        if not np.isfinite(observation).all():
            raise PatchNRError("observation contains NaN or Inf")

    def check_image(self, image: np.ndarray, label: str) -> None:
        """Raise ``PatchNRError`` unless an (H, W) image has a size this task's operator maps and inverts."""
        try:
            fits = tuple(self.image_shape(self.shapes.range_shape(image.shape))) == tuple(image.shape)
            reason = ""
        except ValueError as error:
            fits, reason = False, f": {error}"
        if not fits:
            raise PatchNRError(f"{label}: image of shape {image.shape} does not fit task {self.name}{reason}")

    def check_ground_truth(self, ground_truth: np.ndarray, observation_shape: tuple[int, int]) -> None:
        expected = self.image_shape(observation_shape)
        if tuple(ground_truth.shape) != tuple(expected):
            raise PatchNRError(f"ground truth of shape {ground_truth.shape} does not match the observation (expects {expected} for task {self.name})")

    def initialise(self, observation: torch.Tensor) -> torch.Tensor:
        """The baseline reconstruction (the operator's pseudo-inverse, else its adjoint): the solvers' start."""
        return initial_guess(self.operator, observation)

    def solve_patch_prior(self, observation: torch.Tensor, density: torch.nn.Module, recipe: Recipe, init: torch.Tensor,
                          seed: int = 0, ground_truth: torch.Tensor | None = None, progress: bool = True,
                          callbacks: Sequence[Callback] = ()) -> Reconstruction:
        """Minimise D + λ·PatchPrior(density) under ``recipe`` (patch draws seeded on the observation's device);
        ``callbacks`` run after the default ones."""
        generator = torch.Generator(device=observation.device).manual_seed(seed)
        prior = PatchPrior(density, recipe.sampler(density.patch_size, generator))
        objective = Objective(self.measurement, observation, prior, recipe.lam, recipe.ordered_subsets)
        return recipe.solver().solve(objective, init, [*default_callbacks(progress, ground_truth), *callbacks])

    def solve(self, observation: torch.Tensor, flow: PatchFlow, recipe: Recipe, ground_truth: torch.Tensor | None = None,
              seed: int = 0, init: torch.Tensor | None = None, progress: bool = True,
              callbacks: Sequence[Callback] = ()) -> Reconstruction:
        """Reconstruct from an observation (1×1×… tensor) with a patchNR prior under ``recipe``."""
        start = self.initialise(observation) if init is None else init
        return self.solve_patch_prior(observation, FlowDensity(flow, recipe.bf16), recipe, start, seed, ground_truth, progress, callbacks)

    def solve_epll(self, observation: torch.Tensor, gmm: dict, recipe: Recipe, init: torch.Tensor, seed: int = 0,
                   ground_truth: torch.Tensor | None = None, progress: bool = False) -> Reconstruction:
        """The EPLL baseline: the GMM density in patchNR's place, λ = ``recipe.lam``."""
        density = GaussianMixtureDensity(gmm).to(init.device)
        return self.solve_patch_prior(observation, density, recipe, init, seed, ground_truth, progress)

    def solve_tv(self, observation: torch.Tensor, settings: TVBaseline, init: torch.Tensor, progress: bool = False) -> Reconstruction:
        """The TV baseline: D + λ·TV_ε by L-BFGS in float64."""
        objective = Objective(self.measurement, observation, TotalVariation(settings.eps), settings.lam)
        return LBFGS(settings.iterations).solve(objective, init, default_callbacks(progress))


def settings_task(settings, build_measurement: Callable[[], Measurement], shapes: Shapes, **fields) -> Task:
    """A task whose settings are a task file's constants (``settings``: the module): ``NAME``, ``PAPER``
    and ``FAST`` (recipes), ``TV``, ``EPLL_LAM``, ``PRIOR_FILE``, ``GMM_FILE``, ``EXAMPLE_FILE`` and
    ``BASELINE``, and optionally ``DISCREPANCY_TARGET``; ``fields`` sets any other ``Task`` field."""
    return Task(name=settings.NAME, build_measurement=build_measurement, shapes=shapes, prior_file=settings.PRIOR_FILE,
                gmm_file=settings.GMM_FILE, example_file=settings.EXAMPLE_FILE, recipes={"paper": settings.PAPER, "fast": settings.FAST},
                tv=settings.TV, epll_lam=settings.EPLL_LAM, baseline=settings.BASELINE,
                discrepancy_target=getattr(settings, "DISCREPANCY_TARGET", None), **fields)
