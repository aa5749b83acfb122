"""Deblur, inpaint, zero-shot and bicubic-degradation superresolution: operators' own behaviour,
tiny end-to-end solves that improve on their start, the mismatch check and the bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from patchnr.cli.main import main
from patchnr.errors import ParameterError
from patchnr.metrics import psnr
from patchnr.physics.mismatch import MISMATCH_THRESHOLD, operator_mismatch
from patchnr.operators import BicubicDownsample, Inpainting, blur, load_kernel, zero_shot_x2, zero_shot_x4
from patchnr.optim.recipes import Recipe
from patchnr.tasks import get_task
from tests.conftest import TINY, texture
from tests.test_cli import assert_user_error


def as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image)[None, None]


# --------------------------------------------------------------------------------------------
# Operators' own behaviour


def test_named_kernels_are_normalised_and_motion_is_a_line():
    for spec in ("gaussian:1", "gaussian:3.5", "motion:9:0", "motion:12:45"):
        assert torch.isclose(load_kernel(spec).sum(), torch.tensor(1.0))
    horizontal = load_kernel("motion:9:0")
    assert (horizontal.sum(1) > 0).sum() == 1 and (horizontal.sum(0) > 0).sum() == 9


def test_blur_keeps_size_and_constants_and_wiener_undoes_it():
    op = blur("gaussian:2")
    x = as_batch(texture(64))
    assert op(x).shape == x.shape
    assert torch.allclose(op(torch.full((1, 1, 40, 40), 0.3)), torch.tensor(0.3))
    assert (op.pseudo_inverse(op(x)) - x).pow(2).mean() < 0.2 * (op(x) - x).pow(2).mean()


def test_inpainting_mask_keeps_known_pixels_and_fill_is_close():
    op = Inpainting(missing=0.5, seed=3)
    x = as_batch(texture(64))
    mask = op.mask_for((64, 64))
    assert mask.mean() == 0.5 and torch.equal(op(x)[0, 0][mask == 1], x[0, 0][mask == 1]) and op(x)[0, 0][mask == 0].abs().max() == 0
    fill = op.pseudo_inverse(op(x) + 7 * (1 - mask))  # values at unknown pixels are ignored
    assert torch.equal(fill[0, 0][mask == 1], x[0, 0][mask == 1])
    assert (fill - x).pow(2).mean() < 0.05 * (x - x.mean()).pow(2).mean()


def test_bicubic_degradation_matches_pil_resize():
    from PIL import Image

    image = (texture(64) * 255).round().astype(np.uint8)
    pil = np.asarray(Image.fromarray(image).resize((16, 16), Image.BICUBIC), dtype=np.float32) / 255
    ours = BicubicDownsample(4)(as_batch(image.astype(np.float32) / 255))[0, 0].numpy()
    assert np.abs(pil - ours).max() < 1.5 / 255


@pytest.mark.parametrize("make, factor", [(zero_shot_x2, 2), (zero_shot_x4, 4)])
def test_zero_shot_shapes_and_aligned_bicubic_start(make, factor):
    op = make()
    x = as_batch(texture(96))
    y = op(x)
    assert y.shape[-2:] == (96 // factor, 96 // factor) and op.domain_shape((20, 30)) == (20 * factor, 30 * factor)
    start = op.pseudo_inverse(y)
    errors = {shift: (torch.roll(start, (shift, shift), (2, 3)) - x)[..., 8:-8, 8:-8].pow(2).mean().item() for shift in (-1, 0, 1)}
    assert min(errors, key=errors.get) == 0


# --------------------------------------------------------------------------------------------
# Tiny end-to-end solves: a prior trained on other textures (zero-shot: on the observation itself)
# takes the task's start closer to the ground truth


ZERO_SHOT_STEPS = {"sr-x2-zeroshot": 200, "sr-x4-zeroshot": 100}


@pytest.mark.parametrize("name, options, lam, lr, margin", [  # margin: about half the PSNR gain measured
    ("deblur", {"kernel": "gaussian:1.5"}, 100.0, 0.01, 2.0), ("deblur", {"kernel": "motion:7:30"}, 100.0, 0.01, 3.5),
    ("inpaint", {"missing": 0.6}, 30.0, 0.01, 1.5), ("sr-x4", {"degradation": "bicubic"}, 30.0, 0.01, 1.0),
    ("sr-x2-zeroshot", {}, 300.0, 0.005, 1.0), ("sr-x4-zeroshot", {}, 30.0, 0.01, 1.3),
])
def test_tiny_solve_improves_on_its_start(name, options, lam, lr, margin, texture_flow):
    """30 Adam steps lower the objective and raise the PSNR against the ground truth by ``margin`` dB
    over the task's start."""
    task = get_task(name, **options)
    truth = as_batch(texture(64, seed=5))
    observation = task.simulate(truth, 0)
    start = task.initialise(observation)
    flow = tiny_prior(task, observation, texture_flow)
    recipe = Recipe(lam=lam, iterations=30, lr=lr, n_patches=1000)
    result = task.solve(observation, flow, recipe, init=start, progress=False)
    objective = task_objective(task, observation, flow, lam)
    assert result.image.shape == truth.shape and torch.isfinite(result.image).all()
    assert objective(result.image) < objective(start)
    gain = psnr(result.image, truth) - psnr(start, truth)
    assert gain > margin


