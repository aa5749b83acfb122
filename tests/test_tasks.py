"""The task registry: one file per task registered by a decorator, settings as data, options checked by
name, recipes in the noise model's units."""

from __future__ import annotations

import pytest
import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.tasks import TASK_NAMES, get_task, sr_x4
from patchnr.tasks.sr_common import NOISE_STD


def test_the_registry_lists_the_tasks_in_their_order():
    assert TASK_NAMES == ("sr-x4", "ct-lowdose", "ct-limited", "deblur", "inpaint", "sr-x2-zeroshot", "sr-x4-zeroshot")


def test_registering_a_name_from_another_module_is_refused():
    from patchnr.tasks.registry import register_task

    def make_task(device="cpu"):
        raise AssertionError("not called")

    with pytest.raises(ValueError, match="registered by both"):
        register_task("sr-x4")(make_task)
    assert "sr-x4" in TASK_NAMES and get_task("sr-x4").name == "sr-x4"


def test_task_attributes_read_the_declared_settings():
    from patchnr.tasks import deblur, inpaint
    from patchnr.tasks.assets import LENTILS

    for name in TASK_NAMES:
        task = get_task(name)
        settings = task.settings
        assert task.recipes == {"paper": settings.paper, "fast": settings.fast} and list(task.recipes) == ["paper", "fast"]
        assert (task.tv, task.epll_lam, task.baseline, task.patch_size, task.discrepancy_target) == (
            settings.tv, settings.epll_lam, settings.baseline, settings.patch_size, settings.discrepancy_target)
        assert (task.prior_file, task.gmm_file, task.example_file) == (
            settings.assets.prior_file, settings.assets.gmm_file, settings.assets.example_file)
    assert deblur.SETTINGS.assets is inpaint.SETTINGS.assets is LENTILS  # one declaration of the lentils files


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
    assert sr_x4.SETTINGS.paper.lam * 2 * NOISE_STD**2 == pytest.approx(0.15)
    assert sr_x4.SETTINGS.fast.lam * 2 * NOISE_STD**2 == pytest.approx(0.25)
    task = get_task("sr-x4")
    assert isinstance(task.measurement.noise, GaussianNoise) and task.measurement.noise.sigma == NOISE_STD


def test_simulation_and_data_term_come_from_one_noise_model():
    task = get_task("sr-x4")
    truth = torch.rand(1, 1, 32, 32)
    observation = task.simulate(truth, seed=0)
    residual = observation - task.operator(truth)
    assert abs(residual.std().item() - NOISE_STD) < 2e-3
    assert task.measurement.discrepancy(truth, observation) == pytest.approx(1.0, abs=0.3)


def test_ct_tasks_use_poisson_noise_and_their_geometry_for_shapes():
    lowdose, limited = get_task("ct-lowdose"), get_task("ct-limited")
    assert lowdose.image_shape((1000, 513)) == (362, 362) and limited.image_shape((800, 513)) == (362, 362)
    with pytest.raises(ValueError, match=r"\(800, 513\), or a full \(1000, 513\)"):
        limited.image_shape((900, 513))
    assert lowdose.recipes["paper"].lam == 700.0 and limited.recipes["paper"].iterations == 3000
    assert PoissonNoise().photons == 4096.0


def test_a_restated_noise_level_keeps_the_kind_of_measurement():
    """Inpainting's known-pixels data term survives --noise-std (``Task.with_noise``)."""
    from patchnr.physics.known_pixels import KnownPixelsMeasurement

    shipped = get_task("inpaint", missing=0.5)
    task = shipped.with_noise(GaussianNoise(0.05))
    assert isinstance(task.measurement, KnownPixelsMeasurement) and task.measurement.noise.sigma == 0.05
    assert task.measurement.operator is shipped.measurement.operator and shipped.measurement.noise.sigma == 0.01
    assert task.settings is shipped.settings  # λ kept: in units of the noise model's NLL


def test_with_noise_changes_the_simulation_too():
    task = get_task("sr-x4")
    truth = torch.rand(1, 1, 32, 32)
    quieter = task.with_noise(GaussianNoise(0.001))
    residual = quieter.simulate(truth, seed=0) - quieter.operator(truth)
    assert abs(residual.std().item() - 0.001) < 2e-4


def test_a_custom_task_takes_the_matching_tasks_settings():
    from patchnr.operators import superresolution_x4
    from patchnr.tasks.custom import custom_task

    operator = superresolution_x4()
    task = custom_task(operator, GaussianNoise(0.02))
    shipped = get_task("sr-x4")
    assert task.name == "custom" and task.example_file is None and task.baseline == "initialisation"
    assert task.recipes == shipped.recipes and task.tv == shipped.tv and task.prior_file == shipped.prior_file
    assert task.measurement.operator is operator and task.measurement.noise.sigma == 0.02
    poisson = custom_task(operator, PoissonNoise())
    assert poisson.prior_file == get_task("ct-lowdose").prior_file and poisson.recipes == get_task("ct-lowdose").recipes


def test_the_ct_tasks_share_one_declaration_of_their_common_settings():
    from dataclasses import replace

    from patchnr.tasks import ct_limited, ct_lowdose
    from patchnr.tasks.ct_common import LODOPAB_PAPER, LODOPAB_TV

    assert ct_lowdose.SETTINGS.paper is LODOPAB_PAPER and ct_limited.SETTINGS.paper == replace(LODOPAB_PAPER, iterations=3000)
    assert ct_lowdose.SETTINGS.tv is ct_limited.SETTINGS.tv is LODOPAB_TV
    assert ct_lowdose.SETTINGS.assets is ct_limited.SETTINGS.assets
