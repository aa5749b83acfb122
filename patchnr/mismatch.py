"""Does the forward model explain the data? A check after a solve.

``Measurement.discrepancy(x, y)`` is the noise model's misfit per measurement, about 1 at the true
image (Gaussian: ‖A x − y‖² / (σ² n), whose spread at the truth is √(2/n), tiny for an image). A
regularised solution fits the data about as well as the truth when operator and noise model are
right (the misfit column of the tables that ``benchmarks/problems.py`` writes to results/).
``MISMATCH_THRESHOLD`` = 4 means residuals twice the stated noise level on average (Gaussian: an
RMS of 2σ), which a solution of a correctly modelled problem does not reach, while a wrong
degradation (a bicubic-resized image solved with the Gaussian operator) lands far above it.
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
            f"the operator or the noise level probably does not match how the data were made (or the solver stopped early)")


__all__ = ["MISMATCH_THRESHOLD", "operator_mismatch"]
