"""Solvers: minimise an ``Objective`` from an initial image; callbacks observe every iteration."""

from patchnr.optim.adam import Adam
from patchnr.optim.callbacks import Callback, DivergenceGuard, ProgressBar, PSNRHistory, default_callbacks
from patchnr.optim.lbfgs import LBFGS
from patchnr.optim.result import Reconstruction
from patchnr.optim.schedules import Schedule, cosine_schedule

__all__ = ["Adam", "Callback", "DivergenceGuard", "LBFGS", "PSNRHistory", "ProgressBar", "Reconstruction", "Schedule", "cosine_schedule",
           "default_callbacks"]
