"""How well posterior uncertainty maps match the actual error, against a known ground truth."""

from __future__ import annotations

import numpy as np


def interval_coverage(low: np.ndarray, high: np.ndarray, truth: np.ndarray) -> float:
    """The fraction of pixels whose true value lies in [low, high] (0.9 expected of a 90 % interval)."""
    truth = np.asarray(truth)
    return float(np.mean((np.asarray(low) <= truth) & (truth <= np.asarray(high))))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two maps of the same shape (e.g. std against |error|)."""
    from scipy.stats import spearmanr

    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


def calibration(summary: dict[str, np.ndarray], truth: np.ndarray) -> dict[str, float]:
    """coverage of the 5–95 % interval, the std–|mean − truth| rank correlation, and the mean std and
    RMSE of the mean (image units) for a ``PosteriorSamples.summary`` and a truth of the same shape."""
    error = np.abs(summary["mean"] - truth)
    return {
        "coverage_90": interval_coverage(summary["q05"], summary["q95"], truth),
        "spearman_std_error": rank_correlation(summary["std"], error),
        "mean_std": float(summary["std"].mean()),
        "rmse": float(np.sqrt(np.mean(error**2))),
    }
