"""Low-dose CT on LoDoPaB's geometry (362², 1000 angles, 513 bins) and noise (4096 photons per bin).

λ is in units of the Poisson NLL of the counts, as in the paper.
"""

from __future__ import annotations

import torch

from patchnr.optim.recipes import Recipe
from patchnr.tasks.base import Task, TVBaseline
from patchnr.tasks.ct_common import ct_task

NAME = "ct-lowdose"

PAPER = Recipe(lam=700.0, iterations=300, lr=0.005, n_patches=40_000, padding=4)
# Tuned on validation slices only (results/tuning.md): ordered subsets over 10 angle blocks,
# stratified patch draws and Adam β2 0.9; 150 iterations.
FAST = Recipe(lam=1300.0, iterations=150, lr=0.01, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True,
              stratified=True, ordered_subsets=True, adam_beta2=0.9)
# Baselines, chosen on the validation slices: results/lambda_sweep_ct-lowdose_tv.md (λ 30) and
# results/sweeps_ct_lowdose_subsets/lambda_sweep_ct-lowdose_epll.md (λ 700).
TV = TVBaseline(lam=30.0, eps=5e-3, iterations=100)
EPLL_LAM = 700.0


def make_task(backend: str = "auto", device: str | torch.device = "cpu", geometry=None) -> Task:
    """The task with its ray transform on ``device`` (``backend``: see ``operators.ct``); LoDoPaB's geometry unless given."""
    from patchnr.operators.ct.ray_transform import lodopab_geometry

    return ct_task(NAME, geometry or lodopab_geometry(), {"paper": PAPER, "fast": FAST}, TV, EPLL_LAM, backend, device)
