"""patchnr: patch normalizing flows as regularizers for imaging inverse problems.

The method lives in three places: ``PatchFlow`` (patch → latent with log-det), ``PatchNR``
(image → mean patch NLL) and ``reconstruct`` (fidelity + λ·prior, minimised with Adam).
"""

from .checkpoint import load_flow, save_flow
from .errors import CheckpointError, DivergenceError, PatchNRError
from .fidelity import GaussianFidelity, PoissonFidelity
from .flow import FlowConfig, PatchFlow
from .metrics import psnr, ssim
from .patches import PatchPool, extract_patches
from .recipes import Recipe
from .regularizer import PatchNR
from .solver import Reconstruction, reconstruct
from .tasks import Task, get_task
from .train import TrainConfig, train_flow

__version__ = "0.1.0"

__all__ = [
    "CheckpointError", "DivergenceError", "FlowConfig", "GaussianFidelity", "PatchFlow", "PatchNR",
    "PatchNRError", "PatchPool", "PoissonFidelity", "Recipe", "Reconstruction", "Task", "TrainConfig",
    "extract_patches", "get_task", "load_flow", "psnr", "reconstruct", "save_flow", "ssim", "train_flow",
]
