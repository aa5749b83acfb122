"""The CLI's promise, per defect class: one stderr line and exit 2 for a user error, nothing written
or overwritten, all outputs or none, no code run from a file."""

from __future__ import annotations

import logging
import os
import threading
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from patchnr import CheckpointError, FlowConfig, PatchFlow, TrainConfig, load_flow, save_flow, train_flow
from patchnr.cli.main import main
from patchnr.errors import PatchNRError
from patchnr.io.images import load_image
from patchnr.io.outputs import check_outputs, folder_lock, restore_on_error, write_all
from tests.conftest import texture
from tests.test_cli import _reconstruct_args, assert_user_error, run_cli, sr_case  # noqa: F401 (fixture)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _train_args(folder, *extra):
    np.save(folder / "a.npy", texture(32, seed=1))
    return ["train", folder / "a.npy", "--out", folder / "p.pt", "--layers", "1", "--width", "8", "--batch", "16",
            "--steps", "2", *extra]


# 1. an output equal to an input ------------------------------------------------------------------

@pytest.mark.parametrize("option, target", [("out", "lr.npy"), ("out", "hr.npy"), ("out", "sub/../lr.npy"), ("out", "link.npy")])
def test_output_equal_to_an_input_is_refused(sr_case, tiny_weights, capsys, option, target):
    (sr_case / "sub").mkdir()
    (sr_case / "link.npy").symlink_to(sr_case / "lr.npy")
    before = {name: (sr_case / name).read_bytes() for name in ("lr.npy", "hr.npy")}
    args = _reconstruct_args(sr_case, tiny_weights, ground_truth=sr_case / "hr.npy")
    args[args.index("--out") + 1] = sr_case / target
    err = assert_user_error(capsys, run_cli(*args))
    assert "refusing to overwrite an input" in err
    assert {name: (sr_case / name).read_bytes() for name in before} == before


def test_png_equal_to_a_png_observation_is_refused(sr_case, tiny_weights, capsys):
    Image.fromarray((np.load(sr_case / "lr.npy").clip(0, 1) * 255).astype(np.uint8)).save(sr_case / "lr.png")
    before = (sr_case / "lr.png").read_bytes()
    args = _reconstruct_args(sr_case, tiny_weights, png=sr_case / "lr.png")
    args[args.index("--observation") + 1] = sr_case / "lr.png"
    assert "--png" in assert_user_error(capsys, run_cli(*args), sr_case / "rec.npy")
    assert (sr_case / "lr.png").read_bytes() == before


def test_train_log_equal_to_a_training_image_is_refused(tmp_path, capsys):
    args = _train_args(tmp_path, "--log", tmp_path / "a.npy")
    before = (tmp_path / "a.npy").read_bytes()
    assert "--log" in assert_user_error(capsys, run_cli(*args), tmp_path / "p.pt")
    assert (tmp_path / "a.npy").read_bytes() == before


def test_check_outputs_sees_hard_links_and_duplicate_outputs(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"x")
    os.link(tmp_path / "a.npy", tmp_path / "b.npy")
    with pytest.raises(PatchNRError, match="input"):
        check_outputs({"--out": tmp_path / "b.npy"}, {"--observation": tmp_path / "a.npy"})
    with pytest.raises(PatchNRError, match="same file"):
        check_outputs({"--out": tmp_path / "c.csv", "--log": tmp_path / "." / "c.csv"}, {})


# 2. a diverged solve is not written ---------------------------------------------------------------

def test_diverged_solve_writes_nothing(sr_case, tiny_weights, capsys):
    code = run_cli(*_reconstruct_args(sr_case, tiny_weights, lr="1e9", png=sr_case / "fig.png"))
    assert_user_error(capsys, code, sr_case / "rec.npy", sr_case / "fig.png")


# 3. a failed run leaves nothing ---------------------------------------------------------------------

