"""EPLL baseline: a Gaussian-mixture model (GMM) of s×s patches used as a patch prior.

As in the paper's comparison, the GMM replaces the flow inside the same variational solver
(``patchnr.solver.reconstruct``, Adam, the task's recipe): the regularizer of an image is the mean
negative log-likelihood of N_p random patches, −log Σ_k π_k N(p; μ_k, Σ_k), exactly the interface of
``PatchNR``. (Zoran & Weiss' half-quadratic splitting is not used.)

Fitting (``GMMSettings`` defaults): 200 components with full covariances on 6×6 patches (raw
patches, the DC component is kept, so the model is a proper density of patches), EM by
scikit-learn's ``GaussianMixture`` (k-means initialisation, ``max_iter`` 100, ``reg_covar`` 1e-6
added to the covariances' diagonals) on ``n_samples`` = 60 000 patches drawn uniformly (seeded) from
all patch positions of the training images: the patchNR prior's own training images
(``TRAINING_IMAGES``). Fitted models are cached as tensors-only files (``torch.save`` of a dict of
tensors, loadable with ``weights_only=True``) under ``runs_dir()/epll``, named by their settings
and a hash of the training images, and re-used by ``fit_or_load_gmm``.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import PatchNRError
from ..io import atomic_path, load_image
from ..patches import PatchPool, patches_per_image
from ..recipes import Recipe
from ..solver import Reconstruction, reconstruct

GMM_KEYS = ("weights", "means", "precisions_cholesky")

# sr-x4: λ chosen on the validation image (img_val_material, 600×600, fast recipe):
# results/lambda_sweep_sr-x4_epll.md (28.49 dB at λ = 0.25 against bicubic's 25.81 dB).
# ct-lowdose: chosen on validation slices 34 and 66 with the fast solver recipe of session 4 (subsets,
# stratified draws, β2 0.9, 120 iterations): results/sweeps_session4/ (41.49 dB at λ = 700; 900/1200/
# 1600/500 gave 41.34/41.00/40.54/41.19). With the former 200-iteration recipe λ = 1200 was best
# (results/lambda_sweep_ct-lowdose_epll.md); λ 700 was kept, not re-swept, when the recipe went to 150
# iterations in session 5. ct-limited, whose recipe did not change, keeps 1200.
EPLL_LAMBDA: dict[str, float] = {"sr-x4": 0.25, "ct-lowdose": 700.0, "ct-limited": 1200.0}

_SR_TRAIN = str(Path(os.environ.get("PATCHNR_SHARED") or Path(__file__).resolve().parents[3] / "shared") / "data/sr/material/img_learn_material.png")
_CT_TRAIN = "ct_data/train/*.npy"  # relative to runs_dir(), written by the CT data script
TRAINING_IMAGES: dict[str, str] = {"sr-x4": _SR_TRAIN, "ct-lowdose": _CT_TRAIN, "ct-limited": _CT_TRAIN}


@dataclass(frozen=True)
class GMMSettings:
    """n_components: mixture size K; patch_size: s (patches are s·s vectors); n_samples: training
    patches; max_iter: EM iterations; reg_covar: diagonal added to covariances; seed: sampling and init."""

    n_components: int = 200
    patch_size: int = 6
    n_samples: int = 60_000
    max_iter: int = 100
    reg_covar: float = 1e-6
    seed: int = 0

    def file_name(self, data_hash: str) -> str:
        return f"gmm_K{self.n_components}_p{self.patch_size}_n{self.n_samples}_it{self.max_iter}_r{self.reg_covar:g}_s{self.seed}_{data_hash}.pt"


def runs_dir() -> Path:
    """``$PATCHNR_RUNS``, else the repository's ``runs/`` folder (outside the package)."""
    return Path(os.environ.get("PATCHNR_RUNS") or Path(__file__).resolve().parents[2] / "runs")


def training_images(task_name: str) -> list[Path]:
    """The patchNR prior's training images of a task; ``PatchNRError`` when none are on disk."""
    pattern = TRAINING_IMAGES[task_name]
    base = Path(pattern) if Path(pattern).is_absolute() else runs_dir() / pattern
    paths = sorted(base.parent.glob(base.name))
    if not paths:
        raise PatchNRError(f"EPLL for {task_name}: no training images at {base}")
    return paths


