"""The benchmark's method registry, its import (no task built), and refusals that leave nothing on disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from patchnr.benchmark import METHODS, register, task_methods
from patchnr.benchmark.cases import Case, case_seed, solve_case
from patchnr.benchmark.methods import EVERY_TASK, CaseInputs
from patchnr.benchmark.runner import check_scheduler
from patchnr.cli.main import main
from patchnr.errors import ParameterError
from patchnr.tasks import TASK_NAMES, get_task
from tests.conftest import texture

REPO = Path(__file__).resolve().parents[1]

COUNT_TASKS_AT_IMPORT = """
import patchnr.tasks, patchnr.tasks.base
built = []
build_task, make_task = patchnr.tasks.get_task, patchnr.tasks.base.Task.__init__
patchnr.tasks.get_task = lambda *args, **kwargs: built.append(args) or build_task(*args, **kwargs)
patchnr.tasks.base.Task.__init__ = lambda self, *args, **kwargs: built.append(args) or make_task(self, *args, **kwargs)
import patchnr.benchmark, patchnr.benchmark.runner, patchnr.benchmark.report
from patchnr.cli.main import main
assert main(["benchmark", "--help"]) == 0
print(len(built))
"""


def test_importing_the_benchmark_builds_no_task():
    """Neither the import nor the CLI's parser (its --methods help) builds a task."""
    result = subprocess.run([sys.executable, "-c", COUNT_TASKS_AT_IMPORT], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0"


def test_each_task_has_its_initialisation_tv_and_the_patch_priors_unless_zero_shot():
    expected = {"sr-x4": "bicubic", "ct-lowdose": "fbp", "ct-limited": "fbp", "deblur": "wiener", "inpaint": "fill"}
    for name in TASK_NAMES:
        task = get_task(name)
        if task.prior_trainer is None:
            assert task_methods(task) == (expected[name], "tv", "epll", "patchnr")
        else:
            assert task_methods(task) == ("bicubic", "tv")
    assert [method.label for method in METHODS.values()] == ["bicubic", "FBP", "Wiener", "fill", "TV", "EPLL", "patchNR"]


def test_a_new_method_is_one_registered_function(monkeypatch):
    monkeypatch.setattr("patchnr.benchmark.methods.METHODS", dict(METHODS))
    from patchnr.benchmark import methods

    @register("halved", "half init", EVERY_TASK)
    def halved(inputs: CaseInputs) -> torch.Tensor:
        return inputs.init / 2

    assert "halved" in methods.METHODS and "halved" not in METHODS
    monkeypatch.setattr("patchnr.benchmark.cases.METHODS", methods.METHODS)
    assert task_methods(get_task("sr-x4"))[-1] == "halved"
    truth = texture(32, 4)
    seed = case_seed(0, "a.npy")
    halved_image, _ = solve_case(Case("sr-x4", "a.npy", "halved", seed, {}), truth, {})
    initial_image, _ = solve_case(Case("sr-x4", "a.npy", "bicubic", seed, {}), truth, {})
    np.testing.assert_allclose(halved_image, initial_image / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="already registered"):
        register("halved", "again")(halved)


@pytest.mark.parametrize("address", ["nonsense", "host:8786", "tcp://", "tcp://:8786", "tcp://host", "tcp://host:0",
                                     "tcp://host:99999", "tcp://host:port", "tls://host:8786", "tcp://host:8786/path"])
def test_malformed_scheduler_addresses_are_refused(address):
    with pytest.raises(ParameterError, match="tcp://host:port"):
        check_scheduler(address)


@pytest.mark.parametrize("address", ["local", "tcp://127.0.0.1:8786", "tcp://scheduler.example:1", "tcp://[::1]:8786"])
def test_scheduler_addresses_accepted(address):
    check_scheduler(address)


def _refused(tmp_path: Path, capsys, *extra: str) -> str:
    """Run a one-image benchmark into a new folder; assert exit 2, one stderr line and no folder."""
    np.save(tmp_path / "img.npy", texture(32, 1))
    out = tmp_path / "results" / "out"
    capsys.readouterr()
    code = main(["benchmark", "--task", "sr-x4", "--images", str(tmp_path / "img.npy"), "--methods", "bicubic",
                 "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("patchnr: error:"), err
    assert not out.exists() and not (out / ".patchnr.lock").exists() and not (tmp_path / "results").exists()
    return err[0]


def test_malformed_scheduler_writes_nothing(tmp_path, capsys):
    assert "--scheduler: must be 'local' or tcp://host:port" in _refused(tmp_path, capsys, "--scheduler", "nonsense")


def test_unreachable_scheduler_writes_nothing(tmp_path, capsys):
    from patchnr.benchmark.runner import CONNECT_TIMEOUT_S

    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:1 within {CONNECT_TIMEOUT_S} s" in _refused(
        tmp_path, capsys, "--scheduler", "tcp://127.0.0.1:1")


def test_missing_distributed_names_the_extra_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    assert "pip install 'patchnr[benchmark]'" in _refused(tmp_path, capsys)


def test_unreachable_scheduler_from_the_shell_prints_one_line(tmp_path):
    """No Dask log lines around the error when ``python -m patchnr`` runs it."""
    np.save(tmp_path / "img.npy", texture(32, 1))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "patchnr", "benchmark", "--task", "sr-x4", "--images", str(tmp_path / "img.npy"),
                             "--methods", "bicubic", "--out", str(out), "--quiet", "--scheduler", "tcp://127.0.0.1:1"],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and "cannot reach the Dask scheduler" in result.stderr
    assert not out.exists()
