"""Shared fixtures: tiny flows and small synthetic images (tests never read ../shared)."""

from __future__ import annotations

import os

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


@pytest.fixture(scope="session", autouse=True)
def temporary_cache(tmp_path_factory):
    """Every test runs with ``PATCHNR_CACHE`` and ``PATCHNR_RUNS`` in a temporary folder: none writes
    to the user's ``~/.cache/patchnr``."""
    names = ("PATCHNR_CACHE", "PATCHNR_RUNS")
    saved = {name: os.environ.get(name) for name in names}
    root = tmp_path_factory.mktemp("patchnr-home")
    for name in names:
        os.environ[name] = str(root / name.lower())
    yield root
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def tiny_flow() -> PatchFlow:
    torch.manual_seed(0)
    return PatchFlow(TINY).eval()


@pytest.fixture(scope="session")
def texture_flow() -> PatchFlow:
    """``TINY`` trained (300 steps of 128 patches, fp32) on four clean textures whose seeds (100–103)
    no test image uses: a prior that knows the tests' kind of image."""
    from patchnr.flows.train import TrainConfig, train_flow

    images = [torch.from_numpy(texture(64, seed))[None] for seed in range(100, 104)]
    return train_flow(images, TINY, TrainConfig(steps=300, batch_size=128, lr=5e-3, bf16=False), progress=False)


@pytest.fixture
def tiny_weights(tmp_path, tiny_flow) -> str:
    path = tmp_path / "tiny.pt"
    save_flow(path, tiny_flow)
    return str(path)