def test_failing_figure_leaves_no_array(sr_case, tiny_weights, monkeypatch, capsys):
    import patchnr.io.figures

    def broken_figure(path, *args, **kwargs):
        open(path, "wb").write(b"half a png")
        raise OSError("disk full")

    monkeypatch.setattr(patchnr.io.figures, "comparison_figure", broken_figure)
    with pytest.raises(OSError, match="disk full"):
        run_cli(*_reconstruct_args(sr_case, tiny_weights, png=sr_case / "fig.png"))
    assert sorted(p.name for p in sr_case.iterdir()) == ["hr.npy", "lr.npy", "tiny.pt"]


def test_write_all_renames_only_after_every_writer_succeeded(tmp_path):
    (tmp_path / "old.npy").write_bytes(b"old")

    def fail(path):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        write_all({tmp_path / "old.npy": lambda path: path.write_bytes(b"new"), tmp_path / "b.png": fail})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.npy"] and (tmp_path / "old.npy").read_bytes() == b"old"
    write_all({tmp_path / "old.npy": lambda path: path.write_bytes(b"new"), tmp_path / "b.png": lambda path: path.write_bytes(b"png")})
    assert (tmp_path / "old.npy").read_bytes() == b"new" and (tmp_path / "b.png").read_bytes() == b"png"


def _diverge_after(monkeypatch, calls: int) -> None:
    """Make PatchFlow.nll return NaN from its ``calls``-th training call on."""
    original, count = PatchFlow.nll, {"n": 0}

    def nll(self, patches):
        if self.training:
            count["n"] += 1
        result = original(self, patches)
        return result * float("nan") if count["n"] >= calls else result

    monkeypatch.setattr(PatchFlow, "nll", nll)


def _train(tmp_path, steps: int, resume: bool = False):
    image = torch.from_numpy(texture(32))[None]
    config = TrainConfig(steps=steps, batch_size=16, validate_every=2, checkpoint_every=2, validation_patches=100)
    return train_flow([image], FlowConfig(num_layers=1, hidden_width=8), config, image, checkpoint=tmp_path / "f.pt",
                      log_csv=tmp_path / "f.csv", resume=resume, progress=False)


def test_diverged_training_leaves_no_log_or_checkpoint(tmp_path, monkeypatch):
    _diverge_after(monkeypatch, 4)
    with pytest.raises(PatchNRError, match="diverged"):
        _train(tmp_path, 10)
    assert list(tmp_path.iterdir()) == []


def test_diverged_resume_keeps_the_earlier_rows_and_checkpoint(tmp_path, monkeypatch):
    _train(tmp_path, 4)
    log, checkpoint = (tmp_path / "f.csv").read_bytes(), (tmp_path / "f.pt").read_bytes()
    _diverge_after(monkeypatch, 3)
    with pytest.raises(PatchNRError, match="diverged"):
        _train(tmp_path, 10, resume=True)
    assert (tmp_path / "f.csv").read_bytes() == log and (tmp_path / "f.pt").read_bytes() == checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.csv", "f.pt"]


def test_restore_on_error_leaves_files_on_other_exceptions(tmp_path):
    with pytest.raises(KeyboardInterrupt), restore_on_error([tmp_path / "x"]):
        (tmp_path / "x").write_text("kept")
        raise KeyboardInterrupt
    assert (tmp_path / "x").read_text() == "kept"


# 4. output locations checked before any work ---------------------------------------------------------

@pytest.mark.parametrize("where", ["folder", "parent-file", "read-only"])
def test_unwritable_outputs_are_refused_up_front(sr_case, tiny_weights, capsys, monkeypatch, where):
    import patchnr.tasks

    if where == "read-only" and IS_ROOT:
        pytest.skip("root writes to read-only folders")
    monkeypatch.setattr(patchnr.tasks.Task, "solve", lambda *a, **k: pytest.fail("solved before checking the outputs"))
    (sr_case / "folder.npy").mkdir()
    (sr_case / "file").write_text("")
    (sr_case / "locked").mkdir(mode=0o500)
    target = {"folder": "folder.npy", "parent-file": "file/rec.npy", "read-only": "locked/rec.npy"}[where]
    args = _reconstruct_args(sr_case, tiny_weights)
    args[args.index("--out") + 1] = sr_case / target
    assert_user_error(capsys, run_cli(*args))
    train = _train_args(sr_case, "--log", sr_case / target)
    assert_user_error(capsys, run_cli(*train), sr_case / "p.pt")
    folder = {"folder": "file", "parent-file": "file/results", "read-only": "locked/results"}[where]
    benchmark = ["benchmark", "--task", "sr-x4", "--methods", "bicubic", "--images", sr_case / "hr.npy", "--out",
                 sr_case / folder, "--quiet"]
    assert_user_error(capsys, run_cli(*benchmark))


