"""Forward operators (``patchnr.operators``): the contract of ``base.Operator``, one file per operator."""

from .base import FunctionOperator, Operator, as_operator, initial_guess
from .superres import GaussianDownsample, gaussian_kernel, superresolution_x2_zero_shot, superresolution_x4

__all__ = [
    "FunctionOperator",
    "GaussianDownsample",
    "Operator",
    "as_operator",
    "gaussian_kernel",
    "initial_guess",
    "superresolution_x2_zero_shot",
    "superresolution_x4",
]
