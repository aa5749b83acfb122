"""Forward operators (``patchnr.operators``): the contract of ``base.Operator``, one file per operator."""

from patchnr.operators.base import FunctionOperator, Operator, as_operator, initial_guess
from patchnr.operators.bicubic import BicubicDownsample
from patchnr.operators.blur import Blur, blur, load_kernel
from patchnr.operators.inpainting import Inpainting, load_mask, random_mask
from patchnr.operators.superres import GaussianDownsample, gaussian_kernel, superresolution_x4
from patchnr.operators.zeroshot import PaddedDownsample, zero_shot_x2, zero_shot_x4

__all__ = [
    "BicubicDownsample",
    "Blur",
    "Inpainting",
    "PaddedDownsample",
    "blur",
    "load_kernel",
    "load_mask",
    "random_mask",
    "zero_shot_x2",
    "zero_shot_x4",
    "FunctionOperator",
    "GaussianDownsample",
    "Operator",
    "as_operator",
    "gaussian_kernel",
    "initial_guess",
    "superresolution_x4",
]
