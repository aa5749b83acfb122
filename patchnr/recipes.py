"""Solver recipes: λ, iterations, step size and patch counts for a task.

``paper`` reproduces the reference code exactly; ``fast`` is the tuned default (see results/speed.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .solver import Schedule, cosine_schedule, ramp_schedule


@dataclass(frozen=True)
class Recipe:
    """Settings of one reconstruction.

    lam: regularization weight λ. iterations, lr: Adam steps and step size.
    n_patches: patches per iteration (final value when ``patches_start`` ramps up to it).
    padding: reflect padding (pixels) before patch extraction.
    lr_schedule: 'constant' (paper) or 'cosine'. bf16: flow under bfloat16 autocast.
    stratified: patch subsets drawn stratified over the image (lower variance than uniform draws).
    ordered_subsets: one block of the measurement per iteration (``reconstruct``), where the
    operator splits its measurement (CT: interleaved angle blocks of the sparse backend).
    adam_beta2: Adam's second-moment decay (the paper: PyTorch's 0.999).
    """

    lam: float
    iterations: int
    lr: float
    n_patches: int
    padding: int = 0
    lr_schedule: str = "constant"
    patches_start: int | None = None
    bf16: bool = False
    stratified: bool = False
    ordered_subsets: bool = False
    adam_beta2: float = 0.999

    def with_overrides(self, **overrides) -> "Recipe":
        """A copy with the given (non-None) fields replaced."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def learning_rate_schedule(self) -> Schedule | None:
        return cosine_schedule(self.iterations) if self.lr_schedule == "cosine" else None

    def solver_options(self) -> dict:
        """``reconstruct``'s keyword arguments this recipe sets, besides λ, iterations and lr."""
        return {"lr_schedule": self.learning_rate_schedule(), "patch_schedule": self.patch_schedule(),
                "ordered_subsets": self.ordered_subsets, "betas": (0.9, self.adam_beta2)}

    def patch_schedule(self):
        if self.patches_start is None or self.patches_start >= self.n_patches:
            return None
        return ramp_schedule(self.iterations, self.patches_start, self.n_patches)


PAPER_SR_X4 = Recipe(lam=0.15, iterations=300, lr=0.03, n_patches=130_000)
PAPER_CT_LOWDOSE = Recipe(lam=700.0, iterations=300, lr=0.005, n_patches=40_000, padding=4)
PAPER_CT_LIMITED = replace(PAPER_CT_LOWDOSE, iterations=3000)
