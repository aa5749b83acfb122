"""Solvers: minimise an ``Objective`` from an initial image; callbacks observe every iteration."""

from .adam import Adam
from .callbacks import Callback, DivergenceGuard, ProgressBar, PSNRHistory, default_callbacks
from .lbfgs import LBFGS
from .result import Reconstruction, cosine_schedule

__all__ = ["Adam", "Callback", "DivergenceGuard", "LBFGS", "PSNRHistory", "ProgressBar", "Reconstruction", "cosine_schedule",
           "default_callbacks"]
