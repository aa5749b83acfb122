"""patchnr: patch normalizing flows as regularizers for imaging inverse problems.

The method lives in three places: ``PatchFlow`` (patch → latent with log-det, ``flow.py``),
``PatchNR`` (image → mean patch NLL, ``priors/``) and ``Objective`` with its solvers
(``objective.py``, ``solvers/``). Operators (``patchnr.operators``), noise models (``noise.py``),
priors, solvers and tasks (``tasks/``) are separate building blocks.
"""

from patchnr.flows.checkpoint import load_flow, save_flow
from patchnr.errors import CheckpointError, DivergenceError, PatchNRError
from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.physics.measurement import Measurement
from patchnr.metrics import psnr, ssim
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.optim.objective import Objective
from patchnr.patches import PatchPool, extract_patches
from patchnr.priors import EPLL, PatchNR, PatchPrior, PatchSampler, TotalVariation
from patchnr.optim.recipes import Recipe
from patchnr.optim.reconstruct import reconstruct
from patchnr.optim import LBFGS, Adam, Reconstruction
from patchnr.tasks import Task, get_task
from patchnr.flows.train import TrainConfig, train_flow

__version__ = "0.1.0"

__all__ = [
    "Adam", "CheckpointError", "DivergenceError", "EPLL", "FlowConfig", "GaussianNoise", "LBFGS", "Measurement", "Objective",
    "PatchFlow", "PatchNR", "PatchNRError", "PatchPool", "PatchPrior", "PatchSampler", "PoissonNoise", "Recipe",
    "Reconstruction", "Task", "TotalVariation", "TrainConfig", "extract_patches", "get_task", "load_flow", "psnr",
    "reconstruct", "save_flow", "ssim", "train_flow",
]
