"""The task registry: one file per task, options checked by name, recipes in the noise model's units."""

from __future__ import annotations

import pytest
import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.tasks import TASK_NAMES, get_task, sr_x4


def test_every_registered_task_builds_without_its_operator():
    for name in TASK_NAMES:
        task = get_task(name)
        assert task.name == name and {"fast", "paper"} <= set(task.recipes)
        assert "measurement" not in task.__dict__  # the operator (a CT matrix) is built on first use only


def test_an_option_a_task_does_not_take_is_refused_by_name():
    with pytest.raises(ParameterError) as error:
        get_task("sr-x4", backend="sparse")
    assert error.value.parameter == "backend" and "ct-lowdose" in error.value.message
    with pytest.raises(PatchNRError, match="unknown task"):
        get_task("sr-x8")


def test_sr_lambda_is_the_papers_over_two_sigma_squared():
    """The paper's SR term Σ(Ax − y)² is the Gaussian NLL × 2σ²: λ converts by the same factor."""
    assert sr_x4.PAPER.lam * 2 * sr_x4.NOISE_STD**2 == pytest.approx(0.15)
    assert sr_x4.FAST.lam * 2 * sr_x4.NOISE_STD**2 == pytest.approx(0.25)
    task = get_task("sr-x4")
    assert isinstance(task.measurement.noise, GaussianNoise) and task.measurement.noise.sigma == sr_x4.NOISE_STD


def test_simulation_and_data_term_come_from_one_noise_model():
    task = get_task("sr-x4")
    truth = torch.rand(1, 1, 32, 32)
    observation = task.simulate(truth, seed=0)
    residual = observation - task.operator(truth)
    assert abs(residual.std().item() - sr_x4.NOISE_STD) < 2e-3
    assert task.measurement.discrepancy(truth, observation) == pytest.approx(1.0, abs=0.3)


def test_ct_tasks_use_poisson_noise_and_their_geometry_for_shapes():
    lowdose, limited = get_task("ct-lowdose"), get_task("ct-limited")
    assert lowdose.image_shape((1000, 513)) == (362, 362) and limited.image_shape((800, 513)) == (362, 362)
    with pytest.raises(ValueError, match=r"\(800, 513\), or a full \(1000, 513\)"):
        limited.image_shape((900, 513))
    assert lowdose.recipes["paper"].lam == 700.0 and limited.recipes["paper"].iterations == 3000
    assert PoissonNoise().photons == 4096.0


def test_a_restated_noise_level_keeps_the_kind_of_measurement():
    """Inpainting's known-pixels data term survives --noise-std (``with_noise``)."""
    from patchnr.physics.known_pixels import KnownPixelsMeasurement
    from patchnr.tasks.noise_level import with_noise

    task = with_noise(get_task("inpaint", missing=0.5), GaussianNoise(0.05))
    assert isinstance(task.measurement, KnownPixelsMeasurement) and task.measurement.noise.sigma == 0.05
