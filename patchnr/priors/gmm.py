"""EPLL: the patch prior whose density is a Gaussian mixture model (GMM) of s×s patches.

As in the paper's comparison, the mixture replaces the flow inside the same patch prior and solver
(Zoran & Weiss' half-quadratic splitting is not used). A GMM is a dict of tensors: 'weights' (K,),
'means' (K, d), 'precisions_cholesky' (K, d, d) with precision L Lᵀ (scikit-learn's convention),
d = C·s·s. ``fit_gmm`` fits one by EM (scikit-learn); files are tensors only (``weights_only``).
"""

from __future__ import annotations

import math
import os
from dataclasses import astuple, dataclass

import numpy as np
import torch
from torch import nn

from patchnr.errors import PatchNRError
from patchnr.io.images import atomic_path
from patchnr.patches import PatchPool
from patchnr.priors.patch_prior import PatchPrior, PatchSampler

GMM_KEYS = ("weights", "means", "precisions_cholesky")


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


class GaussianMixtureDensity(nn.Module):
    """−log Σ_k π_k N(p; μ_k, Σ_k) for patches (N, d), shape (N,); analytic gradient, low memory.

    chunk: patches per block (bounds memory at about chunk·K·d floats). Computed in float32.
    """

    def __init__(self, gmm: dict[str, torch.Tensor], chunk: int = 1024):
        super().__init__()
        weights, means, cholesky = (gmm[key].detach().to(torch.float32) for key in GMM_KEYS)
        k, d = means.shape
        self.patch_size = math.isqrt(d)
        self.channels = 1
        log_det = torch.log(torch.diagonal(cholesky, dim1=1, dim2=2)).sum(1)
        self.register_buffer("log_const", torch.log(weights) + log_det - 0.5 * d * math.log(2 * math.pi))  # (K,)
        self.register_buffer("cholesky", cholesky.permute(1, 0, 2).reshape(d, k * d))  # y = p @ this
        self.register_buffer("shift", torch.einsum("kd,kde->ke", means, cholesky).reshape(k * d))  # μ_k L_k
        self.register_buffer("cholesky_t", cholesky.transpose(1, 2).reshape(k * d, d))  # y_k ↦ y_k L_kᵀ
        self.chunk = chunk

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return _MixtureNLL.apply(patches, self)

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
    def forward(ctx, patches: torch.Tensor, density: GaussianMixtureDensity) -> torch.Tensor:
        with torch.no_grad():
            nll, gradient = density.nll_and_gradient(patches)
        ctx.save_for_backward(gradient)
        return nll

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (gradient,) = ctx.saved_tensors
        return grad_output[:, None] * gradient, None


class EPLL(PatchPrior):
    """EPLL(x) = mean over N_p sampled patches of −log p_GMM(patch): images B×C×H×W → (B,).

    n_patches, padding, generator, stratified: the ``PatchSampler``'s; chunk: ``GaussianMixtureDensity``'s.
    """

    def __init__(self, gmm: dict[str, torch.Tensor], n_patches: int | None = None, padding: int = 0,
                 generator: torch.Generator | None = None, stratified: bool = False, chunk: int = 1024):
        density = GaussianMixtureDensity(gmm, chunk)
        super().__init__(density, PatchSampler(density.patch_size, n_patches, padding, stratified, generator))


def fit_gmm(images: list[np.ndarray], settings: GMMSettings = GMMSettings(), threads: int | None = 1) -> dict[str, torch.Tensor]:
    """EM fit (scikit-learn, full covariances) on random patches of 2-D images; a dict of tensors.

    ``threads`` caps BLAS/OpenMP threads during the fit (multi-threaded k-means/EM slowed down
    20–50× on a 2-core machine; ``None`` leaves them alone).
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
    """Write the mixture's tensors atomically (float64 tensors stored as float32, the precision used)."""
    def compact(value: torch.Tensor) -> torch.Tensor:
        return value.detach().cpu().float() if value.is_floating_point() and value.ndim > 0 else value.detach().cpu()

    with atomic_path(path) as temporary:
        torch.save({key: compact(value) for key, value in gmm.items()}, temporary)
