"""First use: ``patchnr``, ``patchnr --help`` and every subcommand's ``--help`` exit 0 (the parser is
walked, so a new subcommand is covered too); Ctrl-C and a diverged run in ``patchnr train`` end cleanly."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

from patchnr.cli.main import build_parser, main
from tests.conftest import texture


def subcommands() -> list[str]:
    actions = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return sorted(name for action in actions for name in action.choices)


def test_the_parser_has_every_subcommand():
    assert set(subcommands()) >= {"train", "reconstruct", "sample", "benchmark", "ct-slice"}


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in subcommands())])
def test_help_exits_zero(argv, capsys):
    assert main(argv) == 0
    assert "usage: patchnr" in capsys.readouterr().out


def test_bare_patchnr_and_help_in_a_process():
    bare = subprocess.run([sys.executable, "-m", "patchnr"], capture_output=True, text=True)
    assert bare.returncode == 2 and len(bare.stderr.strip().splitlines()) == 1 and "Traceback" not in bare.stderr
    helped = subprocess.run([sys.executable, "-m", "patchnr", "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "reconstruct" in helped.stdout and helped.stderr == ""


def _train_args(tmp_path, *extra: str) -> list[str]:
    np.save(tmp_path / "image.npy", texture(32))
    return ["train", str(tmp_path / "image.npy"), "--out", str(tmp_path / "prior.pt"), "--width", "8", "--layers", "1",
            "--batch", "16", "--fp32", *extra]


def test_ctrl_c_in_train_names_the_checkpoint_and_how_to_resume(tmp_path, monkeypatch, capsys):
    from patchnr.patches import PatchPool

    original, calls = PatchPool.sample, {"n": 0}

    def interrupted_sample(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 13:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PatchPool, "sample", interrupted_sample)
    assert main(_train_args(tmp_path, "--steps", "100", "--checkpoint-every", "5", "--quiet")) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert any("checkpoint of step 10" in line and "--resume" in line for line in lines)
    assert (tmp_path / "prior.pt").exists()


def test_a_diverged_training_ends_its_bar_before_one_clean_error_line(tmp_path, monkeypatch, capfd):
    from patchnr.flows.flow import PatchFlow

    original = PatchFlow.nll
    monkeypatch.setattr(PatchFlow, "nll", lambda self, patches: original(self, patches) * float("nan"))
    assert main(_train_args(tmp_path, "--steps", "50")) == 2
    err = capfd.readouterr().err
    errors = [line for line in err.replace("\r", "\n").splitlines() if "patchnr: error" in line]
    assert len(errors) == 1 and errors[0].startswith("patchnr: error: training diverged")
    assert not (tmp_path / "prior.pt").exists()
