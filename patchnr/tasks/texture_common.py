"""What the texture tasks (deblur, inpaint) share: the bundled lentils prior, mixture and example,
and recipes that differ only in λ (in units of the task's Gaussian NLL):

- ``paper``: 60 000 patches per iteration, 300 iterations at Adam lr 0.01;
- ``fast`` (the default): 30 000 patches, 150 iterations at lr 0.01 cosine-decayed, bf16 flow.
"""

from __future__ import annotations

from patchnr.optim.recipes import Recipe
from patchnr.tasks.assets import LENTILS
from patchnr.tasks.settings import TaskSettings, TVBaseline


def texture_settings(name: str, lam: float, tv: TVBaseline, epll_lam: float, baseline: str,
                     discrepancy_target: float) -> TaskSettings:
    """A texture task's settings: the recipes at patchNR's ``lam``, the baselines' ``tv`` and
    ``epll_lam``, the initialisation ``baseline`` and the τ of ``--lam auto``."""
    return TaskSettings(
        name=name,
        paper=Recipe(lam=lam, iterations=300, lr=0.01, n_patches=60_000),
        fast=Recipe(lam=lam, iterations=150, lr=0.01, n_patches=30_000, lr_schedule="cosine", bf16=True),
        tv=tv,
        epll_lam=epll_lam,
        baseline=baseline,
        assets=LENTILS,
        discrepancy_target=discrepancy_target,
    )


__all__ = ["texture_settings"]
