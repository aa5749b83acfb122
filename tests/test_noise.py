"""Noise models: data terms against finite differences, simulation statistics, the discrepancy's scale."""

from __future__ import annotations

import pytest
import torch

from patchnr import GaussianNoise, PoissonNoise


@pytest.mark.parametrize("noise", [GaussianNoise(0.02), PoissonNoise()])
def test_data_term_gradient_matches_finite_differences(noise):
    torch.manual_seed(0)
    predicted = (0.02 * torch.rand(3, 5, dtype=torch.float64)).requires_grad_(True)
    observation = 0.02 * torch.rand(3, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: noise(p, observation), (predicted,))


@pytest.mark.parametrize("noise", [GaussianNoise(0.02), PoissonNoise()])
def test_data_term_is_minimised_at_the_observation(noise):
    y = torch.full((10,), 0.01, dtype=torch.float64)
    values = [noise(y + d, y).item() for d in (-1e-3, 0.0, 1e-3)]
    assert values[1] < values[0] and values[1] < values[2]


@pytest.mark.parametrize("noise, clean", [(GaussianNoise(0.05), torch.full((200_000,), 0.3)),
                                          (PoissonNoise(photons=1000.0), torch.full((200_000,), 0.02))])
def test_discrepancy_at_the_truth_is_about_one_per_measurement(noise, clean):
    observation = noise.simulate(clean, seed=1)
    assert abs(noise.discrepancy(clean, observation).item() / clean.numel() - 1) < 0.02


def test_gaussian_simulation_is_seeded_with_the_stated_std():
    noise = GaussianNoise(0.1)
    clean = torch.zeros(100_000)
    first = noise.simulate(clean, seed=3)
    assert torch.equal(first, noise.simulate(clean, seed=3)) and not torch.equal(first, noise.simulate(clean, seed=4))
    assert abs(first.std().item() - 0.1) < 2e-3


def test_gaussian_nll_is_the_paper_term_over_two_sigma_squared():
    predicted, observation = torch.rand(7), torch.rand(7)
    torch.testing.assert_close(GaussianNoise(0.01)(predicted, observation) * 2 * 0.01**2, (predicted - observation).pow(2).sum())


@pytest.mark.parametrize("make", [lambda: GaussianNoise(-1.0), lambda: GaussianNoise(float("nan")), lambda: PoissonNoise(photons=0.0),
                                  lambda: PoissonNoise(mu_max=float("inf"))])
def test_bad_noise_levels_are_refused(make):
    with pytest.raises(ValueError):
        make()
