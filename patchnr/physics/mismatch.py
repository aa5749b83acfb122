"""Does the forward model explain the data? A check after a solve.

``Measurement.discrepancy(x, y)`` is the noise model's misfit per measurement, about 1 at the true
image (Gaussian: ‖A x − y‖² / (σ² n), whose spread at the truth is √(2/n), tiny for an image).
Measured after patchNR solves (the misfit column of results/deblur.md, inpaint.md, zeroshot.md and
bicubic_degradation.md, from ``benchmarks/problems.py``): with the right operator 0.93 (deblur),
0.29 per known pixel (inpaint), 1.81 (sr-x4 --degradation bicubic on a bicubic-made 256² image,
under-fitted by the fast λ) and 2.72 (zero-shot ×4 after the reference's 60 iterations, barely
moved from its bicubic start); with the wrong one (the bicubic-made image solved with the Gaussian
operator, 10 dB worse than bicubic upsampling) 3.26. ``MISMATCH_THRESHOLD`` = 3 sits between them,
with thin margins on both sides (one image each): residuals about 1.7× the stated noise level on
average. A solver stopped after a few iterations also lands above it.
"""

from __future__ import annotations

import torch

from patchnr.physics.measurement import Measurement

MISMATCH_THRESHOLD = 3.0


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
