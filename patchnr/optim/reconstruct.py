"""One call from an observation to a reconstruction: objective, initialisation, solver, callbacks."""

from __future__ import annotations

import torch
from torch import nn

from patchnr.physics.measurement import Measurement
from patchnr.optim.objective import Objective
from patchnr.operators.base import initial_guess
from patchnr.optim import Reconstruction, default_callbacks
from patchnr.protocols import Solver


def reconstruct(
    measurement: Measurement,
    observation: torch.Tensor,
    prior: nn.Module,
    lam: float,
    solver: Solver,
    init: torch.Tensor | None = None,
    ground_truth: torch.Tensor | None = None,
    ordered_subsets: bool = False,
    progress: bool = True,
) -> Reconstruction:
    """Minimise D(A x; y) + λ · prior(x) with ``solver`` from ``init`` (default: the operator's
    pseudo-inverse, else its adjoint), with the default callbacks (divergence guard, a progress bar
    when ``progress``, the PSNR history when a B×C×H×W ``ground_truth`` is given)."""
    objective = Objective(measurement, observation, prior, lam, ordered_subsets)
    start = initial_guess(measurement.operator, observation) if init is None else init
    return solver.solve(objective, start, default_callbacks(progress, ground_truth))
