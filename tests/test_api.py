"""The public API: ``patchnr.solve`` and ``patchnr.sample`` for tasks, user operators, λ from the data and
zero-shot priors; each equal, for a fixed seed, to the command line's output for the same inputs."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import patchnr
from patchnr.cli.main import main
from patchnr.flows.zero_shot import train_on_observation
from tests.conftest import TINY, texture

FEW = {"iterations": 30, "n_patches": 500}
FEW_FLAGS = ["--iterations", "30", "--patches", "500", "--quiet"]
SMALL_LAM = {"lam": 30.0, **FEW}  # the recipes' λ is set for 600² images; a 64² image takes a smaller one
SMALL_LAM_FLAGS = ["--lam", "30", *FEW_FLAGS]


def blur_and_subsample(x: torch.Tensor) -> torch.Tensor:
    """A 3×3 box blur, then every second pixel: B×1×H×W → B×1×H/2×W/2."""
    return F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, stride=1)[..., ::2, ::2]


@pytest.fixture
def texture_weights(tmp_path, texture_flow) -> str:
    path = tmp_path / "texture.pt"
    patchnr.save_flow(path, texture_flow)
    return str(path)


@pytest.fixture
def sr_case(tmp_path):
    """(observation 16², ground truth 64²) of sr-x4, the observation also in ``tmp_path/y.npy``."""
    observation, truth = patchnr.simulate_example("sr-x4", texture(64, seed=5), seed=0)
    np.save(tmp_path / "y.npy", observation)
    return observation, truth


def test_solve_a_task_improves_on_its_start_and_equals_the_cli(tmp_path, sr_case, texture_weights):
    observation, truth = sr_case
    result = patchnr.solve(observation, task="sr-x4", prior=texture_weights, **SMALL_LAM)
    assert isinstance(result.image, np.ndarray) and result.image.shape == truth.shape
    assert patchnr.psnr(result.image, truth) > patchnr.psnr(result.init, truth) + 0.3
    assert result.lam == 30.0 and result.recipe.iterations == 30 and result.seconds > 0 and result.misfit > 0
    assert main(["reconstruct", "--op", "sr-x4", "--observation", str(tmp_path / "y.npy"), "--weights", texture_weights,
                 "--out", str(tmp_path / "cli.npy"), *SMALL_LAM_FLAGS]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cli.npy"), result.image)


def test_solve_takes_tensors_and_batches(sr_case, texture_weights):
    observation, _ = sr_case
    single = patchnr.solve(torch.from_numpy(observation), task="sr-x4", prior=texture_weights, **FEW)
    batch = patchnr.solve(torch.from_numpy(np.stack([observation, observation]))[:, None], task="sr-x4", prior=texture_weights, **FEW)
    assert isinstance(single.image, torch.Tensor) and single.image.shape == (64, 64)
    assert batch.image.shape == (2, 1, 64, 64) and len(batch.lam) == 2
    torch.testing.assert_close(batch.image[1, 0], single.image)
    with pytest.raises(patchnr.ParameterError, match="observation"):
        patchnr.solve(np.zeros((3, 16, 16), np.float32), task="sr-x4")


@pytest.mark.parametrize("noise, flags", [(patchnr.GaussianNoise(0.01), ["--noise", "gaussian:0.01"]),
                                          (patchnr.PoissonNoise(4096.0), ["--noise", "poisson:4096"])])
def test_solve_a_user_operator_equals_the_cli(tmp_path, texture_weights, noise, flags):
    truth = torch.from_numpy(texture(64, seed=7))[None, None]
    clean = blur_and_subsample(truth)
    observation = noise.simulate(clean * 0.02 if isinstance(noise, patchnr.PoissonNoise) else clean, 0)[0, 0].numpy()
    np.save(tmp_path / "y.npy", observation)
    (tmp_path / "op.py").write_text("import torch.nn.functional as F\n\ndef make():\n"
                                    "    return lambda x: F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode='reflect'), 3, stride=1)[..., ::2, ::2]\n")
    result = patchnr.solve(observation, operator=blur_and_subsample, noise=noise, prior=texture_weights, image_shape=(64, 64), **SMALL_LAM)
    assert result.image.shape == (64, 64) and result.noise is noise
    assert main(["reconstruct", "--operator", f"{tmp_path / 'op.py'}:make", *flags, "--image-shape", "64,64",
                 "--observation", str(tmp_path / "y.npy"), "--weights", texture_weights, "--out", str(tmp_path / "cli.npy"),
                 *SMALL_LAM_FLAGS]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cli.npy"), result.image)


def test_solve_with_lam_auto_meets_its_target_and_equals_the_cli(tmp_path, sr_case, texture_weights):
    observation, _ = sr_case
    result = patchnr.solve(observation, task="sr-x4", prior=texture_weights, lam="auto", noise_std=0.01, **FEW)
    assert result.tau is not None and len(result.lam_trials[0]) >= 1
    assert result.lam_trials[0][-1] == (pytest.approx(result.lam), pytest.approx(result.misfit, rel=1e-4))
    assert main(["reconstruct", "--op", "sr-x4", "--observation", str(tmp_path / "y.npy"), "--weights", texture_weights,
                 "--lam", "auto", "--noise-std", "0.01", "--out", str(tmp_path / "cli.npy"), *FEW_FLAGS]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "cli.npy"), result.image)


def test_solve_zero_shot_trains_its_prior_on_the_observation():
    truth = torch.from_numpy(texture(64, seed=5))[None, None]
    task = patchnr.get_task("sr-x2-zeroshot")
    task = replace(task, prior_trainer=lambda y, progress: train_on_observation(y, steps=200, progress=False, flow_config=TINY))
    observation = task.simulate(truth, 0)[0, 0].numpy()
    result = patchnr.solve(observation, task=task, lam=300.0, lr=0.005, iterations=30, n_patches=1000)
    assert result.prior_seconds > 0 and any("zero-shot prior" in note for note in result.notes)
    assert patchnr.psnr(result.image, truth[0, 0].numpy()) > patchnr.psnr(result.init, truth[0, 0].numpy())
    with pytest.raises(patchnr.ParameterError, match="trained on the observation"):
        patchnr.solve(observation, task=task, prior="any.pt")


def test_solve_warns_of_a_mismatched_operator(sr_case, texture_weights):
    observation, _ = sr_case
    shifted = np.roll(observation, 3, axis=1)
    with pytest.warns(patchnr.PatchNRWarning, match="misfit"):
        result = patchnr.solve(shifted, task="sr-x4", prior=texture_weights, noise_std=0.002, **FEW)
    assert len(result.warnings) == 1


def test_solve_takes_any_prior_and_solver(sr_case):
    observation, truth = sr_case
    result = patchnr.solve(observation, task="sr-x4", prior=patchnr.TotalVariation(1e-2), lam=3.5,
                           solver=patchnr.LBFGS(30))
    assert patchnr.psnr(result.image, truth) > patchnr.psnr(result.init, truth)
    assert isinstance(patchnr.LBFGS(1), patchnr.Solver) and isinstance(patchnr.GaussianNoise(1.0), patchnr.NoiseModel)


def test_sample_equals_the_cli(tmp_path, sr_case, texture_weights):
    observation, _ = sr_case
    settings = {"samples": 8, "chains": 2, "burn_in": 4, "thin": 2, "sample_patches": 300}
    post = patchnr.sample(observation, task="sr-x4", prior=texture_weights, **settings, **SMALL_LAM)
    assert post.mean.shape == post.std.shape == post.q05.shape == post.q95.shape == (64, 64)
    assert (post.q05 <= post.q95).all() and (post.std > 0).mean() > 0.99 and len(post.samples) == 8
    flags = ["--samples", "8", "--chains", "2", "--burn-in", "4", "--thin", "2", "--sample-patches", "300"]
    assert main(["sample", "--op", "sr-x4", "--observation", str(tmp_path / "y.npy"), "--weights", texture_weights,
                 "--out", str(tmp_path / "post"), *flags, *SMALL_LAM_FLAGS]) == 0
    for name in ("mean", "std", "q05", "q95"):
        np.testing.assert_array_equal(np.load(tmp_path / "post" / f"{name}.npy"), getattr(post, name))


def test_nothing_is_printed_without_a_progress_callback(sr_case, texture_weights, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        patchnr.solve(sr_case[0], task="sr-x4", prior=texture_weights, **SMALL_LAM)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_arguments_are_parameter_errors(sr_case):
    observation, _ = sr_case
    for arguments, parameter in (({"task": "sr-x4", "tau": 0.5}, "tau"), ({"task": "sr-x4", "lam": "most"}, "lam"),
                                 ({"operator": blur_and_subsample}, "noise"), ({"task": "sr-x4", "init": "noise"}, "init"),
                                 ({"task": "sr-x4", "recipe": "slow"}, "recipe"), ({"task": "sr-x4", "kernel": "gaussian:2"}, "kernel"),
                                 ({"task": "sr-x4", "ground_truth": np.zeros((10, 10))}, None)):
        with pytest.raises(patchnr.PatchNRError) as error:
            patchnr.solve(observation, **arguments)
        assert parameter is None or error.value.parameter == parameter


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_solve_on_cuda_improves_on_its_start(sr_case, texture_weights):
    observation, truth = sr_case
    result = patchnr.solve(torch.from_numpy(observation).cuda(), task="sr-x4", prior=texture_weights, device="cuda", **SMALL_LAM)
    assert result.image.device.type == "cuda"
    assert patchnr.psnr(result.image.cpu(), truth) > patchnr.psnr(result.init.cpu(), truth) + 0.3
