"""A benchmark folder's reports, from its cases.csv and config.json.

- ``summary.md`` / ``summary.csv``: mean ± std (ddof 0) of PSNR (dB), SSIM and runtime (s) per method,
  methods in registration order (``METHODS``).
- ``figure_<image stem>.png``: ground truth | each method's reconstruction, with error maps, from the
  reconstructions kept in ``reconstructions/<image>__<method>.npy``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from patchnr.benchmark.methods import METHODS
from patchnr.benchmark.records import CaseLog
from patchnr.io.images import atomic_path

SUMMARY_COLUMNS = ("method", "n", "psnr_mean", "psnr_std", "ssim_mean", "ssim_std", "runtime_s_mean", "runtime_s_std")


def reconstruction_path(out: Path, image: str, method: str) -> Path:
    """Where the reconstruction of ``image`` (a file name) by ``method`` is kept for the figures."""
    return out / "reconstructions" / f"{image}__{method}.npy"


def summarise(rows: list[dict]) -> list[dict]:
    """Per method (in ``METHODS`` order, those with rows): n and mean/std (ddof 0) of psnr, ssim, runtime_s."""
    summary = []
    for method in METHODS:
        selected = [row for row in rows if row["method"] == method]
        if not selected:
            continue
        entry = {"method": method, "n": len(selected)}
        for column in ("psnr", "ssim", "runtime_s"):
            values = np.array([float(row[column]) for row in selected])
            entry[f"{column}_mean"], entry[f"{column}_std"] = float(values.mean()), float(values.std())
        summary.append(entry)
    return summary


def summary_markdown(task: str, config: dict, summary: list[dict]) -> str:
    """Paper-style table: methods as columns; PSNR, SSIM, runtime rows (mean ± std); ``config``: config.json."""
    header = "| | " + " | ".join(METHODS[s["method"]].label for s in summary) + " |"
    lines = [f"# Benchmark {task}", "", f"Settings: `{json.dumps(config['common'], sort_keys=True)}` (per method: config.json).", "",
             header, "|---" * (len(summary) + 1) + "|"]
    for label, column, digits in (("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 3), ("runtime (s)", "runtime_s", 2)):
        cells = [f"{s[column + '_mean']:.{digits}f} ± {s[column + '_std']:.{digits}f}" for s in summary]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| cases | " + " | ".join(str(s["n"]) for s in summary) + " |")
    return "\n".join(lines) + "\n\nmean ± std over images (std with ddof 0); runtime: wall time of the method on this machine.\n"


def write_reports(out: Path, task: str, figure_images: list[str], images: dict[str, np.ndarray]) -> Path:
    """summary.md, summary.csv and the figures of ``figure_images`` (names; ``images``: name → H×W
    ground truth); returns summary.md."""
    from patchnr.io.figures import comparison_figure

    summary = summarise(CaseLog(out / "cases.csv").rows())
    config = json.loads((out / "config.json").read_text())
    with atomic_path(out / "summary.csv") as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(summary)
    with atomic_path(out / "summary.md") as temporary:
        temporary.write_text(summary_markdown(task, config, summary))
    for name in figure_images:
        kept = {method.label: reconstruction_path(out, name, method.name) for method in METHODS.values()}
        stored = {label: np.load(path) for label, path in kept.items() if path.is_file()}
        if stored:
            comparison_figure(out / f"figure_{Path(name).stem}.png", stored, images[name], title=f"{task}: {name}")
    return out / "summary.md"
