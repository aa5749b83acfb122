"""Limited-angle CT: LoDoPaB's geometry with angles 100..899 of 1000 kept (a 144° arc, 36° missing).

λ is in units of the Poisson NLL of the counts, as in the paper.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from patchnr.optim.recipes import Recipe
from patchnr.tasks.base import Task
from patchnr.tasks.ct_common import ct_task
from patchnr.tasks.ct_lowdose import PAPER as PAPER_LOWDOSE, TV

NAME = "ct-limited"

PAPER = replace(PAPER_LOWDOSE, iterations=3000)
# Tuned on the validation slices 34 and 66 only (results/tuning.md): the low-dose levers (ordered
# subsets, stratified draws, β2 0.9), a 3× larger step and 300 iterations.
FAST = Recipe(lam=1500.0, iterations=300, lr=0.03, n_patches=20_000, padding=4, lr_schedule="cosine", bf16=True,
              stratified=True, ordered_subsets=True, adam_beta2=0.9)
EPLL_LAM = 1200.0  # the ct-lowdose sweep's best λ of the 200-iteration recipe; not swept for limited angle


def make_task(backend: str = "auto", device: str | torch.device = "cpu", geometry=None) -> Task:
    """The task with its ray transform on ``device``; LoDoPaB's limited-angle geometry unless given."""
    from patchnr.operators.ct.ray_transform import limited_angle_geometry

    return ct_task(NAME, geometry or limited_angle_geometry(), {"paper": PAPER, "fast": FAST}, TV, EPLL_LAM, backend, device)
