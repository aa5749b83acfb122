"""The patch prior: image → mean negative log-likelihood of its patches under a patch density."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from patchnr.patches import patches_per_image


@dataclass
class PatchSampler:
    """Which s×s patches of a B×C×H×W batch a prior evaluates per call.

    n_patches: random positions per image and call (``None``: every patch); padding: reflect
    padding in pixels before extraction; stratified: one position drawn in each of n equal runs of
    the raster order (same mean, lower variance than uniform draws); generator: the random source
    (a CUDA generator keeps the draws on the GPU).
    """

    patch_size: int
    n_patches: int | None = None
    padding: int = 0
    stratified: bool = False
    generator: torch.Generator | None = None

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Patches of each image in batch order, shape (B·n, C·s·s)."""
        return patches_per_image(images, self.patch_size, self.n_patches, self.padding, self.generator, self.stratified)


class PatchPrior(nn.Module):
    """R(x) = mean over the sampled patches p of x of ``density(p)``, per image: B×C×H×W → (B,).

    ``density``: an nn.Module with ``patch_size`` and ``channels`` attributes mapping patches
    (N, C·s·s) to their negative log-likelihoods (N,) (``FlowDensity``, ``GaussianMixtureDensity``).
    """

    def __init__(self, density: nn.Module, sampler: PatchSampler):
        super().__init__()
        if sampler.patch_size != density.patch_size:
            raise ValueError(f"the sampler draws {sampler.patch_size}×{sampler.patch_size} patches, the density models {density.patch_size}×{density.patch_size}")
        self.density = density
        self.sampler = sampler

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        channels = self.density.channels
        if images.ndim != 4 or images.shape[1] != channels:
            raise ValueError(f"expected images B×{channels}×H×W, got shape {tuple(images.shape)}")
        return self.density(self.sampler(images)).view(images.shape[0], -1).mean(1)
