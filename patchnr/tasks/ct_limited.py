"""Limited-angle CT: LoDoPaB's geometry with angles 100..899 of 1000 kept (a 144° arc, 36° missing).

λ is in units of the Poisson NLL of the counts, as in the paper.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from patchnr.optim.recipes import Recipe
from patchnr.tasks.assets import LODOPAB_CT
from patchnr.tasks.base import Task
from patchnr.tasks.ct_common import LODOPAB_PAPER, LODOPAB_TV, ct_task
from patchnr.tasks.registry import register_task
from patchnr.tasks.settings import TaskSettings

# Chosen on the validation slices 34 and 66 (results/tuning.md): ct-lowdose's fast settings (ordered
# subsets, stratified draws, β2 0.9) with a 3× larger step and 300 iterations.
FAST = Recipe(lam=1500.0, iterations=300, lr=0.03, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True,
              stratified=True, ordered_subsets=True, adam_beta2=0.9)

SETTINGS = TaskSettings(
    name="ct-limited",
    paper=replace(LODOPAB_PAPER, iterations=3000),
    fast=FAST,
    tv=LODOPAB_TV,
    epll_lam=1200.0,  # ct-lowdose's best λ for the 200-iteration recipe; not swept for limited angle
    baseline="fbp",
    assets=LODOPAB_CT,
)


@register_task(SETTINGS.name)
def make_task(backend: str = "auto", device: str | torch.device = "cpu", geometry=None) -> Task:
    """The task with its ray transform on ``device``; LoDoPaB's limited-angle geometry unless given."""
    from patchnr.operators.ct.ray_transform import limited_angle_geometry

    return ct_task(SETTINGS, geometry or limited_angle_geometry(), backend, device)
