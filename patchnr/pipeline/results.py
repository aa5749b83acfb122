"""What ``solve`` and ``sample`` return."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from patchnr.optim.recipes import Recipe

Image = np.ndarray | torch.Tensor


@dataclass
class SolveResult:
    """One reconstruction (or a batch of them).

    image: the reconstruction, in the observation's layout (2-D in → H×W out, B×C×H×W in → B×C×H×W
        out; a NumPy array for a NumPy observation, else a tensor on the device).
    init: the solver's start, in the same layout (the task's baseline: bicubic, FBP, the adjoint, …).
    lam: λ used (per image for a batch), in units of the noise model's negative log-likelihood.
    misfit: the data misfit per measurement at ``image`` (≈ 1 when the model fits to the noise level).
    seconds: wall-clock of the solves (the λ search included); prior_seconds: of the zero-shot prior's
        training (0 for a stored prior).
    warnings: one-line warnings (an operator mismatch), also issued through ``warnings.warn``.
    notes: one-line facts about what was done (an observation cut to the operator's range, σ estimated).
    recipe: the settings used (its λ the chosen one); noise: the noise model of the data term.
    lam_trials: with ``lam='auto'``, every (λ, misfit per measurement) tried, the final solve last;
        tau: the target misfit of the search.
    psnr_history: with a ground truth, each image's PSNR (dB) after every iteration.
    setups: each image's solved problem (``patchnr.pipeline.map_estimate.Setup``: task, observation, prior,
        recipe, start), for follow-up work such as sampling around this estimate; layout: how images map
        back to the observation's layout (``patchnr.pipeline.problem.Observations``).
    """

    image: Image
    init: Image
    lam: float | list[float]
    misfit: float | list[float]
    seconds: float
    recipe: Recipe
    noise: nn.Module
    prior_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    lam_trials: list[list[tuple[float, float]]] = field(default_factory=list)
    tau: float | None = None
    psnr_history: list[list[float]] = field(default_factory=list)
    setups: list = field(default_factory=list, repr=False)
    layout: object = field(default=None, repr=False)


@dataclass
class PosteriorResult:
    """Pixel-wise statistics of posterior samples, each in the observation's image layout.

    mean, std (K − 1 in the denominator), q05, q95: the 5 % and 95 % quantiles.
    samples: every kept sample, K×C×H×W float32 on the CPU (chain-major).
    step: the Langevin step δ; seconds: wall-clock of the chains; spread_ratio: the std of the later
    half of the samples over that of the earlier half (about 1 once the chains are stationary).
    map: the MAP estimate the chains started from (its ``lam`` is the posterior's λ).
    """

    mean: Image
    std: Image
    q05: Image
    q95: Image
    samples: torch.Tensor
    step: float
    seconds: float
    spread_ratio: float
    map: SolveResult


__all__ = ["PosteriorResult", "SolveResult"]