# 5. malformed checkpoints ---------------------------------------------------------------------------

def _valid_payload() -> dict:
    flow = PatchFlow(FlowConfig(num_layers=1, hidden_width=8))
    return {"format": "patchnr-flow", "format_version": 1, "config": flow.config.to_dict(),
            "state_dict": flow.state_dict(), "metadata": {}}


@pytest.mark.parametrize("change, message", [
    (lambda p: {"net_state_dict": [1, 2]}, "not a dict"),
    (lambda p: {"net_state_dict": {"module_list.1.perm": torch.tensor(3)}}, "not a patchNR GLOW"),
    (lambda p: p["config"].update(hidden_width=-8), "hidden_width"),
    (lambda p: p["config"].update(num_layers=0), "num_layers"),
    (lambda p: p["config"].update(patch_size="6"), "patch_size"),
    (lambda p: p["config"].update(clamp=float("nan")), "clamp"),
    (lambda p: p["config"].update(patch_size=1000), "exceeds"),
    (lambda p: p.update(config=[1]), "architecture"),
    (lambda p: p.update(state_dict=[1, 2]), "not a dict"),
    (lambda p: p["state_dict"].update(extra=3), "not a tensor"),
    (lambda p: p.update(metadata=[1]), "metadata"),
])
def test_malformed_checkpoints_are_one_line_errors(tmp_path, change, message):
    payload = _valid_payload()
    payload = change(payload) or payload
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=message):
        load_flow(tmp_path / "bad.pt")


@pytest.mark.parametrize("entry, value, message", [
    ("optimizer_state", {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": []}, "optimizer"),
    ("optimizer_state", [1, 2], "optimizer"),
    ("rng_state", torch.zeros(3, dtype=torch.uint8), "random state"),
    ("rng_state", "seed", "random state"),
    ("step", -3, "step"),
    ("step", 2.5, "step"),
    ("seconds", float("nan"), "training time"),
])
def test_corrupt_resume_state_is_one_line(tmp_path, capsys, entry, value, message):
    args = _train_args(tmp_path)
    assert run_cli(*args) == 0
    payload = torch.load(tmp_path / "p.pt", weights_only=True)
    (payload["metadata"] if entry in ("step", "seconds") else payload)[entry] = value
    torch.save(payload, tmp_path / "p.pt")
    capsys.readouterr()
    assert message in assert_user_error(capsys, run_cli(*args[:-1], "4", "--resume"))


# 6. values that pass parsing must not crash later -----------------------------------------------------

@pytest.mark.parametrize("extra", [("--lr", "nan"), ("--seed", str(2**64)), ("--seed", "-1"), ("--minutes", "nan"),
                                   ("--minutes", "inf"), ("--width", "0"), ("--steps", "1e3")])
def test_train_values_refused_at_parsing(tmp_path, capsys, extra):
    assert extra[0] in assert_user_error(capsys, run_cli(*_train_args(tmp_path, *extra)), tmp_path / "p.pt", tmp_path / "p.csv")


@pytest.mark.parametrize("extra", [("lr", "nan"), ("lam", "inf"), ("seed", str(2**64)), ("iterations", "-1"), ("patches", "nan")])
def test_reconstruct_values_refused_at_parsing(sr_case, tiny_weights, capsys, extra):
    assert f"--{extra[0]}" in assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights, **dict([extra]))), sr_case / "rec.npy")


