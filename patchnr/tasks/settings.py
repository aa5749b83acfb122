"""What a task declares besides its measurement: recipes, baseline settings and bundled assets, as frozen data."""

from __future__ import annotations

from dataclasses import dataclass

from patchnr.optim.recipes import Recipe


@dataclass(frozen=True)
class TVBaseline:
    """Total variation solved by L-BFGS: lam (in units of the data term, per pixel sum of TV_ε),
    eps: TV smoothing in image units, iterations: L-BFGS iterations."""

    lam: float
    eps: float = 1e-3
    iterations: int = 300


@dataclass(frozen=True)
class TaskAssets:
    """A task's bundled files (``bundled_file`` names): the patchNR prior, the EPLL Gaussian mixture
    and an example ground truth. Empty prior and mixture names: none is bundled (a zero-shot task
    trains its prior on the observation); example None: no example."""

    prior_file: str
    gmm_file: str
    example_file: str | None


@dataclass(frozen=True)
class TaskSettings:
    """The declared settings of a task.

    name: its registry key. paper: the reference code's recipe; fast: the default recipe.
    tv, epll_lam: the TV and EPLL baselines' settings, λ in units of the data term (the noise
    model's negative log-likelihood). baseline: the method key of the initialisation ('bicubic',
    'fbp', 'wiener', 'fill', 'initialisation'). assets: the bundled files.
    patch_size: the patch size (pixels) the recipes' λ is calibrated for.
    discrepancy_target: the τ of ``--lam auto`` where the task's own validation chose one; None: the
    noise model's default (``lambda_search.default_tau``).
    """

    name: str
    paper: Recipe
    fast: Recipe
    tv: TVBaseline
    epll_lam: float
    baseline: str
    assets: TaskAssets
    patch_size: int = 6
    discrepancy_target: float | None = None

    @property
    def recipes(self) -> dict[str, Recipe]:
        """The recipes by name: 'paper' and 'fast' (a new dict on each access)."""
        return {"paper": self.paper, "fast": self.fast}


__all__ = ["TVBaseline", "TaskAssets", "TaskSettings"]
