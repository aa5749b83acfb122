"""The objective and its solvers: reconstructions improve on their start, ordered subsets are unbiased,
divergence is caught (also a finite image that left any plausible range)."""

import pytest
import torch

from patchnr import (
    Adam, DivergenceError, FlowConfig, GaussianNoise, Measurement, Objective, PatchNR, Recipe, TrainConfig, psnr, reconstruct,
    train_flow,
)
from patchnr.operators import as_operator, superresolution_x4
from patchnr.optim import DivergenceGuard, PSNRHistory
from patchnr.tasks import sr_x4
from tests.conftest import texture


def _identity(std: float = 0.01) -> Measurement:
    return Measurement(as_operator(lambda x: x), GaussianNoise(std))


def test_tiny_superresolution_beats_bicubic():
    """Train a tiny prior on one texture, super-resolve another of the same kind."""
    torch.manual_seed(0)
    train_image = torch.from_numpy(texture(96, seed=1))[None]
    flow = train_flow([train_image], FlowConfig(num_layers=2, hidden_width=32), TrainConfig(steps=300, batch_size=256, lr=2e-3), progress=False)
    measurement = Measurement(superresolution_x4(), GaussianNoise(0.01))
    truth = torch.from_numpy(texture(64, seed=2))[None, None]
    observation = measurement.simulate(truth, seed=0)
    init = measurement.operator.pseudo_inverse(observation)
    prior = PatchNR(flow, n_patches=2000, generator=torch.Generator().manual_seed(0))
    result = reconstruct(measurement, observation, prior, 0.05 / (2 * 0.01**2), Adam(60, 0.01), init=init, ground_truth=truth, progress=False)
    assert len(result.psnr) == len(result.objective) == len(result.seconds) == 60
    assert result.seconds == sorted(result.seconds)
    assert result.psnr[-1] > psnr(init, truth) + 1.0
    assert result.objective[-1] < result.objective[0]


