"""What the CT tasks share: LoDoPaB's measurement (ray transform, Poisson noise, simulation on a 2×
finer grid) and the observation checks of a geometry that may keep only some angles."""

from __future__ import annotations

import numpy as np
import torch

from patchnr.operators.ct.lodopab import clean_sinogram
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import PoissonNoise
from patchnr.optim.recipes import Recipe
from patchnr.tasks.base import Task, TVBaseline

SIMULATION_UPSAMPLE = 2  # observations are simulated on a 2× finer grid (no inverse crime), as LoDoPaB did


def lodopab_measurement(geometry, backend: str, device: str | torch.device) -> Measurement:
    """The ray transform of ``geometry`` with LoDoPaB's Poisson noise (4096 photons per bin)."""
    from patchnr.operators.ct.ray_transform import RayTransform

    operator = RayTransform(geometry, backend=backend, device=device)
    return Measurement(operator, PoissonNoise(), simulator=lambda image: clean_sinogram(image, operator, SIMULATION_UPSAMPLE))


def angle_selector(name: str, geometry):
    """A ``Task.prepare_observation``: a full sinogram (every angle) → the rows the geometry keeps."""
    full, kept = tuple(geometry.full_sinogram_shape), tuple(geometry.sinogram_shape)

    def keep_angles(observation: np.ndarray) -> tuple[np.ndarray, str | None]:
        if tuple(observation.shape) != full or full == kept:
            return observation, None
        rows = geometry.kept_rows
        return observation[rows], f"note: full {full} sinogram given; using its rows {rows.start}..{rows.stop - 1}, the angles of {name}"

    return keep_angles


def ct_task(name: str, geometry, recipes: dict[str, Recipe], tv: TVBaseline, epll_lam: float,
            backend: str = "auto", device: str | torch.device = "cpu") -> Task:
    """A LoDoPaB-style CT task on ``geometry`` with the bundled CT prior and example slice."""
    from patchnr.operators.ct.ray_transform import resolve_backend

    resolve_backend(backend, torch.device(device))  # reject a bad backend before any heavy set-up
    return Task(
        name=name,
        build_measurement=lambda: lodopab_measurement(geometry, backend, device),
        shapes=geometry,
        prior_file="priors/ct_lodopab.pt",
        gmm_file="priors/gmm_ct_lodopab.pt",
        example_file="examples/ct_slice.npy",
        recipes=recipes,
        tv=tv,
        epll_lam=epll_lam,
        baseline="fbp",
        prepare_observation=angle_selector(name, geometry),
    )

