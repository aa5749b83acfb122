import pytest
import torch

from operators import superresolution_x4
from patchnr import (
    DivergenceError, FlowConfig, GaussianFidelity, PatchNR, PoissonFidelity, Recipe, TrainConfig, psnr, reconstruct,
    train_flow,
)
from patchnr.solver import measurement_data_terms
from patchnr.tasks import superresolution_task
from tests.conftest import texture


@pytest.mark.parametrize("fidelity", [GaussianFidelity(), PoissonFidelity()])
def test_fidelity_gradient_matches_finite_differences(fidelity):
    torch.manual_seed(0)
    predicted = (0.02 * torch.rand(3, 5, dtype=torch.float64)).requires_grad_(True)
    observation = 0.02 * torch.rand(3, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: fidelity(p, observation), (predicted,))


def test_poisson_fidelity_is_minimised_at_the_observation():
    y = torch.full((10,), 0.01, dtype=torch.float64)
    values = [PoissonFidelity()(y + d, y).item() for d in (-1e-3, 0.0, 1e-3)]
    assert values[1] < values[0] and values[1] < values[2]


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


def test_patchnr_rejects_wrong_channels(tiny_flow):
    with pytest.raises(ValueError):
        PatchNR(tiny_flow)(torch.rand(1, 3, 16, 16))


def test_tiny_superresolution_beats_bicubic():
    """Train a tiny prior on one texture, super-resolve another of the same kind."""
    torch.manual_seed(0)
    train_image = torch.from_numpy(texture(96, seed=1))[None]
    flow = train_flow([train_image], FlowConfig(num_layers=2, hidden_width=32), TrainConfig(steps=300, batch_size=256, lr=2e-3), progress=False)
    operator = superresolution_x4()
    truth = torch.from_numpy(texture(64, seed=2))[None, None]
    observation = operator(truth) + 0.01 * torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    init = operator.pseudo_inverse(observation)
    prior = PatchNR(flow, n_patches=2000, generator=torch.Generator().manual_seed(0))
    result = reconstruct(observation, operator, GaussianFidelity(), prior, lam=0.05, init=init, iterations=60, lr=0.01, ground_truth=truth, progress=False)
    assert len(result.psnr) == len(result.objective) == len(result.seconds) == 60
    assert result.seconds == sorted(result.seconds)
    assert result.psnr[-1] > psnr(init, truth) + 1.0
    assert result.objective[-1] < result.objective[0]


def test_user_function_operator_without_subclassing():
    """A plain function works as the operator; λ = 0 gives least squares."""
    mask = (torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    truth = torch.rand(1, 1, 8, 8)
    result = reconstruct(truth * mask, lambda x: x * mask, GaussianFidelity(), lambda x: x.sum() * 0, 0.0,
                         torch.zeros(1, 1, 8, 8), iterations=200, lr=0.05, progress=False)
    assert torch.allclose(result.image * mask, truth * mask, atol=1e-2)


def test_divergence_raises_instead_of_returning_garbage():
    def exploding_prior(x):
        return (x * float("nan")).sum(dim=(1, 2, 3))

    with pytest.raises(DivergenceError):
        reconstruct(torch.zeros(1, 1, 4, 4), lambda x: x, GaussianFidelity(), exploding_prior, 1.0, torch.zeros(1, 1, 4, 4), 5, 0.1, progress=False)


def test_negative_lambda_rejected():
    with pytest.raises(ValueError):
        reconstruct(torch.zeros(1, 1, 4, 4), lambda x: x, GaussianFidelity(), lambda x: x.sum(), -1.0, torch.zeros(1, 1, 4, 4), 1, 0.1)


def _tiny_ct_task():
    from operators import ct
    from patchnr.tasks import ct_task

    return ct_task("ct-lowdose", "sparse", geometry=ct.small_geometry(size=32, num_angles=30, num_detectors=47))


@pytest.mark.parametrize("make_task, size", [(_tiny_ct_task, 32), (superresolution_task, 24)])
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
    terms = measurement_data_terms(task.operator, observation, task.fidelity, ordered_subsets=True)
    assert len(terms) == 10
    x = truth.clone().requires_grad_(True)
    mean = sum(term(x) for term in terms) / len(terms)
    (mean_grad,) = torch.autograd.grad(mean, x)
    full = task.fidelity(task.operator(x), observation)
    (full_grad,) = torch.autograd.grad(full, x)
    torch.testing.assert_close(mean, full, rtol=1e-5, atol=0)
    torch.testing.assert_close(mean_grad, full_grad, rtol=1e-4, atol=1e-3)
    assert len(measurement_data_terms(lambda v: v, observation, task.fidelity, ordered_subsets=True)) == 1  # no blocks


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

    from patchnr.solver import epoch_order

    visits = list(islice(epoch_order(5), 15))
    assert all(sorted(visits[i : i + 5]) == list(range(5)) for i in (0, 5, 10))
    assert visits[:5] != visits[5:10] or visits[5:10] != visits[10:15]  # reshuffled
    assert list(islice(epoch_order(5), 15)) == visits  # reproducible
