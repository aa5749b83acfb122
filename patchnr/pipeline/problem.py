"""From what a user passes to ``solve`` to what a solver needs: the task at its noise level, the
observation as a batch, the prior, the recipe and the start image."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
import torch
from torch import nn

from patchnr.errors import ParameterError
from patchnr.flows.checkpoint import load_flow
from patchnr.flows.flow import PatchFlow
from patchnr.optim.recipes import Recipe
from patchnr.physics.noise import GaussianNoise
from patchnr.physics.noise_level import estimate_gaussian_sigma, parse_noise, restated_noise
from patchnr.priors import FlowDensity, PatchPrior, PatchSampler
from patchnr.tasks import Task, bundled_file, get_task
from patchnr.tasks.custom import build_operator, check_operator_fits, custom_task

AUTO = "auto"
INITS = ("adjoint", "zeros")


def resolve_device(device: str | torch.device) -> torch.device:
    """A ``torch.device``; CUDA without a GPU, or another kind, is a ``ParameterError``."""
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ParameterError("device", f"unknown device {device!r} (use cpu, cuda or cuda:N)") from None
    if resolved.type not in ("cpu", "cuda"):
        raise ParameterError("device", f"unsupported device {device!r} (use cpu, cuda or cuda:N)")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", "CUDA requested but no CUDA GPU is available (use cpu)")
    return resolved


def resolve_task(task: str | Task | None, operator, noise, image_shape: tuple[int, int] | None,
                 device: torch.device, task_options: dict) -> tuple[Task, bool]:
    """(the task, whether its Gaussian σ is unstated): a named task or ``Task`` (``noise`` replacing its
    noise model), or the user's ``operator`` with ``noise`` (a noise model, or its text for ``parse_noise``)."""
    if (task is None) == (operator is None):
        raise ParameterError("operator", "give either a task or an operator")
    model = _noise_model(noise)
    if operator is None:
        if image_shape is not None:
            raise ParameterError("image_shape", "applies to a user's operator; a task knows its image shape")
        chosen = task if isinstance(task, Task) else get_task(task, device=device, **task_options)
        return (chosen if model is None else chosen.with_noise(model)), noise is not None and model is None
    if task_options:
        raise ParameterError(next(iter(task_options)), "is an option of the bundled tasks, not of a user's operator")
    if noise is None:
        raise ParameterError("noise", "a user's operator needs its noise model (e.g. GaussianNoise(0.02) or 'poisson:4096')")
    wrapped = build_operator(lambda: operator, image_shape)
    unstated = model is None
    return custom_task(wrapped.to(device), GaussianNoise(1.0) if unstated else model), unstated


def _noise_model(noise) -> nn.Module | None:
    """A noise model from a model or its text; ``None`` for none given or for a bare 'gaussian'."""
    if noise is None or isinstance(noise, nn.Module):
        return noise
    if isinstance(noise, str):
        try:
            return parse_noise(noise)
        except ValueError as error:
            raise ParameterError("noise", str(error)) from None
    raise ParameterError("noise", f"expected a noise model or its text, got {type(noise).__name__}")


def restate_noise(task: Task, noise_std: float | None, photons: float | None) -> Task:
    """The task at the stated Gaussian σ or Poisson photon count (unchanged when neither is given)."""
    if noise_std is None and photons is None:
        return task
    try:
        return task.with_noise(restated_noise(task.measurement.noise, noise_std, photons))
    except ValueError as error:
        raise ParameterError("noise_std" if noise_std is not None else "photons", str(error)) from None


def estimate_noise(task: Task, observation: np.ndarray) -> tuple[Task, float]:
    """The task with its Gaussian σ estimated from a 2-D observation (``estimate_gaussian_sigma``)."""
    sigma = estimate_gaussian_sigma(observation)
    if not sigma > 0:
        raise ParameterError("noise_std", "cannot estimate the noise level: the observation's finest wavelet coefficients "
                                          "are all zero; state σ")
    return task.with_noise(GaussianNoise(sigma)), sigma


@dataclass
class Observations:
    """The observation as 2-D arrays, one per image, and how to give results back in its layout."""

    images: list[np.ndarray]
    batched: bool
    as_numpy: bool

    def layout(self, images: list[torch.Tensor]) -> np.ndarray | torch.Tensor:
        """Images (1×1×H×W each) in the observation's layout: H×W for one 2-D input, else B×1×H×W."""
        stacked = torch.cat(images) if self.batched else images[0][0, 0]
        return stacked.detach().cpu().numpy() if self.as_numpy else stacked


def split_observation(observation: np.ndarray | torch.Tensor) -> Observations:
    """A 2-D array (one grey image) or a B×1×H×W batch → ``Observations``; other shapes are refused."""
    as_numpy = not isinstance(observation, torch.Tensor)
    array = np.asarray(observation if as_numpy else observation.detach().cpu().numpy(), dtype=np.float32)
    if array.ndim == 2:
        return Observations([array], False, as_numpy)
    if array.ndim == 4 and array.shape[1] == 1 and array.shape[0] >= 1:
        return Observations(list(array[:, 0]), True, as_numpy)
    raise ParameterError("observation", f"expected a 2-D image or a B×1×H×W batch, got shape {array.shape}")


