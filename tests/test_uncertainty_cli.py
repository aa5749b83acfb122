"""CLI of --lam auto, the noise-level options and ``patchnr sample``: outputs and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_cli import assert_user_error, run_cli, sr_case  # noqa: F401  (sr_case is a fixture)

OPERATOR_FILE = '''
import torch.nn.functional as F


def make():
    return lambda x: F.avg_pool2d(x, 2)
'''
FAST = ["--iterations", "4", "--patches", "300", "--quiet"]


@pytest.fixture
def custom_case(tmp_path):
    """A 2× average-pooling operator in a user's file, and a noisy observation (σ = 0.02) of a 32² texture."""
    from tests.conftest import texture

    (tmp_path / "pool.py").write_text(OPERATOR_FILE)
    truth = texture(32, seed=1)
    observation = truth.reshape(16, 2, 16, 2).mean((1, 3)) + 0.02 * np.random.default_rng(0).standard_normal((16, 16))
    np.save(tmp_path / "y.npy", observation.astype(np.float32))
    return tmp_path


def custom_args(case, weights, *extra):
    return ["reconstruct", "--operator", f"{case / 'pool.py'}:make", "--image-shape", "32,32", "--observation", case / "y.npy",
            "--weights", weights, "--out", case / "rec.npy", "--iterations", "60", "--lr", "0.05", "--patches", "300", "--quiet", *extra]


def test_lam_auto_with_a_custom_operator(custom_case, tiny_weights, capsys):
    code = run_cli(*custom_args(custom_case, tiny_weights, "--noise", "gaussian:0.02", "--lam", "auto"))
    out = capsys.readouterr().out
    assert code == 0
    assert "--lam auto: chose λ=" in out and "final misfit/m" in out
    assert np.load(custom_case / "rec.npy").shape == (32, 32)


def test_bare_gaussian_noise_estimates_sigma(custom_case, tiny_weights, capsys):
    code = run_cli(*custom_args(custom_case, tiny_weights, "--noise", "gaussian", "--lam", "auto"))
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 0
    sigma = float(out.split("wavelet coefficients): ")[1].split()[0])
    assert 0.01 < sigma < 0.04  # the true σ is 0.02; image structure biases the estimate upwards
    assert (custom_case / "rec.npy").exists()


def test_lam_auto_with_a_stated_sigma_on_a_task(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli("reconstruct", "--op", "sr-x4", "--observation", sr_case / "lr.npy", "--weights", tiny_weights,
                   "--out", sr_case / "rec.npy", "--lam", "auto", "--noise-std", "0.01", *FAST)
    assert code == 0 and "final misfit/m" in capsys.readouterr().out


@pytest.mark.parametrize("option, value", [("--noise-std", "-0.01"), ("--noise-std", "nan"), ("--photons", "-5"), ("--photons", "inf"),
                                           ("--lam", "nan"), ("--lam", "-1")])
def test_bad_noise_levels(sr_case, tiny_weights, capsys, option, value):  # noqa: F811
    code = exit_code("reconstruct", "--op", "sr-x4", "--observation", sr_case / "lr.npy", "--weights", tiny_weights,
                     "--out", sr_case / "rec.npy", option, value, *FAST)
    assert option in assert_user_error(capsys, code, sr_case / "rec.npy")


def exit_code(*argv) -> int:
    """The CLI's exit code, whether argparse exits (a bad option value) or ``main`` returns."""
    try:
        return run_cli(*argv)
    except SystemExit as stopped:
        return stopped.code


def test_photons_for_gaussian_noise_is_refused(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli("reconstruct", "--op", "sr-x4", "--observation", sr_case / "lr.npy", "--weights", tiny_weights,
                   "--out", sr_case / "rec.npy", "--photons", "1000", *FAST)
    assert "Gaussian" in assert_user_error(capsys, code, sr_case / "rec.npy")


def test_unreachable_discrepancy_target(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli("reconstruct", "--op", "sr-x4", "--observation", sr_case / "lr.npy", "--weights", tiny_weights,
                   "--out", sr_case / "rec.npy", "--lam", "auto", "--noise-std", "1e-6", *FAST)
    assert "cannot reach" in assert_user_error(capsys, code, sr_case / "rec.npy")


def sample_args(case, weights, *extra):
    return ["sample", "--op", "sr-x4", "--observation", case / "lr.npy", "--ground-truth", case / "hr.npy", "--weights", weights,
            "--out", case / "posterior", *FAST, *extra]


def test_sample_writes_the_posterior_folder(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli(*sample_args(sr_case, tiny_weights, "--samples", "8", "--chains", "2", "--burn-in", "2", "--thin", "1"))
    out = capsys.readouterr().out
    assert code == 0 and "coverage" in out and "Spearman" in out
    for name in ("mean", "std", "q05", "q95"):
        array = np.load(sr_case / "posterior" / f"{name}.npy")
        assert array.shape == (64, 64) and array.dtype == np.float32
    low, high = np.load(sr_case / "posterior" / "q05.npy"), np.load(sr_case / "posterior" / "q95.npy")
    assert (low <= high).all() and np.load(sr_case / "posterior" / "std.npy").max() > 0
    assert (sr_case / "posterior" / "figure.png").stat().st_size > 1000


@pytest.mark.parametrize("extra", [("--samples", "0"), ("--chains", "0"), ("--thin", "0"), ("--burn-in", "-1"), ("--step", "nan"),
                                   ("--noise-std", "-1")])
def test_sample_bad_inputs(sr_case, tiny_weights, capsys, extra):  # noqa: F811
    assert extra[0] in assert_user_error(capsys, exit_code(*sample_args(sr_case, tiny_weights, *extra)), sr_case / "posterior")


def test_sample_unreachable_discrepancy_target(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli(*sample_args(sr_case, tiny_weights, "--lam", "auto", "--noise-std", "1e-6"))
    assert "cannot reach" in assert_user_error(capsys, code, sr_case / "posterior")


def test_tau_without_lam_auto_is_refused(sr_case, tiny_weights, capsys):  # noqa: F811
    code = run_cli("reconstruct", "--op", "sr-x4", "--observation", sr_case / "lr.npy", "--weights", tiny_weights,
                   "--out", sr_case / "rec.npy", "--tau", "0.9", *FAST)
    assert "--lam auto" in assert_user_error(capsys, code, sr_case / "rec.npy")
