"""`patchnr benchmark`: cases, summaries, resume after SIGKILL, Dask over TCP, one-line user errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from patchnr.priors.gmm import GMMSettings, fit_gmm, save_gmm
from patchnr.benchmark.cases import case_seed
from patchnr.benchmark.records import CASE_COLUMNS, CaseLog
from patchnr.cli.main import main
from tests.conftest import texture

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _images(folder: Path, count: int, size: int = 32) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        np.save(folder / f"img{index}.npy", texture(size, 10 + index))
    return folder


@pytest.fixture
def gmm_file(tmp_path) -> str:
    path = tmp_path / "gmm.pt"
    save_gmm(path, fit_gmm([texture(48, 3)], GMMSettings(n_components=2, n_samples=1000, max_iter=5)))
    return str(path)


def _rows(out: Path) -> list[dict]:
    with open(out / "cases.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _benchmark(*args: str) -> int:
    return main(["benchmark", "--task", "sr-x4", "--quiet", *args])


def test_local_run_summary_figure_and_resume(tmp_path, tiny_weights, gmm_file):
    images, out = _images(tmp_path / "gt", 2), tmp_path / "out"
    common = ["--images", str(images), "--out", str(out), "--weights", tiny_weights, "--epll-gmm", gmm_file, "--iterations", "4"]
    assert _benchmark("--methods", "bicubic,tv,epll,patchnr", *common) == 0
    rows = _rows(out)
    assert sorted((r["image"], r["method"]) for r in rows) == sorted((f"img{i}.npy", m) for i in range(2) for m in ("bicubic", "tv", "epll", "patchnr"))
    assert {r["seed"] for r in rows if r["image"] == "img0.npy"} == {str(case_seed(0, "img0.npy"))}
    assert all(float(r["psnr"]) > 10 and 0 < float(r["ssim"]) <= 1 for r in rows)
    summary = (out / "summary.md").read_text()
    assert "| | bicubic | TV | EPLL | patchNR |" in summary and "PSNR (dB)" in summary
    assert (out / "summary.csv").is_file() and (out / "figure_img0.png").stat().st_size > 0
    assert _benchmark("--methods", "bicubic,tv", *common) == 0  # nothing left to do
    assert len(_rows(out)) == 8


def test_tcp_scheduler_with_process_workers(tmp_path, tiny_weights):
    from distributed import LocalCluster

    images, out = _images(tmp_path / "gt", 2), tmp_path / "out"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        code = _benchmark("--images", str(images), "--out", str(out), "--methods", "bicubic,patchnr", "--weights", tiny_weights,
                          "--iterations", "3", "--scheduler", cluster.scheduler_address, "--figures", "0")
    assert code == 0
    assert len(_rows(out)) == 4 and {r["torch_threads"] for r in _rows(out)} == {"1"}  # ran in the worker process


def test_sigkill_then_resume_loses_and_repeats_nothing(tmp_path):
    images, out = _images(tmp_path / "gt", 2, size=48), tmp_path / "out"
    args = ["--images", str(images), "--out", str(out), "--methods", "bicubic,tv", "--iterations", "100", "--figures", "0"]
    process = subprocess.Popen([sys.executable, "-m", "patchnr", "benchmark", "--task", "sr-x4", "--quiet", *args],
                               cwd=Path(__file__).parents[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(CaseLog(out / "cases.csv").rows()) < 1 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = CaseLog(out / "cases.csv").rows()
    assert 1 <= len(before) < 4
    assert _benchmark("--task", "sr-x4", *args) == 0
    after = _rows(out)
    keys = [(r["image"], r["method"]) for r in after]
    assert len(keys) == len(set(keys)) == 4 and after[: len(before)] == before
    assert all(None not in r.values() and all(r[c] for c in CASE_COLUMNS) for r in after)


def test_case_log_ignores_and_cuts_a_partial_line(tmp_path):
    log = CaseLog(tmp_path / "cases.csv")
    log.open()
    row = dict(zip(CASE_COLUMNS, ("a.png", "tv", 1, "20.0", "0.5", "1.0", 2)))
    log.append(row)
    with open(log.path, "ab") as handle:
        handle.write(b"b.png,tv,2,21")  # a writer killed mid-line
    assert [r["image"] for r in log.rows()] == ["a.png"]
    log.open()
    log.append({**row, "image": "c.png"})
    assert [r["image"] for r in log.rows()] == ["a.png", "c.png"]
    assert log.path.read_text().count("\n") == 3


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("done")
    images, out = _images(root / "gt", 1), root / "out"
    assert _benchmark("--images", str(images), "--out", str(out), "--methods", "bicubic") == 0
    return images, out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "case",
    ["unknown method", "empty folder", "unreadable image", "unreachable scheduler", "other configuration"],
)
def test_bad_inputs_exit_2_with_one_line(case, finished, tmp_path, capsys):
    images, out = finished
    args = {"--images": str(images), "--methods": "bicubic", "--out": str(out)}
    extra: list[str] = []
    if case == "unknown method":
        args["--methods"] = "bicubic,fbp"
    elif case == "empty folder":
        (tmp_path / "empty").mkdir()
        args["--images"] = str(tmp_path / "empty")
    elif case == "unreadable image":
        (tmp_path / "bad.png").write_bytes(b"not a png")
        args["--images"] = str(tmp_path / "bad.png")
    elif case == "unreachable scheduler":
        args["--methods"] = "bicubic,tv"  # a new case, so it must connect
        extra = ["--scheduler", "tcp://127.0.0.1:9"]
    else:
        extra = ["--seed", "1"]
    before = _snapshot(out)
    capsys.readouterr()
    start = time.monotonic()
    code = _benchmark(*[x for item in args.items() for x in item], *extra)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("patchnr: error:"), err
    assert time.monotonic() - start < 15
    assert _snapshot(out) == before
    if case == "other configuration":
        assert "refuse to mix" in err[0]


def test_case_keys_never_collide_across_tasks_or_submissions():
    """Two clients on one cluster (say ct-lowdose and ct-limited) must not share futures."""
    from patchnr.benchmark.cases import Case, case_key

    lowdose = Case("ct-lowdose", "slice.npy", "patchnr", 7, {})
    limited = Case("ct-limited", "slice.npy", "patchnr", 7, {})
    keys = {case_key(lowdose), case_key(limited), case_key(lowdose)}
    assert len(keys) == 3
    assert all(key.split("/")[0] in ("ct-lowdose", "ct-limited") for key in keys)


def test_worker_cache_keeps_only_the_last_task_and_flow(monkeypatch, tiny_flow):
    """A case of another task drops the old operator before the new one is built; flows likewise."""
    import weakref

    from patchnr.benchmark import cache as benchmark

    class FakeTask:
        def __init__(self, name: str):
            self.name = name

    builds: list[str] = []
    previous: list[weakref.ref] = []

    def get_task(name: str) -> FakeTask:
        assert all(ref() is None for ref in previous), "the previous task is still alive while building"
        builds.append(name)
        task = FakeTask(name)
        previous.append(weakref.ref(task))
        return task

    monkeypatch.setattr(benchmark, "_CACHE", {})
    monkeypatch.setattr(benchmark, "get_task", get_task)
    lowdose = benchmark.cached_task("ct-lowdose")
    assert benchmark.cached_task("ct-lowdose") is lowdose and builds == ["ct-lowdose"]
    del lowdose
    assert benchmark.cached_task("ct-limited").name == "ct-limited"
    assert benchmark.cached_task("ct-lowdose").name == "ct-lowdose"  # evicted, so built again
    assert builds == ["ct-lowdose", "ct-limited", "ct-lowdose"]

    asset = {"config": tiny_flow.config.to_dict(), "state_dict": tiny_flow.state_dict()}
    first = benchmark.cached_flow({**asset, "sha256": "a"})
    assert benchmark.cached_flow({**asset, "sha256": "a"}) is first
    second = benchmark.cached_flow({**asset, "sha256": "b"})
    assert second is not first and benchmark.cached_flow({**asset, "sha256": "a"}) is not first
    assert benchmark.cached_task("ct-lowdose").name == "ct-lowdose" and len(builds) == 3  # flows leave the task alone


@pytest.mark.parametrize("task", ["sr-x4", "ct-lowdose"])
def test_epll_uses_the_bundled_mixture_by_default(tmp_path, task):
    """No fitting and no ../shared at run time: the task's mixture ships with the package."""
    import json

    from patchnr.benchmark.methods import file_sha256
    from patchnr.priors.gmm import load_gmm
    from patchnr.tasks import bundled_file, get_task

    path = bundled_file(get_task(task).gmm_file)
    gmm = load_gmm(path)
    assert gmm["means"].shape == (200, 36) and gmm["precisions_cholesky"].shape == (200, 36, 36)
    if task == "sr-x4":
        out = tmp_path / "out"
        assert _benchmark("--methods", "epll", "--images", str(_images(tmp_path / "gt", 1)), "--out", str(out), "--iterations", "2") == 0
        recorded = json.loads((out / "config.json").read_text())["methods"]["epll"]["gmm"]
        assert recorded == f"sha256:{file_sha256(path)}"