def images_hash(images: list[np.ndarray]) -> str:
    """Short SHA-256 of the images' shapes and float32 values."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(str(image.shape).encode() + np.ascontiguousarray(image, dtype=np.float32).tobytes())
    return digest.hexdigest()[:12]


class GaussianMixturePrior(nn.Module):
    """EPLL regularizer: images B×C×H×W → mean over N_p random patches of −log p_GMM(patch), shape (B,).

    Args:
        gmm: dict with 'weights' (K,), 'means' (K, d), 'precisions_cholesky' (K, d, d) such that the
            precision is L Lᵀ (scikit-learn's convention), d = C·s·s.
        n_patches, padding, generator, stratified: as in ``PatchNR``.
        chunk: patches per block (bounds memory at about chunk·K·d floats).
    """

    def __init__(self, gmm: dict[str, torch.Tensor], n_patches: int | None = None, padding: int = 0,
                 generator: torch.Generator | None = None, chunk: int = 1024, stratified: bool = False):
        super().__init__()
        weights, means, cholesky = (gmm[key].detach().to(torch.float32) for key in GMM_KEYS)
        k, d = means.shape
        self.patch_size = math.isqrt(d)
        log_det = torch.log(torch.diagonal(cholesky, dim1=1, dim2=2)).sum(1)
        self.register_buffer("log_const", torch.log(weights) + log_det - 0.5 * d * math.log(2 * math.pi))  # (K,)
        self.register_buffer("cholesky", cholesky.permute(1, 0, 2).reshape(d, k * d))  # y = p @ this
        self.register_buffer("shift", torch.einsum("kd,kde->ke", means, cholesky).reshape(k * d))  # μ_k L_k
        self.register_buffer("cholesky_t", cholesky.transpose(1, 2).reshape(k * d, d))  # y_k ↦ y_k L_kᵀ
        self.n_patches, self.padding, self.generator, self.chunk = n_patches, padding, generator, chunk
        self.stratified = stratified

    def patch_nll(self, patches: torch.Tensor) -> torch.Tensor:
        """−log p(patch) for patches (P, d), shape (P,); differentiable (analytic gradient, low memory)."""
        return _MixtureNLL.apply(patches, self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected images B×C×H×W, got shape {tuple(images.shape)}")
        patches = patches_per_image(images, self.patch_size, self.n_patches, self.padding, self.generator, self.stratified)
        return self.patch_nll(patches).view(images.shape[0], -1).mean(1)

    def nll_and_gradient(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(−log p, ∂/∂p) per patch: −log Σ_k e^{l_k}, gradient Σ_k r_k (p − μ_k) Λ_k with
        l_k = c_k − ½‖y_k‖², y_k = (p − μ_k) L_k, responsibilities r = softmax(l); one pass over blocks."""
        k = self.log_const.numel()
        out_nll, out_grad = [], []
        for block in patches.split(self.chunk):
            y = (block.to(self.cholesky.dtype) @ self.cholesky - self.shift).view(len(block), k, -1)
            log_p = self.log_const - 0.5 * y.square().sum(2)  # (P, K)
            top = log_p.max(1, keepdim=True).values
            resp = torch.exp(log_p - top)
            total = resp.sum(1, keepdim=True)
            gradient = (y * (resp / total)[..., None]).reshape(len(block), -1) @ self.cholesky_t
            out_nll.append(-(top + torch.log(total)).squeeze(1))
            out_grad.append(gradient)
        return torch.cat(out_nll).to(patches.dtype), torch.cat(out_grad).to(patches.dtype)


class _MixtureNLL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, patches: torch.Tensor, prior: GaussianMixturePrior) -> torch.Tensor:
        with torch.no_grad():
            nll, gradient = prior.nll_and_gradient(patches)
        ctx.save_for_backward(gradient)
        return nll

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (gradient,) = ctx.saved_tensors
        return grad_output[:, None] * gradient, None


