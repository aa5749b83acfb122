"""What the superresolution tasks (sr-x4 and the zero-shot ones) share: Gaussian noise σ = 0.01, the
conversion of the paper's λ into this package's units, and the TV baseline of the material images.

λ here is in units of the Gaussian NLL Σ (A x − y)² / (2σ²). The paper's data term is Σ (A x − y)²,
so a paper λ converts by ``paper_lambda`` (÷ 2σ²): its 0.15 is 750 here.
"""

from __future__ import annotations

from patchnr.tasks.settings import TVBaseline

NOISE_STD = 0.01


def paper_lambda(lam: float) -> float:
    """A λ of the paper's term Σ (A x − y)² in units of the Gaussian NLL at σ = ``NOISE_STD`` (also
    converts any other quantity in the paper's objective units, such as Adam's ε)."""
    return lam / (2 * NOISE_STD**2)


MATERIAL_TV = TVBaseline(lam=paper_lambda(7e-4), eps=1e-2, iterations=300)
"""TV on the material images: λ 7e-4 and ε 1e-2 in the paper's units, chosen on img_val_material
(results/lambda_sweep_sr-x4_tv.md)."""

__all__ = ["MATERIAL_TV", "NOISE_STD", "paper_lambda"]
