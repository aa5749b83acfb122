"""The speed benchmark's bookkeeping (benchmarks/speed.py): time-to-target, extrapolation, report.

No timings are asserted: speed lives in the benchmark, not in the tests.
"""

import importlib.util
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from patchnr.tasks.ct_lowdose import FAST as FAST_CT_LOWDOSE

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"
_spec = importlib.util.spec_from_file_location("speed_benchmark", _PATH)
speed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(speed)


def test_seconds_to_target_is_the_first_crossing():
    seconds, history = [1.0, 2.0, 3.0, 4.0], [30.0, 31.9, 32.1, 31.0]
    assert speed.seconds_to_target(seconds, history, 32.0) == 3.0
    assert speed.seconds_to_target(seconds, history, 30.0) == 1.0
    assert speed.seconds_to_target(seconds, history, 33.0) is None


def test_seconds_per_iteration_leaves_out_the_warm_up():
    assert speed.seconds_per_iteration([5.0, 6.0, 7.0, 8.0]) == pytest.approx(1.0)
    assert speed.seconds_per_iteration([2.5]) == 2.5


def _timed_paper(variant: str, seconds_per_iteration: str) -> dict:
    """A compare row of the paper recipe timed over 10 of its 300 iterations."""
    return {"image": "a.npy", "variant": variant, "iterations_run": "10", "iterations": "300", "psnr": "30", "seconds": "21",
            "seconds_per_iteration": seconds_per_iteration, "reference_psnr": "38.00", "seconds_to_target": "",
            "peak_rss_mb": "4000", "threads": "2"}


def _fast(variant: str, psnr: str, seconds_to_target: str) -> dict:
    """A compare row of a 60-iteration fast variant."""
    return {"image": "a.npy", "variant": variant, "iterations_run": "60", "iterations": "60", "psnr": psnr, "seconds": "20",
            "seconds_per_iteration": "0.3", "reference_psnr": "38.00", "seconds_to_target": seconds_to_target,
            "peak_rss_mb": "3900", "threads": "2"}


def test_compare_section_extrapolates_the_paper_time_and_the_ratio():
    rows = [_timed_paper("paper (timed)", "2.0"), _fast("fast", "38.10", "12.00"), _fast("fast-fp32", "37.00", "")]
    text = "\n".join(speed._compare_section("ct-lowdose", rows))
    assert "600 (extrapolated from 10)" in text  # 2.0 s × 300 iterations
    assert "| 50× |" in text  # 600 s / 12 s
    assert "not reached" in text
    assert "reached the paper recipe's PSNR − 0.2 dB on 1" in text
    assert "mean +0.10 dB" in text
    assert "**met**" in text  # 12 s ≤ 60 s and 50× ≥ 45×
    rows[1]["seconds_to_target"] = "70.00"
    assert "**not met**" in "\n".join(speed._compare_section("ct-lowdose", rows))


def test_lever_rows_compare_each_variant_with_the_fast_default_on_the_same_images():
    rows = [_fast("fast", "38.10", "12.00"), _fast("fast-fp32", "37.90", ""), {**_fast("fast-fp32", "30.00", ""), "image": "b.npy"}]
    rows[1]["seconds_per_iteration"] = "0.6"
    text = "\n".join(speed._lever_lines(rows))
    assert "| fast-fp32 | {'bf16': False} | 0.600 (0.300) | -0.20 | 0 of 1 |" in text  # b.npy has no fast row
    assert speed._lever_lines([_fast("fast", "38.10", "12.00")]) == []


def test_the_speed_up_is_against_the_paper_width_timing_when_present():
    rows = [_timed_paper(speed.paper_variant(512), "5.0"), _timed_paper(speed.paper_variant(256), "2.0"),
            _fast("fast", "38.10", "15.00")]
    text = "\n".join(speed._compare_section("ct-lowdose", rows))
    assert "| 100× |" in text  # 5.0 s × 300 / 15 s, not 2.0 s × 300 / 15 s = 40×
    assert "1500 (extrapolated from 10)" in text and "600 (extrapolated from 10)" in text