def fit_gmm(images: list[np.ndarray], settings: GMMSettings = GMMSettings(), threads: int | None = 1) -> dict[str, torch.Tensor]:
    """EM fit (scikit-learn, full covariances) on random patches of 2-D images; a dict of tensors.

    ``threads`` caps BLAS/OpenMP threads during the fit (1 by default: multi-threaded k-means/EM
    slowed down 20–50× on a shared 2-core machine; ``None`` leaves them alone).
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    pool = PatchPool([torch.from_numpy(np.asarray(img, dtype=np.float32))[None] for img in images], settings.patch_size)
    patches = pool.sample(settings.n_samples, torch.Generator().manual_seed(settings.seed)).double().numpy()
    model = GaussianMixture(settings.n_components, covariance_type="full", max_iter=settings.max_iter,
                            reg_covar=settings.reg_covar, random_state=settings.seed)
    with threadpool_limits(limits=threads):
        model.fit(patches)
    return {
        "weights": torch.from_numpy(model.weights_), "means": torch.from_numpy(model.means_),
        "precisions_cholesky": torch.from_numpy(model.precisions_cholesky_),
        "settings": torch.tensor(astuple(settings), dtype=torch.float64),
        "converged": torch.tensor(bool(model.converged_)), "lower_bound": torch.tensor(float(model.lower_bound_)),
    }


def load_gmm(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A saved GMM (tensors only); ``PatchNRError`` if missing or malformed."""
    try:
        gmm = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # missing, truncated or pickled file
        raise PatchNRError(f"{path}: cannot load GMM ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None
    if not isinstance(gmm, dict) or any(not isinstance(gmm.get(key), torch.Tensor) for key in GMM_KEYS):
        raise PatchNRError(f"{path}: not a GMM file (needs tensors {', '.join(GMM_KEYS)})")
    return gmm


def save_gmm(path: str | os.PathLike, gmm: dict[str, torch.Tensor]) -> None:
    with atomic_path(path) as temporary:
        torch.save({key: value.detach().cpu() for key, value in gmm.items()}, temporary)


def fit_or_load_gmm(images: list[np.ndarray], settings: GMMSettings = GMMSettings(), folder: Path | None = None) -> tuple[dict[str, torch.Tensor], Path]:
    """The GMM of these images and settings from ``folder`` (default ``runs_dir()/epll``), fitted and saved if absent."""
    path = (folder or runs_dir() / "epll") / settings.file_name(images_hash(images))
    if path.is_file():
        return load_gmm(path), path
    gmm = fit_gmm(images, settings)
    save_gmm(path, gmm)
    return gmm, path


def task_gmm_path(task_name: str, settings: GMMSettings = GMMSettings()) -> Path:
    """Where the task's default GMM lives (it may not be fitted yet)."""
    images = [load_image(path) for path in training_images(task_name)]
    return runs_dir() / "epll" / settings.file_name(images_hash(images))


def task_gmm(task_name: str, settings: GMMSettings = GMMSettings()) -> tuple[dict[str, torch.Tensor], Path]:
    """Fit-or-load the GMM on the task's patchNR training images (``TRAINING_IMAGES``)."""
    return fit_or_load_gmm([load_image(path) for path in training_images(task_name)], settings)


def solve_epll(
    observation: torch.Tensor, operator: nn.Module, fidelity: nn.Module, gmm: dict[str, torch.Tensor], recipe: Recipe,
    init: torch.Tensor, seed: int = 0, ground_truth: torch.Tensor | None = None, progress: bool = False,
) -> Reconstruction:
    """``reconstruct`` with the GMM prior in place of patchNR: λ = ``recipe.lam``, the recipe's
    iterations, step size, schedules, patch count and padding (set λ with ``recipe.with_overrides``)."""
    prior = GaussianMixturePrior(gmm, recipe.n_patches, recipe.padding, torch.Generator().manual_seed(seed), stratified=recipe.stratified)
    return reconstruct(
        observation, operator, fidelity, prior.to(init.device), recipe.lam, init, recipe.iterations, recipe.lr,
        ground_truth=ground_truth, progress=progress, **recipe.solver_options(),
    )
