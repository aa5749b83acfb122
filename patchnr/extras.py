"""Optional dependencies, grouped in extras: importing one that is missing names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from patchnr.errors import PatchNRError

EXTRAS = {"distributed": "benchmark", "dask": "benchmark", "h5py": "data", "pydicom": "data"}


def require(module: str) -> ModuleType:
    """Import ``module`` (a name in ``EXTRAS``, or a submodule of one); a missing one raises a one-line
    ``PatchNRError`` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.partition(".")[0])
        hint = f": pip install 'patchnr[{extra}]'" if extra else ""
        raise PatchNRError(f"{module} is not installed{hint}") from None
