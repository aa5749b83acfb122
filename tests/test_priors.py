"""Priors: smoothed TV, the EPLL Gaussian mixture, patchNR; each a module images B×C×H×W → (B,)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from patchnr import EPLL, GaussianNoise, LBFGS, Adam, Measurement, Objective, PatchNR, TotalVariation, psnr
from patchnr.operators import as_operator
from patchnr.patches import extract_patches
from patchnr.priors.gmm import GaussianMixtureDensity, GMMSettings, fit_gmm, load_gmm, save_gmm
from tests.conftest import texture

TINY_GMM = GMMSettings(n_components=3, n_samples=2000, max_iter=20)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def gmm() -> dict[str, torch.Tensor]:
    return fit_gmm([texture(48, seed) for seed in (3, 4)], TINY_GMM)


def _noisy(size: int = 32, std: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    clean = torch.from_numpy(texture(size, 7))[None, None]
    return clean, clean + std * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))


def _denoising(std: float) -> Measurement:
    return Measurement(as_operator(lambda x: x), GaussianNoise(std))


def test_tv_shape_constant_and_noise():
    tv = TotalVariation(eps=1e-3)
    clean, noisy = _noisy()
    values = tv(torch.cat([clean, noisy, torch.full_like(clean, 0.4)]))
    assert values.shape == (3,)
    assert values[2].abs() < 1e-6 and values[1] > 2 * values[0]


def test_tv_is_isotropic_tv_for_small_eps():
    ramp = torch.arange(8.0)[None, None, None, :].expand(1, 1, 8, 8)  # |∇x| = 1 except the last column
    assert torch.isclose(TotalVariation(eps=1e-6)(ramp), torch.tensor(56.0), atol=1e-3)


def test_lbfgs_tv_denoises_and_decreases_tv():
    clean, noisy = _noisy()
    objective = Objective(_denoising(0.1), noisy, TotalVariation(1e-3), lam=2.5)
    result = LBFGS(iterations=25).solve(objective, noisy)
    assert psnr(result.image, clean) > psnr(noisy, clean) + 2
    assert TotalVariation()(result.image) < TotalVariation()(noisy)
    assert result.objective[-1] < result.objective[0] and result.image.dtype == torch.float32


def test_tv_baseline_superresolution_beats_bicubic():
    from patchnr import get_task
    from patchnr.tasks import TVBaseline

    task = get_task("sr-x4")
    clean = torch.from_numpy(texture(64, 5))[None, None]
    observation = task.simulate(clean, 0)
    init = task.initialise(observation)
    result = task.solve_tv(observation, TVBaseline(lam=15.0, eps=1e-3, iterations=25), init)
    assert psnr(result.image, clean) > psnr(init, clean)


def test_gmm_nll_matches_sklearn(gmm):
    from sklearn.mixture import GaussianMixture

    reference = GaussianMixture(3, covariance_type="full")
    reference.weights_, reference.means_, reference.precisions_cholesky_ = (gmm[k].numpy() for k in ("weights", "means", "precisions_cholesky"))
    patches = extract_patches(torch.from_numpy(texture(32, 9))[None, None], 6)[:300]
    density = GaussianMixtureDensity(gmm, chunk=128)
    expected = -reference.score_samples(patches.double().numpy())
    assert np.allclose(density(patches).numpy(), expected, rtol=1e-4, atol=1e-2)


def test_gmm_gradient_matches_finite_differences(gmm):
    density = GaussianMixtureDensity(gmm).double()
    patches = extract_patches(torch.from_numpy(texture(32, 9))[None, None], 6)[:50].double().requires_grad_(True)
    density(patches).sum().backward()
    for seed in range(3):
        direction = torch.randn(patches.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        with torch.no_grad():
            step = 1e-6
            numeric = (density(patches + step * direction).sum() - density(patches - step * direction).sum()) / (2 * step)
        assert torch.isclose((patches.grad * direction).sum(), numeric, rtol=1e-6)


def test_epll_prior_interface_and_adam(gmm):
    clean, noisy = _noisy(std=0.08)
    prior = EPLL(gmm, n_patches=200, generator=torch.Generator().manual_seed(0))
    assert prior(torch.cat([clean, noisy])).shape == (2,)
    assert prior(clean) < prior(noisy)
    prior = EPLL(gmm, n_patches=500, generator=torch.Generator().manual_seed(0))
    result = Adam(iterations=25, lr=0.01).solve(Objective(_denoising(0.08), noisy, prior, lam=0.02 / (2 * 0.08**2)), noisy)
    assert psnr(result.image, clean) > psnr(noisy, clean) + 1


def test_gmm_file_is_tensors_only_float32_and_round_trips(gmm, tmp_path):
    save_gmm(tmp_path / "gmm.pt", gmm)
    loaded = load_gmm(tmp_path / "gmm.pt")
    assert all(isinstance(v, torch.Tensor) for v in torch.load(tmp_path / "gmm.pt", weights_only=True).values())
    assert loaded["means"].dtype == torch.float32
    patches = extract_patches(torch.from_numpy(texture(16, 2))[None, None], 6)
    torch.testing.assert_close(GaussianMixtureDensity(loaded)(patches), GaussianMixtureDensity(gmm)(patches), rtol=0, atol=0)


def test_patchnr_returns_mean_nll_per_image(tiny_flow):
    images = torch.rand(2, 1, 16, 16)
    everything = PatchNR(tiny_flow)(images)
    patches = torch.nn.functional.unfold(images[1:], 6).transpose(1, 2).reshape(-1, 36)
    assert everything.shape == (2,)
    assert torch.isclose(everything[1], tiny_flow.nll(patches).mean(), atol=1e-5)
    subset = PatchNR(tiny_flow, n_patches=30, generator=torch.Generator().manual_seed(0))(images)
    assert subset.shape == (2,) and torch.isfinite(subset).all()


def test_patchnr_gradient_matches_finite_differences(tiny_flow):
    prior = PatchNR(tiny_flow.double(), padding=2)
    image = torch.rand(1, 1, 9, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(prior, (image,))


def test_patch_priors_reject_wrong_channels_and_mismatched_sampler(tiny_flow, gmm):
    from patchnr.priors import FlowDensity, PatchPrior, PatchSampler

    with pytest.raises(ValueError):
        PatchNR(tiny_flow)(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError):
        PatchPrior(FlowDensity(tiny_flow), PatchSampler(patch_size=4))


def test_tv_with_poisson_ct_data_term():
    from patchnr import PoissonNoise
    from patchnr.operators.ct.lodopab import simulate_lowdose
    from patchnr.operators.ct import ray_transform as ct

    operator = ct.RayTransform(ct.small_geometry(), backend="astra_cpu")
    clean = 0.3 * torch.from_numpy(texture(32, 2))[None, None]
    observation = simulate_lowdose(clean, operator, photons=200.0, seed=0)
    init = operator.fbp(observation)
    objective = Objective(Measurement(operator, PoissonNoise(photons=200.0)), observation, TotalVariation(1e-3), lam=20.0)
    result = LBFGS(iterations=30).solve(objective, init)
    assert psnr(result.image, clean) > psnr(init, clean)
