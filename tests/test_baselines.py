"""Baselines: smoothed TV and its L-BFGS solver, the EPLL Gaussian-mixture prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from patchnr import GaussianFidelity, psnr
from patchnr.baselines import GaussianMixturePrior, GMMSettings, TotalVariation, TVSettings, fit_gmm, fit_or_load_gmm, solve_epll, solve_tv
from patchnr.patches import extract_patches
from patchnr.recipes import Recipe
from tests.conftest import texture

TINY_GMM = GMMSettings(n_components=3, n_samples=2000, max_iter=20)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def gmm() -> dict[str, torch.Tensor]:
    return fit_gmm([texture(48, seed) for seed in (3, 4)], TINY_GMM)


def _noisy(size: int = 32, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    clean = torch.from_numpy(texture(size, 7))[None, None]
    return clean, clean + std * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))


def test_tv_shape_constant_and_noise():
    tv = TotalVariation(eps=1e-3)
    clean, noisy = _noisy()
    values = tv(torch.cat([clean, noisy, torch.full_like(clean, 0.4)]))
    assert values.shape == (3,)
    assert values[2].abs() < 1e-6 and values[1] > 2 * values[0]


def test_tv_is_isotropic_tv_for_small_eps():
    ramp = torch.arange(8.0)[None, None, None, :].expand(1, 1, 8, 8)  # |∇x| = 1 except the last column
    assert torch.isclose(TotalVariation(eps=1e-6)(ramp), torch.tensor(56.0), atol=1e-3)


def test_tv_solver_denoises_and_decreases_tv():
    clean, noisy = _noisy()
    result = solve_tv(noisy, lambda x: x, GaussianFidelity(), noisy, TVSettings(lam=0.05, eps=1e-3, iterations=25))
    assert psnr(result.image, clean) > psnr(noisy, clean) + 2
    assert TotalVariation()(result.image) < TotalVariation()(noisy)
    assert result.objective[-1] < result.objective[0] and result.image.dtype == torch.float32


def test_tv_solver_superresolution_beats_bicubic():
    from patchnr import get_task

    task = get_task("sr-x4")
    clean = torch.from_numpy(texture(64, 5))[None, None]
    observation = task.simulate(clean, 0)
    init = task.initialise(observation)
    result = solve_tv(observation, task.operator, task.fidelity, init, TVSettings(lam=0.003, eps=1e-3, iterations=25))
    assert psnr(result.image, clean) > psnr(init, clean)


def test_epll_nll_matches_sklearn(gmm):
    from sklearn.mixture import GaussianMixture

    reference = GaussianMixture(3, covariance_type="full")
    reference.weights_, reference.means_, reference.precisions_cholesky_ = (gmm[k].numpy() for k in ("weights", "means", "precisions_cholesky"))
    patches = extract_patches(torch.from_numpy(texture(32, 9))[None, None], 6)[:300]
    prior = GaussianMixturePrior(gmm, chunk=128)
    expected = -reference.score_samples(patches.double().numpy())
    assert np.allclose(prior.patch_nll(patches).numpy(), expected, rtol=1e-4, atol=1e-2)


def test_epll_gradient_matches_finite_differences(gmm):
    prior = GaussianMixturePrior(gmm).double()
    patches = extract_patches(torch.from_numpy(texture(32, 9))[None, None], 6)[:50].double().requires_grad_(True)
    prior.patch_nll(patches).sum().backward()
    for seed in range(3):
        direction = torch.randn(patches.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        with torch.no_grad():
            step = 1e-6
            numeric = (prior.patch_nll(patches + step * direction).sum() - prior.patch_nll(patches - step * direction).sum()) / (2 * step)
        assert torch.isclose((patches.grad * direction).sum(), numeric, rtol=1e-6)


def test_epll_prior_interface_and_solver(gmm):
    clean, noisy = _noisy(std=0.08)
    prior = GaussianMixturePrior(gmm, n_patches=200, generator=torch.Generator().manual_seed(0))
    assert prior(torch.cat([clean, noisy])).shape == (2,)
    assert prior(clean) < prior(noisy)
    recipe = Recipe(lam=0.02, iterations=25, lr=0.01, n_patches=500)
    result = solve_epll(noisy, lambda x: x, GaussianFidelity(), gmm, recipe, noisy, seed=0)
    assert psnr(result.image, clean) > psnr(noisy, clean) + 1


def test_gmm_file_is_tensors_only_and_reused(tmp_path, monkeypatch):
    images = [texture(40, 1)]
    gmm, path = fit_or_load_gmm(images, TINY_GMM, folder=tmp_path)
    loaded = torch.load(path, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in loaded.values())
    monkeypatch.setattr("patchnr.baselines.epll.fit_gmm", lambda *a, **k: pytest.fail("refitted"))
    again, same = fit_or_load_gmm(images, TINY_GMM, folder=tmp_path)
    assert same == path and torch.equal(again["means"], gmm["means"])


def test_tv_with_poisson_ct_fidelity():
    ct = pytest.importorskip("operators.ct")
    if not hasattr(ct, "small_geometry"):
        pytest.skip("operators.ct.small_geometry not available")
    from patchnr.ct_data import simulate_lowdose
    from patchnr.fidelity import PoissonFidelity

    operator = ct.RayTransform(ct.small_geometry(), backend="astra_cpu")
    clean = 0.3 * torch.from_numpy(texture(32, 2))[None, None]
    observation = simulate_lowdose(clean, operator, photons=200.0, seed=0)
    init = operator.fbp(observation)
    result = solve_tv(observation, operator, PoissonFidelity(photons=200.0), init, TVSettings(lam=20.0, eps=1e-3, iterations=30))
    assert psnr(result.image, clean) > psnr(init, clean)