def test_validation_image_smaller_than_the_patch(tmp_path, capsys):
    np.save(tmp_path / "v.npy", texture(4))
    err = assert_user_error(capsys, run_cli(*_train_args(tmp_path, "--validation", tmp_path / "v.npy")), tmp_path / "p.pt")
    assert "smaller than the patch" in err


def test_example_mode_ground_truth_of_wrong_size(tmp_path, tiny_weights, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "gt.npy", texture(63))
    code = run_cli("reconstruct", "--op", "sr-x4", "--ground-truth", tmp_path / "gt.npy", "--weights", tiny_weights, "--quiet")
    assert "(63, 63)" in assert_user_error(capsys, code, tmp_path / "patchnr-example-sr-x4.npy")


# 7. options that do not apply are refused -------------------------------------------------------------

def test_backend_with_superresolution_is_refused(sr_case, tiny_weights, capsys):
    err = assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, tiny_weights, backend="sparse")), sr_case / "rec.npy")
    assert "--backend" in err and "ct-lowdose" in err


# 8. inputs read as documented ------------------------------------------------------------------------

def test_bit_depths_and_palettes_are_scaled_to_unit_range(tmp_path):
    ramp = np.linspace(0, 1, 64, dtype=np.float64).reshape(8, 8)
    Image.fromarray((ramp * 65535).astype(np.uint16)).save(tmp_path / "g16.png")
    Image.fromarray((ramp * 255).astype(np.uint8)).convert("P").save(tmp_path / "pal.png")
    palette = Image.fromarray((ramp * 255).astype(np.uint8)).quantize(16)
    palette.save(tmp_path / "quant.png")
    np.testing.assert_allclose(load_image(tmp_path / "g16.png"), ramp, atol=1e-4)
    np.testing.assert_allclose(load_image(tmp_path / "pal.png"), ramp, atol=1 / 255)
    expected = np.asarray(palette.convert("L"), np.float32) / 255
    np.testing.assert_allclose(load_image(tmp_path / "quant.png"), expected)