def prepare_observation(task: Task, observation: np.ndarray, user_operator: bool) -> tuple[np.ndarray, str | None]:
    """The 2-D observation the task's operator takes (with a note when changed), checked."""
    prepared, note = task.prepare_observation(observation)
    if user_operator:
        check_operator_fits(task.operator, prepared.shape)
    task.check_observation(prepared)
    return prepared, note


@dataclass
class Regularizer:
    """What λ weighs: a patch density (a flow's, drawn per the recipe) or a ready ``Prior``."""

    flow: PatchFlow | None = None
    density: nn.Module | None = None
    prior: nn.Module | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def patch_density(self, recipe: Recipe) -> nn.Module | None:
        """The patch density under ``recipe`` (a flow's under its bf16 setting); ``None`` for a ready prior."""
        if self.prior is not None:
            return None
        return self.density if self.density is not None else FlowDensity(self.flow, recipe.bf16)

    def build(self, recipe: Recipe, seed: int, device: torch.device, sampler: PatchSampler | None = None) -> nn.Module:
        """The prior of one solve: images B×C×H×W → (B,). A density's patches are drawn by ``sampler``,
        default the recipe's, seeded with ``seed`` on ``device``."""
        density = self.patch_density(recipe)
        if density is None:
            return self.prior
        if sampler is None:
            sampler = recipe.sampler(density.patch_size, torch.Generator(device=device).manual_seed(seed))
        return PatchPrior(density, sampler)


def resolve_prior(prior, task: Task, observation: torch.Tensor, seed: int, progress: bool) -> Regularizer:
    """The regularizer of ``prior``: ``None`` (the task's bundled prior, or a zero-shot one trained on the
    1×1×h×w ``observation``), a checkpoint path, a ``PatchFlow``, a patch density or any ``Prior``."""
    device = observation.device
    if task.prior_trainer is not None:
        if prior is not None:
            raise ParameterError("prior", f"does not apply to {task.name}: its prior is trained on the observation")
        start = time.perf_counter()
        flow = task.prior_trainer(observation, progress)
        return Regularizer(flow=flow.to(device), seconds=time.perf_counter() - start)
    if prior is None or isinstance(prior, (str, os.PathLike)):
        flow, _ = load_flow(Path(prior) if prior is not None else bundled_file(task.prior_file), patch_size=task.patch_size, channels=1)
        return Regularizer(flow=flow.to(device))
    if isinstance(prior, PatchFlow):
        return Regularizer(flow=prior.to(device))
    if isinstance(prior, nn.Module) and hasattr(prior, "patch_size") and hasattr(prior, "channels"):
        return Regularizer(density=prior.to(device))
    if callable(prior):
        return Regularizer(prior=prior)
    raise ParameterError("prior", f"expected a checkpoint path, a PatchFlow, a patch density or a prior, got {type(prior).__name__}")


def recipe_of(task: Task, recipe: str | Recipe, overrides: dict) -> Recipe:
    """The task's recipe of that name (or ``recipe`` itself) with the non-None ``overrides``."""
    if isinstance(recipe, Recipe):
        chosen = recipe
    elif recipe in task.recipes:
        chosen = task.recipes[recipe]
    else:
        raise ParameterError("recipe", f"expected one of {', '.join(task.recipes)} or a Recipe, got {recipe!r}")
    return chosen.with_overrides(**overrides)


def initial_image(task: Task, observation: torch.Tensor, init) -> torch.Tensor:
    """The start: ``None`` (the task's: pseudo-inverse, else adjoint), 'adjoint', 'zeros', or an image."""
    if init is None:
        return task.initialise(observation)
    shape = task.image_shape(tuple(observation.shape[-2:]))
    if isinstance(init, str):
        if init not in INITS:
            raise ParameterError("init", f"expected {' or '.join(INITS)}, an image or a file, got {init!r}")
        if init == "zeros":
            return observation.new_zeros(1, 1, *shape)
        with torch.no_grad():
            return task.operator.adjoint(observation)
    image = torch.as_tensor(np.asarray(init, dtype=np.float32) if not isinstance(init, torch.Tensor) else init)
    if tuple(image.shape[-2:]) != tuple(shape) or image.numel() != shape[0] * shape[1]:
        raise ParameterError("init", f"shape {tuple(image.shape)} is not the image shape {tuple(shape)}")
    return image.reshape(1, 1, *shape).to(device=observation.device, dtype=torch.float32)

__all__ = ["AUTO", "Observations", "Regularizer", "estimate_noise", "initial_image", "prepare_observation", "recipe_of",
           "resolve_device", "resolve_prior", "resolve_task", "restate_noise", "split_observation"]
