"""What the CT tasks share: LoDoPaB's measurement (ray transform, Poisson noise of 4096 photons per
bin, observations simulated on a 2× finer grid), the paper's recipe and the TV baseline, and the
observation checks of a geometry that may keep only some angles.

λ is in units of the Poisson NLL of the counts, as in the paper.
"""

from __future__ import annotations

import numpy as np
import torch

from patchnr.operators.ct.lodopab import clean_sinogram
from patchnr.optim.recipes import Recipe
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import PoissonNoise
from patchnr.tasks.base import Task
from patchnr.tasks.settings import TVBaseline, TaskSettings

SIMULATION_UPSAMPLE = 2  # observations are simulated on a 2× finer grid (no inverse crime), as LoDoPaB did

LODOPAB_PAPER = Recipe(lam=700.0, iterations=300, lr=0.005, n_patches=40_000, padding=4)
"""The paper's low-dose recipe (ct-limited runs it for 3000 iterations)."""

LODOPAB_TV = TVBaseline(lam=30.0, eps=5e-3, iterations=100)
"""TV, chosen on ct-lowdose's validation slices (results/lambda_sweep_ct-lowdose_tv.md)."""


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


def ct_task(settings: TaskSettings, geometry, backend: str = "auto", device: str | torch.device = "cpu") -> Task:
    """A LoDoPaB-style CT task on ``geometry`` (a ``CTGeometry``) with its ray transform on ``device``
    (``backend``: see ``operators.ct``; a bad one is refused here, before any heavy set-up)."""
    from patchnr.operators.ct.ray_transform import resolve_backend

    resolve_backend(backend, torch.device(device))
    return Task(settings, build_measurement=lambda: lodopab_measurement(geometry, backend, device), shapes=geometry,
                prepare_observation=angle_selector(settings.name, geometry))
