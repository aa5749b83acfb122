"""Image quality metrics via scikit-image.

Convention: the data range is that of the ground truth, ``gt.max() − gt.min()`` (as in LoDoPaB
evaluations); metrics are computed on the full 2-D image, channels averaged for SSIM.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity


def _as_2d(image: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu().numpy()
    return np.asarray(image, dtype=np.float64).squeeze()


def psnr(image: np.ndarray | torch.Tensor, ground_truth: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB, data range = ground-truth max − min (NaN for a constant ground truth)."""
    gt = _as_2d(ground_truth)
    if gt.max() == gt.min():
        return float("nan")
    return float(peak_signal_noise_ratio(gt, _as_2d(image), data_range=float(gt.max() - gt.min())))


def ssim(image: np.ndarray | torch.Tensor, ground_truth: np.ndarray | torch.Tensor) -> float:
    """Structural similarity (scikit-image defaults, 7×7 window), data range = ground-truth max − min
    (NaN for a constant ground truth)."""
    gt = _as_2d(ground_truth)
    if gt.max() == gt.min():
        return float("nan")
    return float(structural_similarity(gt, _as_2d(image), data_range=float(gt.max() - gt.min())))


def quality_summary(image: np.ndarray | torch.Tensor, ground_truth: np.ndarray | torch.Tensor) -> str:
    """``'PSNR  31.20 dB  SSIM 0.8731'``; ``'PSNR n/a  SSIM n/a (constant ground truth)'`` when the
    ground truth has no data range to measure against."""
    gt = _as_2d(ground_truth)
    if gt.max() == gt.min():
        return "PSNR n/a  SSIM n/a (constant ground truth)"
    return f"PSNR {psnr(image, gt):6.2f} dB  SSIM {ssim(image, gt):.4f}"
