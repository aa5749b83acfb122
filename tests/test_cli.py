"""CLI contract: outputs, and bad inputs → one line on stderr, exit 2, no output file."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from patchnr import FlowConfig, PatchFlow, save_flow
from patchnr.cli.main import main
from tests.conftest import texture


@pytest.fixture
def sr_case(tmp_path):
    """A 64×64 ground truth and its 16×16 noisy observation, as .npy files."""
    from patchnr.tasks import get_task

    gt = texture(64)
    lr = get_task("sr-x4").simulate(torch.from_numpy(gt)[None, None], 0)[0, 0].numpy()
    np.save(tmp_path / "hr.npy", gt)
    np.save(tmp_path / "lr.npy", lr)
    return tmp_path


def run_cli(*argv: str) -> int:
    return main([str(a) for a in argv])


def _reconstruct_args(case, weights, **extra):
    args = ["reconstruct", "--op", "sr-x4", "--observation", case / "lr.npy", "--weights", weights,
            "--out", case / "rec.npy", "--iterations", "3", "--patches", "500", "--quiet"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    return args


def assert_user_error(capsys, code: int, *unwanted) -> str:
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for path in unwanted:
        assert not path.exists(), f"{path} was written"
    return err


def test_reconstruct_writes_output_and_prints_metrics(sr_case, tiny_weights, capsys):
    code = run_cli(*_reconstruct_args(sr_case, tiny_weights, ground_truth=sr_case / "hr.npy", png=sr_case / "fig.png"))
    out = capsys.readouterr().out
    assert code == 0
    assert "bicubic: PSNR" in out and "patchNR: PSNR" in out
    result = np.load(sr_case / "rec.npy")
    assert result.shape == (64, 64) and result.dtype == np.float32
    assert (sr_case / "fig.png").stat().st_size > 1000


def test_missing_observation_file(sr_case, tiny_weights, capsys):
    code = run_cli(*_reconstruct_args(sr_case, tiny_weights)[:4], sr_case / "nope.npy", "--weights", tiny_weights, "--out", sr_case / "rec.npy")
    assert "no such file" in assert_user_error(capsys, code, sr_case / "rec.npy")


def test_observation_not_2d(sr_case, tiny_weights, capsys):
    np.save(sr_case / "lr.npy", np.zeros((2, 16, 16), np.float32))
    assert "2-D" in assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights)), sr_case / "rec.npy")


def test_nan_in_observation(sr_case, tiny_weights, capsys):
    lr = np.load(sr_case / "lr.npy")
    lr[3, 4] = np.nan
    np.save(sr_case / "lr.npy", lr)
    assert "NaN" in assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights)), sr_case / "rec.npy")


@pytest.mark.parametrize("config, message", [
    (FlowConfig(patch_size=4, num_layers=1, hidden_width=8), "patches"),
    (FlowConfig(patch_size=6, channels=3, num_layers=1, hidden_width=8), "channel"),
])
def test_weights_of_wrong_patch_size_or_channels(sr_case, capsys, config, message):
    save_flow(sr_case / "other.pt", PatchFlow(config))
    code = run_cli(*_reconstruct_args(sr_case, sr_case / "other.pt"))
    assert message in assert_user_error(capsys, code, sr_case / "rec.npy")


def test_truncated_checkpoint(sr_case, tiny_weights, capsys):
    data = open(tiny_weights, "rb").read()
    (sr_case / "cut.pt").write_bytes(data[: len(data) // 2])
    code = run_cli(*_reconstruct_args(sr_case, sr_case / "cut.pt"))
    assert "corrupt" in assert_user_error(capsys, code, sr_case / "rec.npy")


class _Payload:
    """Unpickling this would create a marker file: the loader must never execute it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_object_is_refused_not_executed(sr_case, capsys):
    marker = sr_case / "executed"
    torch.save({"net_state_dict": _Payload(str(marker))}, sr_case / "evil.pt")
    code = run_cli(*_reconstruct_args(sr_case, sr_case / "evil.pt"))
    assert "refused" in assert_user_error(capsys, code, sr_case / "rec.npy")
    assert not marker.exists()
    with open(sr_case / "plain.pkl", "wb") as handle:  # a bare pickle, not even a torch file
        pickle.dump({"a": 1}, handle)
    assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, sr_case / "plain.pkl")), sr_case / "rec.npy")


def test_unknown_op(sr_case, tiny_weights, capsys):
    args = _reconstruct_args(sr_case, tiny_weights)
    args[2] = "deblur-x9"
    assert "unknown --op" in assert_user_error(capsys, run_cli(*args), sr_case / "rec.npy")


