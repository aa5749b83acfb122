"""Packaging: the installed distribution holds every subpackage, and ``operators/`` only as ``patchnr.operators``."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _configuration() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_is_listed_and_every_listed_one_exists():
    configuration = _configuration()
    folders = configuration["package-dir"]
    on_disk = {".".join(path.parent.relative_to(REPO).parts) for path in (REPO / "patchnr").rglob("__init__.py")}
    on_disk |= {".".join(("patchnr",) + path.parent.relative_to(REPO).parts)  # operators/ is mapped into the package
                for path in (REPO / "operators").rglob("__init__.py")}
    assert set(configuration["packages"]) == on_disk
    assert folders["patchnr.operators"] == "operators" and "operators" not in configuration["packages"]


def test_the_operators_package_is_importable_only_inside_patchnr():
    import importlib.util

    import patchnr.operators

    assert Path(patchnr.operators.__file__).parent.name == "operators"
    assert importlib.util.find_spec("patchnr.operators.ct.ray_transform") is not None
