"""Does the forward model explain the data? A check after a solve.

``Measurement.discrepancy(x, y)`` is the noise model's misfit per measurement, about 1 at the true
image (Gaussian: ‖A x − y‖² / (σ² n)). A regularised solution fits the data slightly less well
than the truth (measured on the bundled tasks: 0.9-1.6, results/mismatch.md), so the misfit stays
near 1 when operator and noise model are right. ``MISMATCH_THRESHOLD`` = 4 means residuals twice
the stated noise level on average (Gaussian: an RMS of 2σ): no solution of a well-posed problem
sits there, while a wrong degradation (a bicubic-resized image solved with the Gaussian operator)
lands far above it.
"""

from __future__ import annotations

import torch

from .measurement import Measurement

MISMATCH_THRESHOLD = 4.0


def operator_mismatch(measurement: Measurement, image: torch.Tensor, observation: torch.Tensor,
                      threshold: float = MISMATCH_THRESHOLD) -> str | None:
    """A one-line warning when the misfit per measurement of ``image`` against ``observation`` exceeds
    ``threshold`` (the operator probably does not match how the data were made); else ``None``."""
    misfit = measurement.discrepancy(image, observation)
    if misfit <= threshold:
        return None
    return (f"the data misfit is {misfit:.1f}× the stated noise level's (expected ≈ 1, threshold {threshold:g}): "
            f"the operator or the noise level probably does not match how the data were made")


__all__ = ["MISMATCH_THRESHOLD", "operator_mismatch"]
