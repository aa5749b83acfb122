"""A task: its declared settings (``TaskSettings``) with its measurement (operator and noise model),
and what runs on them: simulation, input checks and the solvers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from patchnr.errors import PatchNRError
from patchnr.flows.flow import PatchFlow
from patchnr.operators.base import initial_guess
from patchnr.optim import LBFGS, Reconstruction, default_callbacks
from patchnr.optim.callbacks import Callback
from patchnr.optim.objective import Objective
from patchnr.optim.recipes import Recipe
from patchnr.physics.measurement import Measurement
from patchnr.priors import FlowDensity, GaussianMixtureDensity, PatchPrior, TotalVariation
from patchnr.tasks.settings import TaskSettings, TVBaseline


class Shapes(Protocol):
    """Maps 2-D sizes between image and observation (an ``Operator``, or a CT geometry)."""

    def range_shape(self, image_shape: tuple[int, int]) -> tuple[int, int]: ...

    def domain_shape(self, observation_shape: tuple[int, int]) -> tuple[int, int]: ...


def unchanged_observation(observation: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The default ``Task.prepare_observation``: the observation as it is, no note."""
    return observation, None


@dataclass
class Task:
    """Everything needed to simulate and solve one kind of inverse problem.

    settings: the declared recipes, baseline settings and assets; read through the task's own
        attributes (``recipes``, ``tv``, ``epll_lam``, ``baseline``, ``prior_file``, ``gmm_file``,
        ``example_file``, ``patch_size``, ``discrepancy_target``, ``name``).
    build_measurement: makes the measurement on first use of ``measurement`` (so input checks stay
        cheap: the CT operator builds or loads a large matrix).
    shapes: the cheap 2-D shape maps (``Shapes``), the same as the operator's.
    prepare_observation: a 2-D observation → (the one the operator takes, a note when changed).
    prior_trainer: for a zero-shot task, (observation 1×1×h×w, progress) → a flow trained on it,
        used instead of ``prior_file`` (which is then empty).
    """

    settings: TaskSettings
    build_measurement: Callable[[], Measurement]
    shapes: Shapes
    prepare_observation: Callable[[np.ndarray], tuple[np.ndarray, str | None]] = unchanged_observation
    prior_trainer: Callable[[torch.Tensor, bool], PatchFlow] | None = None

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def recipes(self) -> dict[str, Recipe]:
        """'paper' and 'fast' at least."""
        return self.settings.recipes

    @property
    def tv(self) -> TVBaseline:
        return self.settings.tv

    @property
    def epll_lam(self) -> float:
        return self.settings.epll_lam

    @property
    def baseline(self) -> str:
        return self.settings.baseline

    @property
    def prior_file(self) -> str:
        return self.settings.assets.prior_file

    @property
    def gmm_file(self) -> str:
        return self.settings.assets.gmm_file

    @property
    def example_file(self) -> str | None:
        return self.settings.assets.example_file

    @property
    def patch_size(self) -> int:
        return self.settings.patch_size

    @property
    def discrepancy_target(self) -> float | None:
        return self.settings.discrepancy_target

    @cached_property
    def measurement(self) -> Measurement:
        return self.build_measurement()

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

    def with_noise(self, noise: nn.Module) -> "Task":
        """This task with its measurement's noise model replaced by ``noise`` (operator, simulator and
        kind of measurement kept): simulation and data term both use it.

        The recipes keep their λ, which is in units of the noise model's negative log-likelihood: the
        prior keeps the same weight against the new likelihood.
        """
        return replace(self, build_measurement=lambda: self.measurement.with_noise(noise))
