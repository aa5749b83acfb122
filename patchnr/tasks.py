"""Named reconstruction tasks: operator, fidelity, noise model, bundled prior and recipes together.

The CLI (``patchnr reconstruct --op NAME``) and the benchmark both go through ``get_task`` and
``Task.solve``, so a task behaves the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .errors import PatchNRError
from .flow import PatchFlow
from .recipes import PAPER_CT_LIMITED, PAPER_CT_LOWDOSE, PAPER_SR_X4, Recipe
from .regularizer import PatchNR
from .solver import Reconstruction, reconstruct

SR_NOISE_STD = 0.01
CT_SIMULATION_UPSAMPLE = 2  # CT data are simulated on a 2× finer grid (no inverse crime), as LoDoPaB did


def bundled_file(name: str) -> Path:
    """Path of a file shipped in ``patchnr/data`` (priors/…, examples/…)."""
    return Path(str(resources.files("patchnr") / "data" / name))


def _unchanged(observation: np.ndarray) -> tuple[np.ndarray, str | None]:
    return observation, None


@dataclass
class Task:
    """Everything needed to simulate and solve one kind of inverse problem.

    build_operator: makes the operator (B×1×H×W → measurement, with ``pseudo_inverse`` for the
        initialisation); it is built on first use of ``operator``, so input checks stay cheap.
    noise: (operator, ground truth 1×1×H×W, seed) → noisy observation.
    observation_shape/image_shape: map 2-D sizes either way; ``ValueError`` when they do not fit.
    prepare_observation: a 2-D observation → (the one the operator takes, a one-line note when it
        was changed, else None); applied before ``check_observation``. Default: unchanged.
    """

    name: str
    build_operator: Callable[[], nn.Module]
    fidelity: nn.Module
    noise: Callable[[nn.Module, torch.Tensor, int], torch.Tensor]
    image_shape: Callable[[tuple[int, int]], tuple[int, int]]
    observation_shape: Callable[[tuple[int, int]], tuple[int, int]]
    prior_file: str
    example_file: str
    recipes: dict[str, Recipe] = field(default_factory=dict)
    baseline_name: str = "initialisation"
    patch_size: int = 6  # patch size the recipes' λ is calibrated for
    prepare_observation: Callable[[np.ndarray], tuple[np.ndarray, str | None]] = _unchanged

    @cached_property
    def operator(self) -> nn.Module:
        return self.build_operator()

    def simulate(self, ground_truth: torch.Tensor, seed: int) -> torch.Tensor:
        """A noisy observation of a 1×1×H×W ground truth, deterministic for ``seed``."""
        return self.noise(self.operator, ground_truth, seed)

    def check_observation(self, observation: np.ndarray) -> None:
        """Raise ``PatchNRError`` if a 2-D observation cannot come from this task's operator."""
        try:
            expected = self.observation_shape(self.image_shape(observation.shape))
        except ValueError as error:
            raise PatchNRError(f"observation of shape {observation.shape} does not fit --op {self.name}: {error}") from None
        if tuple(expected) != tuple(observation.shape):
            raise PatchNRError(f"observation of shape {observation.shape} does not fit --op {self.name} (expects {expected})")
        if not np.isfinite(observation).all():
            raise PatchNRError("observation contains NaN or Inf")

    def check_ground_truth(self, ground_truth: np.ndarray, observation: np.ndarray) -> None:
        expected = self.image_shape(observation.shape)
        if tuple(ground_truth.shape) != tuple(expected):
            raise PatchNRError(f"ground truth of shape {ground_truth.shape} does not match the observation (expects {expected} for --op {self.name})")

    def initialise(self, observation: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.operator.pseudo_inverse(observation)

    def solve(
        self,
        observation: torch.Tensor,
        flow: PatchFlow,
        recipe: Recipe,
        ground_truth: torch.Tensor | None = None,
        seed: int = 0,
        init: torch.Tensor | None = None,
        progress: bool = True,
    ) -> Reconstruction:
        """Reconstruct from an observation (1×1×… tensor) with a patchNR prior under ``recipe``."""
        generator = torch.Generator(device=observation.device).manual_seed(seed)  # patch draws stay on the device
        prior = PatchNR(flow, recipe.n_patches, recipe.padding, recipe.bf16, generator, recipe.stratified)
        start = self.initialise(observation) if init is None else init
        return reconstruct(
            observation, self.operator, self.fidelity, prior, recipe.lam, start, recipe.iterations, recipe.lr,
            ground_truth=ground_truth, progress=progress, **recipe.solver_options(),
        )


def gaussian_noise(operator: nn.Module, ground_truth: torch.Tensor, seed: int) -> torch.Tensor:
    """A x + σ·N(0, 1) with σ = ``SR_NOISE_STD`` (the paper's superresolution noise)."""
    with torch.no_grad():
        clean = operator(ground_truth)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed)).to(clean)
    return clean + SR_NOISE_STD * noise


