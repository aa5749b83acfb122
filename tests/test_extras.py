"""Optional dependencies: a missing extra ends in one line naming it; pyproject declares what ``EXTRAS`` names."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from patchnr.errors import PatchNRError
from patchnr.extras import EXTRAS, require

REPO = Path(__file__).resolve().parents[1]


def _one_line_naming(error: pytest.ExceptionInfo, extra: str) -> None:
    message = str(error.value)
    assert f"patchnr[{extra}]" in message and "\n" not in message


def test_dicom_reader_without_pydicom_names_the_data_extra(monkeypatch, tmp_path):
    from patchnr.operators.ct import lodopab

    for name in ("pydicom", "pydicom.data"):  # importing them now fails, even after another test imported them
        monkeypatch.setitem(sys.modules, name, None)
    slice_file = tmp_path / "slice.dcm"
    slice_file.write_bytes(b"\0" * 132)
    for read in (lodopab.read_dicom_hu, lodopab.read_native_slice):
        with pytest.raises(PatchNRError) as error:
            read(slice_file)
        _one_line_naming(error, "data")
    with pytest.raises(PatchNRError) as error:
        lodopab.pydicom_slices()
    _one_line_naming(error, "data")


@pytest.mark.parametrize("module", ["dask", "distributed"])
def test_missing_dask_names_the_benchmark_extra(monkeypatch, module):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(PatchNRError) as error:
        require(module)
    _one_line_naming(error, "benchmark")


def test_pyproject_declares_the_extras():
    """Every extra ``EXTRAS`` names exists; its packages are not core dependencies; ``test`` pulls them all."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = " ".join(project["dependencies"]).lower()
    for module, extra in EXTRAS.items():
        assert extra in extras, module
        assert module not in core
    assert "freia" in core
    assert "patchnr[benchmark,data]" in extras["test"]
