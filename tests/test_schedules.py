"""One cosine learning-rate schedule for the solvers (floor 5 %) and flow training (floor 1 %)."""

from __future__ import annotations

import math

import pytest

from patchnr.flows.train import TrainConfig
from patchnr.optim import cosine_schedule
from patchnr.optim.recipes import Recipe


def test_cosine_schedule_decays_from_one_to_its_floor_and_stays():
    schedule = cosine_schedule(100, final_fraction=0.2)
    assert schedule(0) == 1.0 and schedule(100) == pytest.approx(0.2) and schedule(250) == pytest.approx(0.2)
    assert schedule(50) == pytest.approx(0.2 + 0.8 * 0.5)
    values = [schedule(k) for k in range(101)]
    assert all(later <= earlier for earlier, later in zip(values, values[1:]))


def test_the_solvers_schedule_keeps_its_numbers():
    """The fast recipes' solver: floor 0.05 over the recipe's iterations, bit for bit."""
    recipe = Recipe(lam=1.0, iterations=150, lr=0.01, n_patches=10, lr_schedule="cosine")
    schedule = recipe.solver().lr_schedule
    for k in range(151):
        assert schedule(k) == 0.05 + (1 - 0.05) * 0.5 * (1 + math.cos(math.pi * k / 150))
    assert Recipe(lam=1.0, iterations=150, lr=0.01, n_patches=10).solver().lr_schedule is None


def test_training_uses_the_same_schedule_with_its_floor():
    config = TrainConfig()
    for progress in (0.0, 0.1, 0.37, 0.5, 0.99, 1.0, 1.7):
        assert config.lr_factor(progress) == cosine_schedule(1.0, final_fraction=0.01)(progress)
        assert config.lr_factor(progress) == 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