def _sr_image_shape(shape: tuple[int, int]) -> tuple[int, int]:
    if min(shape) < 4:
        raise ValueError("the low-resolution image must be at least 4×4")
    return (4 * shape[0], 4 * shape[1])


def superresolution_task(device: str | torch.device = "cpu") -> Task:
    """×4 superresolution of the paper's material images (Gaussian σ=2, stride 4, noise 0.01)."""
    from operators.superres import superresolution_x4

    from .fidelity import GaussianFidelity

    shapes = superresolution_x4()
    return Task(
        name="sr-x4",
        build_operator=lambda: superresolution_x4().to(device),
        fidelity=GaussianFidelity(),
        noise=gaussian_noise,
        image_shape=_sr_image_shape,
        observation_shape=lambda shape: (shapes.output_size(shape[0]), shapes.output_size(shape[1])),
        prior_file="priors/sr_material.pt",
        example_file="examples/material_test.png",
        recipes={"paper": PAPER_SR_X4, "fast": FAST_SR_X4},
        baseline_name="bicubic",
    )


def ct_task(name: str, backend: str = "auto", device: str | torch.device = "cpu", geometry=None) -> Task:
    """Low-dose (``ct-lowdose``) or limited-angle (``ct-limited``) CT; LoDoPaB geometry unless given."""
    from operators.ct import RayTransform, limited_angle_geometry, lodopab_geometry, resolve_backend

    from .ct_data import simulate_lowdose
    from .fidelity import PoissonFidelity

    resolve_backend(backend, torch.device(device))  # reject a bad backend before any heavy set-up
    geometry = geometry or (limited_angle_geometry() if name == "ct-limited" else lodopab_geometry())
    image_shape, sinogram_shape = tuple(geometry.image_shape), tuple(geometry.sinogram_shape)
    full = tuple(geometry.full_sinogram_shape)  # a sinogram with every angle, before angle_indices
    accepted = str(sinogram_shape) if full == sinogram_shape else f"{sinogram_shape}, or a full {full} one"

    def to_image(shape):
        if tuple(shape) != sinogram_shape:
            raise ValueError(f"expects a sinogram of shape {accepted}")
        return image_shape

    def to_sinogram(shape):
        if tuple(shape) != image_shape:
            raise ValueError(f"expects an image of shape {image_shape}")
        return sinogram_shape

    def noise(operator, ground_truth, seed):
        return simulate_lowdose(ground_truth, operator, seed=seed, upsample=CT_SIMULATION_UPSAMPLE)

    def keep_angles(observation):
        """A full sinogram (every angle of the geometry) → its rows the geometry keeps."""
        if tuple(observation.shape) != full or full == sinogram_shape:
            return observation, None
        rows = geometry.kept_rows
        return observation[rows], f"note: full {full} sinogram given; using its rows {rows.start}..{rows.stop - 1}, the angles --op {name} keeps"

    limited = name == "ct-limited"
    return Task(
        name=name,
        build_operator=lambda: RayTransform(geometry, backend=backend, device=device),
        fidelity=PoissonFidelity(),
        noise=noise,
        image_shape=to_image,
        observation_shape=to_sinogram,
        prior_file="priors/ct_lodopab.pt",
        example_file="examples/ct_slice.npy",
        recipes={"paper": PAPER_CT_LIMITED if limited else PAPER_CT_LOWDOSE, "fast": FAST_CT_LIMITED if limited else FAST_CT_LOWDOSE},
        baseline_name="FBP",
        prepare_observation=keep_angles,
    )


TASK_NAMES = ("sr-x4", "ct-lowdose", "ct-limited")

# Fast defaults, tuned on validation images only (img_val_material; cranium slice 34): see
# results/tuning.md. bf16 cost 0.04 dB against fp32 on SR validation at ≈2.5× less time. The CT
# low-dose recipe (session 4): ordered subsets over 10 angle blocks, stratified patch draws and
# Adam β2 0.9 reach in 120 iterations what the 200-iteration uniform recipe reached (40.92 against
# 40.94 dB on slice 34), at a fraction of the data-term cost. Session 5: 150 iterations (+0.13 to
# +0.19 dB over 120 on slices 34 and 66; 160 gave +0.04 to +0.25 on five validation slices).
FAST_SR_X4 = Recipe(lam=0.25, iterations=150, lr=0.01, n_patches=30_000, lr_schedule="cosine", bf16=True)
FAST_CT_LOWDOSE = Recipe(lam=1300.0, iterations=150, lr=0.01, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True,
                         stratified=True, ordered_subsets=True, adam_beta2=0.9)
FAST_CT_LIMITED = Recipe(lam=1500.0, iterations=150, lr=0.01, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True)


def get_task(name: str, backend: str = "auto", device: str | torch.device = "cpu") -> Task:
    """The task called ``name`` (one of ``TASK_NAMES``) with its operator on ``device``."""
    if name == "sr-x4":
        return superresolution_task(device)
    if name in ("ct-lowdose", "ct-limited"):
        return ct_task(name, backend, device)
    raise PatchNRError(f"unknown --op {name!r} (choose from {', '.join(TASK_NAMES)})")
