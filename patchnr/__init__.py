"""patchnr: patch normalizing flows as regularizers for imaging inverse problems.

One call per capability: ``solve`` (a reconstruction) and ``sample`` (posterior samples), for a
bundled task or the user's own operator and noise model (``patchnr.pipeline``).

The method lives in three places: the flow ``PatchFlow`` (patch → latent with its log-det,
``patchnr.flows``), the patch prior ``PatchNR`` (image → mean patch NLL, ``patchnr.priors``) and the
``Objective`` with its solvers (``patchnr.optim``). Operators (``patchnr.operators``), noise models
(``patchnr.physics``), priors, solvers, samplers (``patchnr.sampling``) and tasks (``patchnr.tasks``)
are separate building blocks; ``patchnr.protocols`` states their contracts.
"""

from patchnr.errors import CheckpointError, DivergenceError, ParameterError, PatchNRError
from patchnr.flows import FlowConfig, PatchFlow, TrainConfig, load_flow, save_flow, train_flow, train_on_observation
from patchnr.metrics import psnr, ssim
from patchnr.optim import LBFGS, Adam, ProgressBar, Reconstruction
from patchnr.optim.objective import Objective
from patchnr.optim.reconstruct import reconstruct
from patchnr.optim.recipes import Recipe
from patchnr.patches import PatchPool, extract_patches
from patchnr.physics import GaussianNoise, Measurement, PoissonNoise, estimate_gaussian_sigma
from patchnr.pipeline import PatchNRWarning, PosteriorResult, SolveResult, sample, simulate_example, solve
from patchnr.priors import EPLL, PatchNR, PatchPrior, PatchSampler, TotalVariation
from patchnr.protocols import NoiseModel, PatchDensity, Prior, Solver
from patchnr.tasks import TASK_NAMES, Task, get_task

__version__ = "0.1.0"

__all__ = [
    "Adam", "CheckpointError", "DivergenceError", "EPLL", "FlowConfig", "GaussianNoise", "LBFGS", "Measurement", "NoiseModel",
    "Objective", "ParameterError", "PatchDensity", "PatchFlow", "PatchNR", "PatchNRError", "PatchNRWarning", "PatchPool",
    "PatchPrior", "PatchSampler", "PoissonNoise", "PosteriorResult", "Prior", "ProgressBar", "Recipe", "Reconstruction",
    "SolveResult", "Solver", "TASK_NAMES", "Task", "TotalVariation", "TrainConfig", "estimate_gaussian_sigma",
    "extract_patches", "get_task", "load_flow", "psnr", "reconstruct", "sample", "save_flow", "simulate_example", "solve",
    "ssim", "train_flow", "train_on_observation",
]