def tiny_prior(task, observation, texture_flow):
    """A zero-shot task's own path (a ``TINY`` flow trained on the observation's views); else ``texture_flow``."""
    from patchnr.flows.zero_shot import train_on_observation

    if task.prior_trainer is None:
        return texture_flow
    return train_on_observation(observation, steps=ZERO_SHOT_STEPS[task.name], progress=False, flow_config=TINY)


def task_objective(task, observation, flow, lam):
    """J(x) = D + λ·patchNR(x) over every patch (no random subset), for comparing two images."""
    from patchnr.optim.objective import Objective
    from patchnr.priors import FlowDensity, PatchPrior, PatchSampler

    prior = PatchPrior(FlowDensity(flow), PatchSampler(flow.config.patch_size, None, 0))
    objective = Objective(task.measurement, observation, prior, lam)
    return lambda image: float(objective(image))


def test_zero_shot_prior_trains_on_the_observation():
    from patchnr.flows.zero_shot import dihedral_views, train_on_observation

    image = torch.arange(12.0).view(1, 3, 4)
    assert len({tuple(view.flatten().tolist()) for view in dihedral_views(image)}) == 8
    observation = as_batch(texture(32))
    flow = train_on_observation(observation, steps=3, progress=False)
    assert flow.config.patch_size == 6 and not flow.training


# --------------------------------------------------------------------------------------------
# The mismatch check


def test_mismatch_warning_only_for_a_wrong_operator():
    truth = as_batch(texture(64, seed=2))
    bicubic_made = get_task("sr-x4", degradation="bicubic")
    observation = bicubic_made.simulate(truth, 0)
    right = bicubic_made.measurement
    wrong = get_task("sr-x4").measurement
    assert operator_mismatch(right, truth, observation) is None
    assert right.discrepancy(truth, observation) == pytest.approx(1.0, abs=0.3)
    warning = operator_mismatch(wrong, truth, observation)
    assert warning is not None and "does not match" in warning and wrong.discrepancy(truth, observation) > MISMATCH_THRESHOLD


def test_inpainting_misfit_counts_known_pixels_only():
    task = get_task("inpaint", missing=0.8)
    truth = as_batch(texture(64, seed=4))
    observation = task.simulate(truth, 0)
    garbage = observation + 5 * (1 - task.operator.mask_for((64, 64)))
    assert task.measurement.discrepancy(truth, garbage) == pytest.approx(1.0, abs=0.15)


def test_cli_warns_when_the_degradation_does_not_match(tmp_path, tiny_weights, capsys):
    truth = texture(64, seed=1)
    observation = get_task("sr-x4", degradation="bicubic").simulate(as_batch(truth), 0)[0, 0].numpy()
    np.save(tmp_path / "lr.npy", observation)
    common = ["reconstruct", "--op", "sr-x4", "--observation", str(tmp_path / "lr.npy"), "--weights", tiny_weights,
              "--iterations", "3", "--patches", "500", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "a.npy")]) == 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "does not match" in err
    fitted = ["--lam", "0", "--iterations", "30", "--lr", "0.02"]  # the matching model fits the data to the noise level
    assert main(common + ["--out", str(tmp_path / "b.npy"), "--degradation", "bicubic", *fitted]) == 0
    assert "does not match" not in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Bad inputs: one line on stderr, exit 2, no output


def _kernel_file(tmp_path, array, name="k.npy"):
    np.save(tmp_path / name, array)
    return str(tmp_path / name)


BAD_KERNELS = {
    "unknown name": lambda tmp: "box:3",
    "bad sigma": lambda tmp: "gaussian:-1",
    "missing file": lambda tmp: str(tmp / "none.npy"),
    "zero sum": lambda tmp: _kernel_file(tmp, np.array([[1.0, -1.0], [0.0, 0.0]])),
    "3-D": lambda tmp: _kernel_file(tmp, np.ones((3, 3, 3))),
    "NaN": lambda tmp: _kernel_file(tmp, np.array([[1.0, np.nan]])),
    "larger than the image": lambda tmp: _kernel_file(tmp, np.ones((70, 70))),
}


def _reconstruct(tmp_path, tiny_weights, op: str, *extra: str) -> list[str]:
    truth = texture(64)
    np.save(tmp_path / "obs.npy", truth)
    return ["reconstruct", "--op", op, "--observation", str(tmp_path / "obs.npy"), "--weights", tiny_weights,
            "--out", str(tmp_path / "rec.npy"), "--iterations", "2", "--patches", "200", "--quiet", *extra]