@pytest.mark.parametrize("array, role, message", [
    (np.arange(64).reshape(8, 8), "image", "float32"),
    (np.ones((8, 8), bool), "observation", "float32"),
    (np.full((8, 8), 1e6, np.float32), "image", "[0, 1]"),
    (np.full((8, 8), -0.9, np.float32), "image", "[0, 1]"),
    (np.zeros((0, 8), np.float32), "image", "non-empty"),
    (np.full((8, 8), 1e300), "observation", "float32 range"),
    (np.full((8, 8), np.nan, np.float32), "observation", "observation contains NaN"),
])
def test_ambiguous_or_out_of_range_arrays_are_refused(tmp_path, array, role, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(PatchNRError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_image(tmp_path / "x.npy", role=role)


def test_observations_may_leave_the_unit_range(tmp_path):
    np.save(tmp_path / "sino.npy", np.full((8, 8), 40.0, np.float32))
    assert load_image(tmp_path / "sino.npy", role="observation").max() == 40.0


# 9. one benchmark writer per folder -----------------------------------------------------------------

def test_second_benchmark_into_a_locked_folder_is_refused(tmp_path, capsys):
    np.save(tmp_path / "hr.npy", texture(32))
    out = tmp_path / "out"
    out.mkdir()
    args = ["benchmark", "--task", "sr-x4", "--methods", "bicubic", "--images", tmp_path / "hr.npy", "--out", out, "--quiet"]
    with folder_lock(out):
        assert "another benchmark is writing" in assert_user_error(capsys, run_cli(*args), out / "cases.csv")
    assert run_cli(*args) == 0
    assert len((out / "cases.csv").read_text().splitlines()) == 2


def test_folder_lock_admits_one_thread_at_a_time(tmp_path):
    outcomes, inside = [], threading.Barrier(2, timeout=10)

    def hold():
        try:
            with folder_lock(tmp_path):
                outcomes.append("held")
                inside.wait()
        except PatchNRError:
            outcomes.append("refused")
            inside.wait()

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held", "refused"]


# 10. no extra or misleading stderr -------------------------------------------------------------------

def test_garbage_tiff_is_one_line_without_log_records(sr_case, tiny_weights, capsys, caplog):
    (sr_case / "lr.tif").write_bytes(b"II*\x00" + bytes(range(200)))
    args = _reconstruct_args(sr_case, tiny_weights)
    args[args.index("--observation") + 1] = sr_case / "lr.tif"
    with caplog.at_level(logging.DEBUG):
        assert "cannot read image" in assert_user_error(capsys, run_cli(*args), sr_case / "rec.npy")
    assert not [record for record in caplog.records if record.name.startswith("tifffile")]


def test_constant_ground_truth_prints_no_infinite_psnr(sr_case, tiny_weights, capsys):
    np.save(sr_case / "hr.npy", np.full((64, 64), 0.5, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = run_cli(*_reconstruct_args(sr_case, tiny_weights, ground_truth=sr_case / "hr.npy", iterations="1"))
    out = capsys.readouterr().out
    assert code == 0 and "inf" not in out and "PSNR n/a" in out


def test_npy_as_weights_is_not_called_pickled(sr_case, capsys):
    err = assert_user_error(capsys, run_cli(*_reconstruct_args(sr_case, sr_case / "lr.npy")), sr_case / "rec.npy")
    assert "not a torch checkpoint" in err and "pickled" not in err


# first use ---------------------------------------------------------------------------------------

def test_version_and_help_show_every_option_with_its_default(capsys):
    from patchnr import __version__
    from patchnr.cli.main import build_parser

    assert main(["--version"]) == 0 and __version__ in capsys.readouterr().out
    commands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in commands.items():
        for action in parser._actions:
            assert action.help, f"{name} {action.option_strings} has no help"
    assert main(["train", "--help"]) == 0 and "(default: 0)" in capsys.readouterr().out


def test_resume_continues_the_learning_rate_schedule(tmp_path):
    image = torch.from_numpy(texture(32))[None]
    flow_config = FlowConfig(num_layers=1, hidden_width=8)
    first = TrainConfig(steps=100, batch_size=16, max_seconds=0.0)
    train_flow([image], flow_config, first, checkpoint=tmp_path / "f.pt", progress=False)
    payload = torch.load(tmp_path / "f.pt", weights_only=True)
    assert payload["metadata"]["step"] == 1 and payload["metadata"]["seconds"] > 0
    payload["metadata"]["seconds"] = 50.0  # as if the first run had used 50 s of a longer budget
    torch.save(payload, tmp_path / "f.pt")
    second = TrainConfig(steps=2, batch_size=16, max_seconds=100.0)
    train_flow([image], flow_config, second, checkpoint=tmp_path / "f.pt", resume=True, progress=False)
    lr = torch.load(tmp_path / "f.pt", weights_only=True)["optimizer_state"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(second.lr * second.lr_factor(0.5), rel=1e-3)
    assert torch.load(tmp_path / "f.pt", weights_only=True)["metadata"]["seconds"] >= 50.0


def test_tests_use_a_temporary_cache():
    from patchnr.operators.ct.ray_transform import cache_dir

    home_cache = os.path.expanduser("~/.cache")
    assert not str(cache_dir()).startswith(home_cache) and not os.environ["PATCHNR_RUNS"].startswith(home_cache)


def test_progress_bar_follows_the_time_budget():
    from patchnr.flows.train import _ProgressBar

    config = TrainConfig(steps=28_000, max_seconds=60.0)
    bar = _ProgressBar(config, start=0, seconds_before=0.0, enabled=False)
    bar.advance(config.progress(10, 30.0))
    assert bar.bar.total == 100 and bar.percent == pytest.approx(50.0)
    bar.advance(config.progress(20, 90.0))
    assert bar.percent == pytest.approx(100.0)