def test_measure_runs_a_small_ct_reconstruction(tmp_path, monkeypatch):
    """A real (tiny) measurement: history per iteration, increasing wall time, finite PSNR, peak RSS."""
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path / "cache"))
    yy, xx = np.mgrid[-1:1:48j, -1:1:48j]
    phantom = ((xx**2 + yy**2) < 0.7).astype(np.float32) * 0.5 + ((xx - 0.2) ** 2 + yy**2 < 0.05) * 0.3
    np.save(tmp_path / "phantom.npy", phantom.astype(np.float32))
    recipe = replace(FAST_CT_LOWDOSE, iterations=4, n_patches=500)
    spec = {"task": "ct-lowdose", "image": str(tmp_path / "phantom.npy"), "recipe": asdict(recipe), "seed": 0,
            "threads": 1, "weights": None, "backend": "sparse", "size": 32}
    out = speed.measure(spec)
    assert len(out["seconds"]) == len(out["psnr_history"]) == 4
    assert all(b > a for a, b in zip(out["seconds"], out["seconds"][1:]))
    assert np.isfinite(out["psnr"]) and out["peak_rss_mb"] > 0
    assert out["backend"] == "sparse"


def test_missing_paper_weights_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(speed, "RESULTS", tmp_path / "results")
    with pytest.raises(SystemExit) as stop:
        speed.main(["compare", "--images", str(tmp_path), "--paper-weights", str(tmp_path / "missing.pt")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error:") and "missing.pt" in err
    assert not (tmp_path / "results").exists()


def test_the_report_states_which_reference_runs_used_a_bf16_flow():
    rows = [_timed_paper("paper (timed)", "2.0"), _fast("fast", "38.10", "12.00")]
    fp32, bf16 = {"image": "a.npy", "flow_precision": "fp32"}, {"image": "a.npy", "flow_precision": "bf16"}
    assert "bf16" not in "\n".join(speed._compare_section("sr-x4", rows, [fp32]))
    text = "\n".join(speed._compare_section("sr-x4", rows, [bf16, {**fp32, "image": "b.npy"}]))
    assert "reference runs on a.npy ran its flow under bf16 autocast" in text and "b.npy" not in text


def _training_row(recipe: str, seconds: str, val_nll: str, psnr: str) -> dict:
    return {"recipe": recipe, "width": "256", "bf16": "True", "budget_s": "600" if recipe == "fast" else "3600", "steps": "100",
            "seconds": seconds, "val_nll": val_nll, "downstream_psnr": psnr, "downstream_psnr_each": f"a.png={psnr};b.png={psnr}",
            "peak_rss_mb": "500", "threads": "2"}


@pytest.mark.parametrize("fast, verdict", [
    (("590", "-134.1", "28.60"), "**met**: NLL -0.100 nats per patch, PSNR +0.02 dB"),
    (("590", "-133.9", "28.60"), "**not met**"),  # NLL above the paper recipe's
    (("590", "-134.1", "28.57"), "**not met**"),  # downstream PSNR lower
    (("601", "-134.1", "28.60"), "**not met**"),  # over the 10-minute budget
])
def test_training_verdict_needs_time_nll_and_psnr(fast, verdict):
    rows = [_training_row("fast", *fast), _training_row("paper", "3600", "-134.0", "28.58")]
    text = "\n".join(speed._training_section("sr-x4", rows))
    assert verdict in text
    assert "a.png 28.58, b.png 28.58" in text
    assert speed._training_verdict({"fast": rows[0]}) == []


def test_training_recipes_budget_the_fast_run_inside_the_target():
    recipes = speed.training_recipes(minutes=10, ratio=6)
    assert set(recipes) == set(speed.TRAINING_RECIPES)
    (fast_flow, fast), (_, fp32), (paper_flow, paper) = recipes["fast"], recipes["fast-fp32"], recipes["paper"]
    assert fast.max_seconds == 600 - speed.TRAINING_MARGIN_S and fast.bf16 and fast_flow.hidden_width == 256
    assert fp32 == replace(fast, bf16=False)
    assert paper.max_seconds == 3600 and not paper.bf16 and paper.batch_size == 32 and paper_flow.hidden_width == 512
    with pytest.raises(SystemExit):
        speed.parse_args(["training", "--images", "a.png", "--recipes", "fast,slow"])