def test_user_function_operator_without_subclassing():
    """A plain function works as the operator; λ = 0 gives least squares."""
    mask = (torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    truth = torch.rand(1, 1, 8, 8)
    measurement = Measurement(as_operator(lambda x: x * mask), GaussianNoise(0.1))
    objective = Objective(measurement, truth * mask, lambda x: x.sum() * 0, 0.0)
    result = Adam(200, 0.05).solve(objective, torch.zeros(1, 1, 8, 8))
    assert torch.allclose(result.image * mask, truth * mask, atol=1e-2)


def test_non_finite_objective_raises():
    def exploding_prior(x):
        return (x * float("nan")).sum(dim=(1, 2, 3))

    with pytest.raises(DivergenceError):
        Adam(5, 0.1).solve(Objective(_identity(), torch.zeros(1, 1, 4, 4), exploding_prior, 1.0), torch.zeros(1, 1, 4, 4))


def test_a_finite_but_absurd_image_is_divergence():
    """A far too large step leaves [0, 1] by orders of magnitude: the guard stops it."""
    objective = Objective(_identity(), torch.rand(1, 1, 8, 8), lambda x: x.pow(2).sum(dim=(1, 2, 3)), 1.0)
    with pytest.raises(DivergenceError, match="plausible"):
        Adam(5, 1e9).solve(objective, torch.rand(1, 1, 8, 8), [DivergenceGuard()])
    assert Adam(5, 0.01).solve(objective, torch.rand(1, 1, 8, 8), [DivergenceGuard()]).image.abs().max() < 2


def test_negative_lambda_rejected():
    with pytest.raises(ValueError):
        Objective(_identity(), torch.zeros(1, 1, 4, 4), lambda x: x.sum(), -1.0)


def test_psnr_history_callback_records_each_iteration():
    truth = torch.rand(1, 1, 8, 8)
    objective = Objective(_identity(0.1), truth, lambda x: x.sum() * 0, 0.0)
    result = Adam(7, 0.01).solve(objective, torch.zeros(1, 1, 8, 8), [PSNRHistory(truth)])
    assert len(result.psnr) == 7 and result.psnr[-1] > result.psnr[0]


def _tiny_ct_task():
    from patchnr.operators.ct import ray_transform as ct
    from patchnr.tasks import ct_lowdose

    return ct_lowdose.make_task("sparse", geometry=ct.small_geometry(size=32, num_angles=30, num_detectors=47))


@pytest.mark.parametrize("make_task, size", [(_tiny_ct_task, 32), (sr_x4.make_task, 24)])
def test_solve_loop_never_copies_to_the_host(make_task, size, tiny_flow, monkeypatch):
    """The GPU path's logic, checked on CPU: after the set-up, no iteration goes through NumPy or .cpu()."""
    task = make_task()
    truth = torch.from_numpy(texture(size))[None, None]
    observation = task.simulate(truth, seed=0)
    init = task.initialise(observation)

    def host_copy(*args, **kwargs):
        raise AssertionError("host round-trip inside the solver loop")

    monkeypatch.setattr(torch.Tensor, "numpy", host_copy)
    monkeypatch.setattr(torch.Tensor, "cpu", host_copy)
    recipe = Recipe(lam=0.1, iterations=3, lr=0.01, n_patches=50, padding=2, lr_schedule="cosine", bf16=True,
                    stratified=True, ordered_subsets=True, adam_beta2=0.9)
    result = task.solve(observation, tiny_flow, recipe, init=init, progress=False)
    assert result.image.shape == init.shape and len(result.objective) == 3


def test_ordered_subsets_data_terms_average_to_the_full_term():
    """Each block's term is scaled by the block count, so their mean (and its gradient) is the full term."""
    task = _tiny_ct_task()
    truth = torch.from_numpy(texture(32))[None, None]
    observation = task.simulate(truth, seed=0)
    terms = task.measurement.data_terms(observation, ordered_subsets=True)
    assert len(terms) == 10
    x = truth.clone().requires_grad_(True)
    mean = sum(term(x) for term in terms) / len(terms)
    (mean_grad,) = torch.autograd.grad(mean, x)
    full = task.measurement.data_term(x, observation)
    (full_grad,) = torch.autograd.grad(full, x)
    torch.testing.assert_close(mean, full, rtol=1e-5, atol=0)
    torch.testing.assert_close(mean_grad, full_grad, rtol=1e-4, atol=1e-3)
    assert len(_identity().data_terms(observation, ordered_subsets=True)) == 1  # no blocks


def test_ordered_subsets_reconstruction_improves_on_fbp():
    torch.manual_seed(0)
    flow = train_flow([torch.from_numpy(texture(96, seed=1))[None]], FlowConfig(num_layers=2, hidden_width=32),
                      TrainConfig(steps=300, batch_size=256, lr=2e-3), progress=False)
    task = _tiny_ct_task()
    truth = torch.from_numpy(texture(32, seed=2))[None, None]
    observation = task.simulate(truth, seed=0)
    init = task.initialise(observation)
    recipe = Recipe(lam=50.0, iterations=80, lr=0.01, n_patches=500, padding=2, lr_schedule="cosine", ordered_subsets=True)
    result = task.solve(observation, flow, recipe, ground_truth=truth, init=init, progress=False)
    assert result.psnr[-1] > psnr(init, truth) + 1.0


def test_epoch_order_visits_every_block_once_per_epoch():
    from itertools import islice

    from patchnr.optim.objective import epoch_order

    visits = list(islice(epoch_order(5), 15))
    assert all(sorted(visits[i : i + 5]) == list(range(5)) for i in (0, 5, 10))
    assert visits[:5] != visits[5:10] or visits[5:10] != visits[10:15]  # reshuffled
    assert list(islice(epoch_order(5), 15)) == visits  # reproducible
