"""patchnr: patch normalizing flows as regularizers for imaging inverse problems.

The method lives in three places: ``PatchFlow`` (patch → latent with log-det, ``flow.py``),
``PatchNR`` (image → mean patch NLL, ``priors/``) and ``Objective`` with its solvers
(``objective.py``, ``solvers/``). Operators (``patchnr.operators``), noise models (``noise.py``),
priors, solvers and tasks (``tasks/``) are separate building blocks.
"""

from .checkpoint import load_flow, save_flow
from .errors import CheckpointError, DivergenceError, PatchNRError
from .flow import FlowConfig, PatchFlow
from .measurement import Measurement
from .metrics import psnr, ssim
from .noise import GaussianNoise, PoissonNoise
from .objective import Objective
from .patches import PatchPool, extract_patches
from .priors import EPLL, PatchNR, PatchPrior, PatchSampler, TotalVariation
from .recipes import Recipe
from .reconstruct import reconstruct
from .solvers import LBFGS, Adam, Reconstruction
from .tasks import Task, get_task
from .train import TrainConfig, train_flow

__version__ = "0.1.0"

__all__ = [
    "Adam", "CheckpointError", "DivergenceError", "EPLL", "FlowConfig", "GaussianNoise", "LBFGS", "Measurement", "Objective",
    "PatchFlow", "PatchNR", "PatchNRError", "PatchPool", "PatchPrior", "PatchSampler", "PoissonNoise", "Recipe",
    "Reconstruction", "Task", "TotalVariation", "TrainConfig", "extract_patches", "get_task", "load_flow", "psnr",
    "reconstruct", "save_flow", "ssim", "train_flow",
]
