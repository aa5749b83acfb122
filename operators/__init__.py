"""Forward operators for patchnr: any differentiable callable x ↦ Ax (see ``operators.base``)."""

from .base import ForwardOperator, initial_guess
from .superres import GaussianDownsample, gaussian_kernel, superresolution_x2_zero_shot, superresolution_x4

__all__ = [
    "ForwardOperator",
    "initial_guess",
    "GaussianDownsample",
    "gaussian_kernel",
    "superresolution_x4",
    "superresolution_x2_zero_shot",
]
