"""Baselines for the benchmark: the task's initialisation (bicubic / FBP), total variation, EPLL.

- ``tv``: smoothed isotropic TV with the task's fidelity, solved by L-BFGS (``solve_tv``).
- ``epll``: a Gaussian-mixture patch prior in patchNR's variational solver (``solve_epll``).
Their λ defaults (``TV_DEFAULTS``, ``EPLL_LAMBDA``) were chosen on validation images by
``data_scripts/sweep_lambda.py`` (results/lambda_sweep_*.md).
"""

from .epll import (
    EPLL_LAMBDA, GaussianMixturePrior, GMMSettings, fit_gmm, fit_or_load_gmm, load_gmm, save_gmm, solve_epll, task_gmm,
)
from .tv import TV_DEFAULTS, TotalVariation, TVSettings, solve_tv

__all__ = [
    "EPLL_LAMBDA", "GMMSettings", "GaussianMixturePrior", "TVSettings", "TV_DEFAULTS", "TotalVariation",
    "fit_gmm", "fit_or_load_gmm", "load_gmm", "save_gmm", "solve_epll", "solve_tv", "task_gmm",
]