def test_lr_size_not_matching_ground_truth(sr_case, tiny_weights, capsys):
    np.save(sr_case / "hr.npy", texture(60))
    code = run_cli(*_reconstruct_args(sr_case, tiny_weights, ground_truth=sr_case / "hr.npy"))
    assert "(64, 64)" in assert_user_error(capsys, code, sr_case / "rec.npy")


def test_lr_too_small_for_op(sr_case, tiny_weights, capsys):
    np.save(sr_case / "lr.npy", np.zeros((3, 3), np.float32))
    assert "sr-x4" in assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights)), sr_case / "rec.npy")


def test_negative_lambda_and_cuda_without_gpu(sr_case, tiny_weights, capsys):
    assert "--lam" in assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights, lam=-1)), sr_case / "rec.npy")
    if not torch.cuda.is_available():
        code = run_cli(*_reconstruct_args(sr_case, tiny_weights, device="cuda"))
        assert "no CUDA GPU" in assert_user_error(capsys, code, sr_case / "rec.npy")


def test_argparse_errors_are_one_line(capsys):
    assert main(["reconstruct", "--iterations", "x"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_train_then_resume(tmp_path, capsys):
    np.save(tmp_path / "a.npy", texture(32, seed=1))
    np.save(tmp_path / "v.npy", texture(32, seed=2))
    common = ["train", tmp_path / "a.npy", "--validation", tmp_path / "v.npy", "--out", tmp_path / "p.pt",
              "--layers", "1", "--width", "8", "--batch", "16", "--checkpoint-every", "5"]
    assert run_cli(*common, "--steps", "10") == 0
    assert run_cli(*common, "--steps", "20", "--resume") == 0
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0].startswith("step,train_nll,val_nll") and rows[-1].startswith("20,")
    payload = torch.load(tmp_path / "p.pt", weights_only=True)
    assert payload["format_version"] == 1 and payload["metadata"]["step"] == 20 and payload["config"]["hidden_width"] == 8


def test_train_minutes_budget_ends_the_run_and_fp32_is_recorded(tmp_path, capsys):
    np.save(tmp_path / "a.npy", texture(32, seed=1))
    assert run_cli("train", tmp_path / "a.npy", "--out", tmp_path / "p.pt", "--layers", "1", "--width", "8",
                   "--steps", "100000", "--minutes", "0.001", "--fp32") == 0
    payload = torch.load(tmp_path / "p.pt", weights_only=True)
    assert payload["metadata"]["step"] < 100000 and payload["metadata"]["train_config"]["bf16"] is False
    assert f"({payload['metadata']['step']} steps" in capsys.readouterr().out


def test_train_negative_minutes_is_a_user_error(tmp_path, capsys):
    np.save(tmp_path / "a.npy", texture(32, seed=1))
    code = run_cli("train", tmp_path / "a.npy", "--out", tmp_path / "p.pt", "--minutes", "-1")
    assert_user_error(capsys, code, tmp_path / "p.pt")


def test_train_missing_image(tmp_path, capsys):
    code = run_cli("train", tmp_path / "none.png", "--out", tmp_path / "p.pt", "--steps", "1")
    assert_user_error(capsys, code, tmp_path / "p.pt")


def test_console_script_exit_code(tmp_path):
    result = subprocess.run([sys.executable, "-m", "patchnr", "reconstruct", "--op", "nope", "--out", str(tmp_path / "r.npy")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and not (tmp_path / "r.npy").exists()


@pytest.fixture
def ct_case(tmp_path):
    """A LoDoPaB-shaped sinogram file (zeros: shape checks only, no operator is built)."""
    np.save(tmp_path / "sino.npy", np.zeros((1000, 513), np.float32))
    return tmp_path


def _ct_args(case, weights, *extra):
    return ["reconstruct", "--op", "ct-lowdose", "--observation", case / "sino.npy", "--weights", weights,
            "--out", case / "rec.npy", "--quiet", *extra]


@pytest.mark.parametrize("shape", [(1000, 512), (800, 513), (362, 362)])
def test_ct_sinogram_of_wrong_shape(ct_case, tiny_weights, capsys, shape):
    np.save(ct_case / "sino.npy", np.zeros(shape, np.float32))
    err = assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights)), ct_case / "rec.npy")
    assert "(1000, 513)" in err


