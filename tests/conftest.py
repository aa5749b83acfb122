"""Shared fixtures: tiny flows and small synthetic images (tests never read ../shared)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from patchnr import FlowConfig, PatchFlow, save_flow

torch.set_num_threads(2)

TINY = FlowConfig(patch_size=6, channels=1, num_layers=2, hidden_width=16)


def texture(size: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth random texture in [0, 1], float32 (size×size)."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    image = gaussian_filter(rng.standard_normal((size, size)), 2.0, mode="wrap")
    image = (image - image.min()) / (image.max() - image.min())
    return image.astype(np.float32)


@pytest.fixture
def tiny_flow() -> PatchFlow:
    torch.manual_seed(0)
    return PatchFlow(TINY).eval()


@pytest.fixture
def tiny_weights(tmp_path, tiny_flow) -> str:
    path = tmp_path / "tiny.pt"
    save_flow(path, tiny_flow)
    return str(path)
