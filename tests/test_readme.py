"""The README's Python examples run as written, on tiny settings: few iterations, patches, training
steps and samples, in fp32 (the code itself is the README's, unchanged)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_a_python_example_with_the_api_calls():
    code = "\n".join(python_blocks())
    for call in ("patchnr.solve(", "patchnr.sample(", 'lam="auto"', "operator=", 'task="sr-x2-zeroshot"'):
        assert call in code


def test_the_python_examples_run(monkeypatch, capsys):
    from patchnr.flows import zero_shot
    from patchnr.pipeline import map_estimate as solve, posterior as sample

    recipe_of = solve.recipe_of
    monkeypatch.setattr(solve, "recipe_of", lambda *args: replace(recipe_of(*args), iterations=3, n_patches=300, bf16=False))
    monkeypatch.setattr(zero_shot, "ZERO_SHOT_TRAINING", replace(zero_shot.ZERO_SHOT_TRAINING, steps=5, batch_size=64, bf16=False))
    settings = sample.langevin_settings
    monkeypatch.setattr(sample, "langevin_settings", lambda *args: replace(settings(*args), samples=4, chains=2, burn_in=2, thin=1, curvature_iterations=1))
    for block in python_blocks():
        if "import patchnr" in block:
            exec(compile(block, str(README), "exec"), {"__name__": "readme"})  # noqa: S102 - the README's own code
    assert "patchNR" in capsys.readouterr().out


def test_the_architecture_table_names_every_folder_and_only_existing_ones():
    text = README.read_text()
    section = text[text.index("## Architecture"):text.index("\n## ", text.index("## Architecture") + 5)]
    named = set(re.findall(r"^\| `([\w/]+)/`", section, flags=re.M))
    repo = README.parent
    on_disk = {f"patchnr/{path.parent.name}" for path in (repo / "patchnr").glob("*/__init__.py")} | {"operators"}
    assert named == on_disk
    for module in re.findall(r"`(patchnr/[\w/]+\.py)`", section):
        assert (repo / module).is_file(), module
