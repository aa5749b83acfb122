"""Langevin sampling against a closed-form Gaussian posterior; the λ search against its target;
the σ estimate; the calibration metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from patchnr.sampling.calibration import interval_coverage, rank_correlation
from patchnr.optim.lambda_search import LambdaSearchError, discrepancy_search
from patchnr.physics.measurement import Measurement
from patchnr.physics.noise import GaussianNoise
from patchnr.physics.noise_level import estimate_gaussian_sigma
from patchnr.optim.objective import Objective
from patchnr.operators.base import FunctionOperator
from patchnr.sampling import LangevinSettings, langevin

IMAGE = (6, 6)


class QuadraticPrior(nn.Module):
    """½‖x‖² / s² per image: B×C×H×W → (B,)."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return 0.5 * images.flatten(1).pow(2).sum(1) / self.scale**2


def linear_problem(rows: int, sigma: float, seed: int = 0):
    """A random rows×36 matrix as an operator on 6×6 images (output 1×rows), its observation of a random image."""
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.randn(rows, math.prod(IMAGE), generator=generator, dtype=torch.float64) / math.sqrt(math.prod(IMAGE))
    operator = FunctionOperator(lambda x: (x.flatten(2) @ matrix.T.to(x.dtype)).view(x.shape[0], x.shape[1], 1, rows), IMAGE)
    truth = torch.randn(1, 1, *IMAGE, generator=generator, dtype=torch.float64)
    measurement = Measurement(operator, GaussianNoise(sigma))
    return matrix, measurement, measurement.simulate(truth, seed)


def exact_posterior(matrix: torch.Tensor, observation: torch.Tensor, sigma: float, lam: float, scale: float):
    """Mean and pixel std of N(P⁻¹ Aᵀy / σ², P⁻¹), P = AᵀA / σ² + λ I / s², as 6×6 maps."""
    precision = matrix.T @ matrix / sigma**2 + lam * torch.eye(matrix.shape[1], dtype=torch.float64) / scale**2
    covariance = torch.linalg.inv(precision)
    mean = covariance @ matrix.T @ observation.flatten() / sigma**2
    return mean.view(IMAGE), covariance.diagonal().sqrt().view(IMAGE)


def test_langevin_matches_the_closed_form_gaussian_posterior():
    sigma, lam, scale = 0.5, 1.0, 1.0
    matrix, measurement, observation = linear_problem(24, sigma)
    mean, std = exact_posterior(matrix, observation, sigma, lam, scale)
    objective = Objective(measurement, observation, QuadraticPrior(scale), lam)
    settings = LangevinSettings(chains=64, samples=64 * 40, burn_in=300, thin=10, step_fraction=0.2)
    posterior = langevin(objective, mean[None, None].clone(), settings, seed=1, progress=False)
    summary = posterior.summary()
    assert posterior.samples.shape == (64 * 40, 1, *IMAGE)
    # Tolerance: the mean within 0.2 exact stds per pixel, the std within 12 % per pixel (Monte Carlo
    # error of ~1000 effective samples plus ULA's O(δ) variance bias of at most ~2 % at this step).
    assert (torch.from_numpy(summary["mean"][0]).double() - mean).abs().div(std).max() < 0.2
    assert (torch.from_numpy(summary["std"][0]).double() / std - 1).abs().max() < 0.12
    assert 0.85 < posterior.spread_ratio() < 1.15


def closed_form_solver(matrix, observation, sigma, scale):
    def solve(lam: float, start: torch.Tensor, iterations: int) -> torch.Tensor:
        return exact_posterior(matrix, observation, sigma, lam, scale)[0][None, None]
    return solve