@pytest.mark.parametrize("shape", [(900, 513), (1000, 512), (800, 512), (362, 362)])
def test_ct_limited_expects_800_angles_or_a_full_sinogram(ct_case, tiny_weights, capsys, shape):
    np.save(ct_case / "sino.npy", np.zeros(shape, np.float32))
    args = _ct_args(ct_case, tiny_weights)
    args[2] = "ct-limited"
    err = assert_user_error(capsys, run_cli(*args), ct_case / "rec.npy")
    assert "(800, 513)" in err and "full (1000, 513)" in err


def test_ct_limited_cuts_a_full_lodopab_sinogram(ct_case, tiny_weights, capsys):
    """A 1000×513 sinogram passes the shape check; a bad ground truth stops the run with one line before
    the 3 GB operator is built (the note about the kept rows comes with a run that goes on)."""
    np.save(ct_case / "gt.npy", np.zeros((256, 256), np.float32))
    args = _ct_args(ct_case, tiny_weights, "--ground-truth", ct_case / "gt.npy")
    args[2] = "ct-limited"
    code = run_cli(*args)
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not (ct_case / "rec.npy").exists()
    assert error.startswith("patchnr: error: ground truth") and "(362, 362)" in error


def test_ct_limited_full_sinogram_end_to_end(tmp_path, tiny_weights, monkeypatch, capsys):
    """On a small geometry: a full sinogram is cut to the kept angles and reconstructed (exit 0, one note)."""
    pytest.importorskip("odl")
    pytest.importorskip("astra")
    from patchnr.operators.ct.ray_transform import CTGeometry
    from patchnr.pipeline import problem
    from patchnr.tasks import ct_limited, ct_lowdose

    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path / "cache"))
    limited = CTGeometry(size=32, num_angles=30, num_detectors=47, angle_indices=(3, 27))
    full = ct_lowdose.make_task("sparse", geometry=CTGeometry(size=32, num_angles=30, num_detectors=47))
    np.save(tmp_path / "sino.npy", full.simulate(torch.from_numpy(texture(32))[None, None], 0)[0, 0].numpy())
    monkeypatch.setattr(problem, "get_task", lambda name, device, **options: ct_limited.make_task("sparse", device, geometry=limited))
    args = _ct_args(tmp_path, tiny_weights, "--iterations", "2", "--patches", "200")
    args[2] = "ct-limited"
    assert run_cli(*args) == 0
    err = [line for line in capsys.readouterr().err.strip().splitlines() if "warning: the data misfit" not in line]  # 2 iterations
    assert len(err) == 1 and "(30, 47)" in err[0] and "rows 3..26" in err[0]
    assert np.load(tmp_path / "rec.npy").shape == (32, 32)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_ct_sinogram_with_nan_or_inf(ct_case, tiny_weights, capsys, bad):
    sinogram = np.zeros((1000, 513), np.float32)
    sinogram[10, 20] = bad
    np.save(ct_case / "sino.npy", sinogram)
    assert "NaN or Inf" in assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights)), ct_case / "rec.npy")


def test_ct_negative_lambda_unknown_backend_and_cuda(ct_case, tiny_weights, capsys):
    assert "--lam" in assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights, "--lam", "-5")), ct_case / "rec.npy")
    err = assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights, "--backend", "gpu-magic")), ct_case / "rec.npy")
    assert "unknown CT backend" in err
    if not torch.cuda.is_available():
        err = assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights, "--device", "cuda")), ct_case / "rec.npy")
        assert "no CUDA GPU" in err
        err = assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights, "--backend", "astra_cuda")), ct_case / "rec.npy")
        assert "astra_cuda" in err


def test_ct_ground_truth_of_wrong_size(ct_case, tiny_weights, capsys):
    np.save(ct_case / "gt.npy", np.zeros((256, 256), np.float32))
    err = assert_user_error(capsys, run_cli(*_ct_args(ct_case, tiny_weights, "--ground-truth", ct_case / "gt.npy")), ct_case / "rec.npy")
    assert "(362, 362)" in err


def test_embedded_default_uses_bundled_prior_and_example(tmp_path, monkeypatch, capsys):
    """`patchnr reconstruct --op sr-x4` alone: bundled image, simulated LR, metrics, array and figure."""
    monkeypatch.chdir(tmp_path)
    assert run_cli("reconstruct", "--op", "sr-x4", "--iterations", "2", "--patches", "200", "--quiet") == 0
    out = capsys.readouterr().out
    assert "embedded example" in out and "bicubic: PSNR" in out and "patchNR: PSNR" in out
    assert np.load(tmp_path / "patchnr-example-sr-x4.npy").shape == (600, 600)
    assert (tmp_path / "patchnr-example-sr-x4.png").stat().st_size > 10_000