@pytest.mark.parametrize("case", sorted(BAD_KERNELS))
def test_bad_kernel(case, tmp_path, tiny_weights, capsys):
    code = main(_reconstruct(tmp_path, tiny_weights, "deblur", "--kernel", BAD_KERNELS[case](tmp_path)))
    assert "--kernel" in assert_user_error(capsys, code, tmp_path / "rec.npy")


def _mask_png(tmp_path, array, name="mask.png"):
    from PIL import Image

    Image.fromarray(array).save(tmp_path / name)
    return str(tmp_path / name)


BAD_MASKS = {
    "missing file": (lambda tmp: str(tmp / "none.png"), "--mask"),
    "no known pixel": (lambda tmp: _mask_png(tmp, np.zeros((64, 64), np.uint8)), "--mask"),
    "3-D array": (lambda tmp: _kernel_file(tmp, np.ones((2, 64, 64)), "m.npy"), "--mask"),
    "wrong suffix": (lambda tmp: str((tmp / "m.txt").write_text("1") and tmp / "m.txt"), "--mask"),
    "wrong size": (lambda tmp: _mask_png(tmp, np.full((32, 32), 255, np.uint8)), "mask is 32×32"),
}


@pytest.mark.parametrize("case", sorted(BAD_MASKS))
def test_bad_mask(case, tmp_path, tiny_weights, capsys):
    make, message = BAD_MASKS[case]
    code = main(_reconstruct(tmp_path, tiny_weights, "inpaint", "--mask", make(tmp_path)))
    assert message in assert_user_error(capsys, code, tmp_path / "rec.npy")


@pytest.mark.parametrize("fraction", ["0", "1", "-0.2", "1.5", "nan"])
def test_bad_missing_fraction(fraction, tmp_path, tiny_weights, capsys):
    code = main(_reconstruct(tmp_path, tiny_weights, "inpaint", "--missing", fraction))
    assert "--missing" in assert_user_error(capsys, code, tmp_path / "rec.npy")


@pytest.mark.parametrize("extra, message", [
    (("--mask", "x.png", "--missing", "0.5"), "not both"),
    (("--kernel", "gaussian:2"), "--kernel"),  # an option of another task
])
def test_option_conflicts(extra, message, tmp_path, tiny_weights, capsys):
    code = main(_reconstruct(tmp_path, tiny_weights, "inpaint", *extra))
    assert message in assert_user_error(capsys, code, tmp_path / "rec.npy")


def test_bad_degradation_and_weights_for_zero_shot(tmp_path, tiny_weights, capsys):
    code = main(_reconstruct(tmp_path, tiny_weights, "sr-x4", "--degradation", "lanczos"))
    assert "--degradation" in assert_user_error(capsys, code, tmp_path / "rec.npy")
    code = main(_reconstruct(tmp_path, tiny_weights, "sr-x2-zeroshot"))
    assert "--weights" in assert_user_error(capsys, code, tmp_path / "rec.npy")


def test_kernel_errors_name_the_parameter():
    with pytest.raises(ParameterError) as error:
        load_kernel("motion:0:10")
    assert error.value.parameter == "kernel"


def test_wrong_sized_mask_and_large_kernel_on_the_embedded_example(tmp_path, capsys):
    mask = _mask_png(tmp_path, np.full((32, 32), 255, np.uint8))
    code = main(["reconstruct", "--op", "inpaint", "--mask", mask, "--out", str(tmp_path / "rec.npy"), "--quiet"])
    assert "mask is 32×32" in assert_user_error(capsys, code, tmp_path / "rec.npy")
    kernel = _kernel_file(tmp_path, np.ones((300, 300)))
    code = main(["reconstruct", "--op", "deblur", "--kernel", kernel, "--out", str(tmp_path / "rec.npy"), "--quiet"])
    assert "larger than the" in assert_user_error(capsys, code, tmp_path / "rec.npy")


def test_task_options_refused_with_a_custom_operator(tmp_path, tiny_weights, capsys):
    (tmp_path / "op.py").write_text("def make():\n    return lambda x: 2 * x\n")
    np.save(tmp_path / "obs.npy", texture(32))
    code = main(["reconstruct", "--operator", f"{tmp_path / 'op.py'}:make", "--noise", "gaussian:0.01", "--observation",
                 str(tmp_path / "obs.npy"), "--out", str(tmp_path / "rec.npy"), "--kernel", "gaussian:2", "--quiet"])
    assert "--kernel" in assert_user_error(capsys, code, tmp_path / "rec.npy")


def test_solve_runs_extra_callbacks_after_the_default_ones(tiny_flow):
    from patchnr.optim.callbacks import Callback

    class Count(Callback):
        def __init__(self):
            self.steps = 0

        def step(self, iteration, image, result):
            self.steps += 1

    task = get_task("deblur")
    observation = task.simulate(as_batch(texture(64, seed=5)), 0)
    count = Count()
    task.solve(observation, tiny_flow, Recipe(lam=20.0, iterations=3, lr=0.005, n_patches=500), progress=False, callbacks=[count])
    assert count.steps == 3