def test_lambda_search_hits_the_discrepancy_target():
    sigma, scale = 0.05, 0.3
    matrix, measurement, observation = linear_problem(24, sigma)
    misfits = []

    def misfit(image):
        misfits.append(measurement.discrepancy(image, observation))
        return misfits[-1]

    search = discrepancy_search(closed_form_solver(matrix, observation, sigma, scale), misfit, torch.zeros(1, 1, *IMAGE),
                                lam=1.0, iterations=8, target=0.8)
    assert abs(search.misfit / 0.8 - 1) < 0.05, search.trials
    assert len(misfits) <= 6  # first solve, at most 4 short ones, the final one
    assert search.misfit == pytest.approx(measurement.discrepancy(search.image, observation))


def test_lambda_search_reports_an_unreachable_target():
    sigma, scale = 0.05, 0.3
    matrix, measurement, observation = linear_problem(48, sigma)  # overdetermined: misfit ≥ (48 − 36) / 48 even at λ → 0
    with pytest.raises(LambdaSearchError, match="cannot reach"):
        discrepancy_search(closed_form_solver(matrix, observation, sigma, scale), lambda x: measurement.discrepancy(x, observation),
                           torch.zeros(1, 1, *IMAGE), lam=1.0, iterations=8, target=1e-3)


def test_default_target_follows_the_noise_model():
    """Gaussian noise: τ grows with σ / std(y) within the validated range and is constant outside it;
    it is unchanged when data and σ are scaled together. Poisson counts: Morozov's 1."""
    from patchnr.optim.lambda_search import GAUSSIAN_TAU_AT_R01, POISSON_TAU, RELATIVE_NOISE_RANGE, default_tau, gaussian_tau
    from patchnr.physics.noise import PoissonNoise

    observation = torch.linspace(0, 1, 101) ** 2
    spread = float(observation.std())
    taus = [gaussian_tau(r * spread, observation) for r in (0.01, 0.036, 0.05, 0.1, 0.2, 0.47, 1.0)]
    assert taus[0] == pytest.approx(taus[1]) and taus[-1] == pytest.approx(taus[-2])  # clamped outside the range
    assert all(a < b for a, b in zip(taus[1:-2], taus[2:-1]))
    assert taus[3] == pytest.approx(GAUSSIAN_TAU_AT_R01)
    assert 0.4 < taus[1] < 0.5 and 1.0 < taus[-1] < 1.2 and RELATIVE_NOISE_RANGE == (0.036, 0.47)
    assert gaussian_tau(0.02 * spread * 1000, observation * 1000) == pytest.approx(gaussian_tau(0.02 * spread, observation))
    assert default_tau(GaussianNoise(0.1 * spread), observation) == pytest.approx(GAUSSIAN_TAU_AT_R01)
    assert default_tau(PoissonNoise(1024), observation) == POISSON_TAU == 1.0


def test_task_target_prefers_the_tasks_own():
    """deblur and inpaint carry the τ of their validation sweeps; sr-x4 follows the Gaussian rule."""
    from patchnr.optim.lambda_search import gaussian_tau, task_tau
    from patchnr.tasks import get_task

    observation = torch.rand(1, 1, 32, 32)
    assert task_tau(get_task("deblur"), observation) == 0.93 and task_tau(get_task("inpaint"), observation) == 0.31
    assert task_tau(get_task("sr-x4"), observation) == pytest.approx(gaussian_tau(0.01, observation))


@pytest.mark.parametrize("sigma", [0.005, 0.03])
def test_sigma_estimate_of_a_smooth_image(sigma):
    rows, cols = np.mgrid[:128, :128]
    image = 0.5 + 0.3 * np.sin(rows / 12.0) * np.cos(cols / 9.0)  # smooth: its finest wavelet band is almost empty
    noisy = image + sigma * np.random.default_rng(0).standard_normal(image.shape)
    assert estimate_gaussian_sigma(noisy) == pytest.approx(sigma, rel=0.15)


def test_calibration_metrics():
    truth = np.linspace(0, 1, 100).reshape(10, 10)
    assert interval_coverage(truth - 0.1, truth + 0.1, truth) == 1.0
    assert interval_coverage(truth + 0.1, truth + 0.2, truth) == 0.0
    assert rank_correlation(truth, truth**3) == pytest.approx(1.0)
