"""Solver recipes: λ, iterations, step size and patch sampling of a patch-prior reconstruction.

Each task file holds its recipes: ``paper`` reproduces the reference code's settings, ``fast`` is
the tuned default (results/speed.md). λ is in units of the task's data term (its noise model's
negative log-likelihood).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from patchnr.optim import Adam
from patchnr.optim.schedules import cosine_schedule
from patchnr.priors import PatchSampler

SOLVER_LR_FLOOR = 0.05  # the cosine schedule's final fraction of lr


@dataclass(frozen=True)
class Recipe:
    """Settings of one reconstruction with a patch prior and Adam.

    lam: regularization weight λ. iterations, lr: Adam steps and step size.
    n_patches: patches per iteration; padding: reflect padding (pixels) before patch extraction.
    lr_schedule: 'constant' (paper) or 'cosine'. bf16: flow under bfloat16 autocast.
    stratified: patch subsets drawn stratified over the image (lower variance than uniform draws).
    ordered_subsets: one block of the measurement per iteration, where the operator splits its
    measurement (CT: interleaved angle blocks of the sparse backend).
    adam_beta2: Adam's second-moment decay (the paper: PyTorch's 0.999).
    adam_eps: Adam's ε, in gradient units of the data term (PyTorch's 1e-8 on the paper's data term;
    a task whose data term is the paper's times c sets 1e-8·c, so that Adam takes the same steps).
    """

    lam: float
    iterations: int
    lr: float
    n_patches: int
    padding: int = 0
    lr_schedule: str = "constant"
    bf16: bool = False
    stratified: bool = False
    ordered_subsets: bool = False
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8

    def with_overrides(self, **overrides) -> "Recipe":
        """A copy with the given (non-None) fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def solver(self) -> Adam:
        """The Adam solver these settings describe (cosine: lr decays to ``SOLVER_LR_FLOOR`` of itself)."""
        schedule = cosine_schedule(self.iterations, SOLVER_LR_FLOOR) if self.lr_schedule == "cosine" else None
        return Adam(self.iterations, self.lr, schedule, (0.9, self.adam_beta2), self.adam_eps)

    def sampler(self, patch_size: int, generator: torch.Generator | None = None) -> PatchSampler:
        """The patch sampler these settings describe."""
        return PatchSampler(patch_size, self.n_patches, self.padding, self.stratified, generator)
