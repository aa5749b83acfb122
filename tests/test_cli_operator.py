"""``patchnr reconstruct --operator FILE:NAME``: a user's own forward model from the command line."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

from patchnr import GaussianNoise, PoissonNoise, psnr
from patchnr.cli.main import main
from tests.conftest import texture

USER_FILE = textwrap.dedent('''
    import torch
    import torch.nn.functional as F

    def make_operator():
        """5×5 box blur with reflect boundary, then every second pixel: H×W → H/2×W/2."""
        def blur_and_subsample(x):
            kernel = torch.full((1, 1, 5, 5), 1 / 25, dtype=x.dtype, device=x.device)
            return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), kernel)[..., ::2, ::2]
        return blur_and_subsample

    def make_wrong_size():
        return lambda x: x[..., ::3, ::3]

    def make_raising():
        raise RuntimeError("no licence for this scanner")

    NOT_CALLABLE = 3
''')


@pytest.fixture(scope="module")
def trained_weights(tmp_path_factory) -> str:
    """A tiny flow trained for 300 steps on a texture like the test's ground truth."""
    from patchnr import FlowConfig, TrainConfig, save_flow, train_flow

    torch.manual_seed(0)
    flow = train_flow([torch.from_numpy(texture(96, seed=1))[None]], FlowConfig(num_layers=2, hidden_width=32),
                      TrainConfig(steps=300, batch_size=256, lr=2e-3), progress=False)
    path = tmp_path_factory.mktemp("prior") / "texture.pt"
    save_flow(path, flow)
    return str(path)


@pytest.fixture
def problem(tmp_path):
    """The user's file, a 48×48 ground truth and its bicubic-like starting image."""
    (tmp_path / "my_problem.py").write_text(USER_FILE)
    truth = texture(48, seed=4)
    np.save(tmp_path / "gt.npy", truth)
    return tmp_path, truth


def _observe(tmp_path, truth, noise) -> torch.Tensor:
    namespace: dict = {}
    exec(USER_FILE, namespace)  # the test's own operator, to simulate the observation
    clean = namespace["make_operator"]()(torch.from_numpy(truth)[None, None])
    y = noise.simulate(clean, seed=0)
    np.save(tmp_path / "y.npy", y[0, 0].numpy())
    init = torch.nn.functional.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
    np.save(tmp_path / "init.npy", init[0, 0].numpy())
    return init


def _args(tmp_path, weights, noise, *extra):
    return ["reconstruct", "--operator", f"{tmp_path / 'my_problem.py'}:make_operator", "--noise", noise,
            "--observation", str(tmp_path / "y.npy"), "--weights", weights, "--out", str(tmp_path / "x.npy"),
            "--image-shape", "48,48", "--iterations", "60", "--patches", "400", "--lr", "0.01", "--quiet", *extra]


@pytest.mark.parametrize("noise_spec, noise, lam", [("gaussian:0.01", GaussianNoise(0.01), "50"),
                                                    ("poisson:2000:1", PoissonNoise(2000.0, 1.0), "20")])
def test_user_operator_improves_on_its_initialisation(problem, trained_weights, capsys, noise_spec, noise, lam):
    tmp_path, truth = problem
    init = _observe(tmp_path, truth, noise)
    code = main(_args(tmp_path, trained_weights, noise_spec, "--init", str(tmp_path / "init.npy"), "--lam", lam,
                      "--ground-truth", str(tmp_path / "gt.npy")))
    assert code == 0, capsys.readouterr().err
    result = np.load(tmp_path / "x.npy")
    assert result.shape == (48, 48)
    assert psnr(result, truth) > psnr(init, truth) + 2.0
    assert "initialisation: PSNR" in capsys.readouterr().out


def test_default_lambda_is_the_matching_tasks(problem, tiny_weights, capsys):
    tmp_path, truth = problem
    _observe(tmp_path, truth, GaussianNoise(0.01))
    assert main(_args(tmp_path, tiny_weights, "gaussian:0.01", "--iterations", "2")) == 0
    assert "λ=1250" in capsys.readouterr().out  # sr-x4's fast λ in Gaussian-NLL units


@pytest.mark.parametrize("spec, extra, message", [
    ("missing.py:make_operator", [], "no such file"),
    ("my_problem.py:nothing_here", [], "no callable 'nothing_here'"),
    ("my_problem.py:NOT_CALLABLE", [], "no callable"),
    ("my_problem.py:make_raising", [], "no licence for this scanner"),
    ("my_problem.py:make_wrong_size", [], "does not match|has shape"),
    ("my_problem.py", [], "FILE.py:NAME"),
    ("my_problem.py:make_operator", ["--image-shape", "0,4"], "--image-shape"),
])
def test_bad_operators_end_in_one_line(problem, tiny_weights, capsys, spec, extra, message):
    import re

    tmp_path, truth = problem
    _observe(tmp_path, truth, GaussianNoise(0.01))
    args = _args(tmp_path, tiny_weights, "gaussian:0.01", *extra)
    args[2] = str(tmp_path / spec)
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert not (tmp_path / "x.npy").exists()


def test_unknown_image_shape_asks_for_it(problem, tiny_weights, capsys):
    tmp_path, truth = problem
    _observe(tmp_path, truth, GaussianNoise(0.01))
    args = _args(tmp_path, tiny_weights, "gaussian:0.01")
    at = args.index("--image-shape")
    del args[at : at + 2]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--image-shape" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("noise", ["gaussian:-1", "gaussian:nan", "poisson:0", "laplace:0.1", "gaussian:0.1:2"])
def test_bad_noise_specs(problem, tiny_weights, capsys, noise):
    tmp_path, truth = problem
    _observe(tmp_path, truth, GaussianNoise(0.01))
    assert main(_args(tmp_path, tiny_weights, noise)) == 2
    err = capsys.readouterr().err
    assert "--noise" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.npy").exists()
