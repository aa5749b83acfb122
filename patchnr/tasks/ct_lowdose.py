"""Low-dose CT on LoDoPaB's geometry (362², 1000 angles, 513 bins) and noise (4096 photons per bin).

λ is in units of the Poisson NLL of the counts, as in the paper.
"""

from __future__ import annotations

import torch

from patchnr.optim.recipes import Recipe
from patchnr.tasks.assets import LODOPAB_CT
from patchnr.tasks.base import Task
from patchnr.tasks.ct_common import LODOPAB_PAPER, LODOPAB_TV, ct_task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TaskSettings

# Chosen on validation slices (results/tuning.md): ordered subsets over 10 angle blocks, stratified
# patch draws, Adam β2 0.9, 150 iterations.
FAST = Recipe(lam=1300.0, iterations=150, lr=0.01, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True,
              stratified=True, ordered_subsets=True, adam_beta2=0.9)

SETTINGS = TaskSettings(
    name="ct-lowdose",
    paper=LODOPAB_PAPER,
    fast=FAST,
    tv=LODOPAB_TV,
    epll_lam=700.0,  # chosen on validation slices: results/sweeps_ct_lowdose_subsets/lambda_sweep_ct-lowdose_epll.md
    baseline="fbp",
    assets=LODOPAB_CT,
)


@register_task(SETTINGS.name)
def make_task(backend: str = "auto", device: str | torch.device = "cpu", geometry=None) -> Task:
    """The task with its ray transform on ``device`` (``backend``: see ``operators.ct``); LoDoPaB's geometry unless given."""
    from patchnr.operators.ct.ray_transform import lodopab_geometry

    return ct_task(SETTINGS, geometry or lodopab_geometry(), backend, device)
