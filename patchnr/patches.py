"""Patch extraction from B×C×H×W images; patches are flattened in (C, row, col) order as ``F.unfold``."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def reflect_pad(images: torch.Tensor, padding: int) -> torch.Tensor:
    """Reflect-pad a B×C×H×W batch by ``padding`` pixels on every side (no-op for 0)."""
    return F.pad(images, (padding,) * 4, mode="reflect") if padding > 0 else images


def patch_grid_shape(height: int, width: int, patch_size: int) -> tuple[int, int]:
    """Number of overlapping patch positions (rows, cols) in an H×W image."""
    return height - patch_size + 1, width - patch_size + 1


def extract_patches(
    images: torch.Tensor,
    patch_size: int,
    n_patches: int | None = None,
    padding: int = 0,
    generator: torch.Generator | None = None,
    stratified: bool = False,
) -> torch.Tensor:
    """Overlapping s×s patches of a B×C×H×W batch, shape (P, C·s·s).

    With ``n_patches=None`` all B·(H'−s+1)·(W'−s+1) patches are returned, ordered by image, row,
    column (H', W' after ``padding``). Otherwise ``n_patches`` positions drawn over all images of the
    batch (on ``generator``'s device) are gathered directly, which costs O(n_patches) rather than
    O(H·W): a uniform random subset (without replacement), or with ``stratified`` one position drawn
    uniformly in each of ``n_patches`` equal runs of the raster order. Both include every position
    with probability n_patches / total; stratified draws cover the image evenly, so the mean patch
    NLL over them has a lower variance.
    """
    if images.ndim != 4:
        raise ValueError(f"expected a B×C×H×W batch, got shape {tuple(images.shape)}")
    images = reflect_pad(images, padding)
    b, c, h, w = images.shape
    rows, cols = patch_grid_shape(h, w, patch_size)
    if rows < 1 or cols < 1:
        raise ValueError(f"image {h}×{w} is smaller than the patch size {patch_size}")
    total = b * rows * cols
    if n_patches is None or n_patches >= total:
        return F.unfold(images, patch_size).transpose(1, 2).reshape(-1, c * patch_size**2)
    device = generator.device if generator is not None else images.device  # a CUDA generator keeps this on the GPU
    if stratified:
        offset = torch.rand(n_patches, generator=generator, device=device, dtype=torch.float64)
        run = torch.arange(n_patches, device=device, dtype=torch.float64)
        position = ((run + offset) * (total / n_patches)).long().clamp_(max=total - 1)
    else:
        position = torch.randperm(total, generator=generator, device=device)[:n_patches]
    return gather_patches(images, patch_size, position.to(images.device))


def patches_per_image(
    images: torch.Tensor,
    patch_size: int,
    n_patches: int | None,
    padding: int = 0,
    generator: torch.Generator | None = None,
    stratified: bool = False,
) -> torch.Tensor:
    """``extract_patches`` of each image of a B×C×H×W batch on its own, concatenated in batch order:
    shape (B·n, C·s·s), so that a per-patch value ``.view(B, -1)`` is per image."""
    return torch.cat([extract_patches(image[None], patch_size, n_patches, padding, generator, stratified) for image in images])


def gather_patches(images: torch.Tensor, patch_size: int, position: torch.Tensor) -> torch.Tensor:
    """Patches at flat positions ``position`` (index into B × rows × cols), shape (P, C·s·s)."""
    b, c, h, w = images.shape
    rows, cols = patch_grid_shape(h, w, patch_size)
    image_index, rest = position // (rows * cols), position % (rows * cols)
    top, left = rest // cols, rest % cols
    offsets = torch.arange(patch_size, device=images.device)
    pixel_rows = top[:, None, None] + offsets[None, :, None]  # (P, s, 1)
    pixel_cols = left[:, None, None] + offsets[None, None, :]  # (P, 1, s)
    flat = images.permute(0, 2, 3, 1).reshape(b, h * w, c)  # (B, H·W, C)
    pixel_index = (pixel_rows * w + pixel_cols).reshape(len(position), -1)  # (P, s·s)
    patches = flat[image_index[:, None], pixel_index]  # (P, s·s, C)
    return patches.permute(0, 2, 1).reshape(len(position), c * patch_size**2)


class PatchPool:
    """All overlapping patches of several training images (each C×H×W, sizes may differ).

    ``sample(n)`` draws n patches uniformly over the union of all images' patch positions.
    """

    def __init__(self, images: list[torch.Tensor], patch_size: int):
        self.patches = torch.cat([extract_patches(img[None], patch_size) for img in images])

    def __len__(self) -> int:
        return self.patches.shape[0]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        index = torch.randint(len(self), (n,), generator=generator)
        return self.patches[index]
