"""The files shipped in ``patchnr/data`` and the asset sets of the tasks, each declared once."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from patchnr.tasks.settings import TaskAssets


def bundled_file(name: str) -> Path:
    """Path of a file shipped in ``patchnr/data`` (priors/…, examples/…)."""
    return Path(str(resources.files("patchnr") / "data" / name))


MATERIAL_SR = TaskAssets("priors/sr_material.pt", "priors/gmm_sr_material.pt", "examples/material_test.png")
"""The material images' ×4 superresolution prior (sr-x4)."""

LODOPAB_CT = TaskAssets("priors/ct_lodopab.pt", "priors/gmm_ct_lodopab.pt", "examples/ct_slice.npy")
"""The LoDoPaB CT prior and example slice (ct-lowdose, ct-limited)."""

LENTILS = TaskAssets("priors/lentils.pt", "priors/gmm_lentils.pt", "examples/lentils_test.png")
"""The lentils texture prior and example (deblur, inpaint)."""


def example_only(example_file: str) -> TaskAssets:
    """The assets of a task without a bundled prior or mixture (zero-shot): only an example image."""
    return TaskAssets(prior_file="", gmm_file="", example_file=example_file)


__all__ = ["LENTILS", "LODOPAB_CT", "MATERIAL_SR", "bundled_file", "example_only"]
