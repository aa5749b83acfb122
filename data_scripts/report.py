"""Issue-level report from a benchmark folder: per-image PSNR/SSIM, mean ± std, gains, runtime.

    python data_scripts/report.py results/benchmark_sr_x4 --methods bicubic,patchnr \\
        --out results/sr_material --title "Superresolution ×4, material test images" --command "..."

Writes OUT.md (summary table, paired gains of the last method over each other one, machine, the command
that made the benchmark) and OUT.csv (one row per image, PSNR and SSIM of each method).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
from pathlib import Path

import numpy as np
import torch

from patchnr.benchmark.methods import METHODS
from patchnr.benchmark.records import CaseLog
from patchnr.benchmark.report import summarise, summary_markdown
from patchnr.io.images import atomic_path


def per_image(rows: list[dict], methods: list[str]) -> dict[str, dict[str, dict]]:
    """image → method → row, for images that have every method."""
    table: dict[str, dict[str, dict]] = {}
    for row in rows:
        if row["method"] in methods:
            table.setdefault(row["image"], {})[row["method"]] = row
    return {image: entry for image, entry in sorted(table.items()) if len(entry) == len(methods)}


def paired_gain(table: dict[str, dict[str, dict]], method: str, other: str) -> str:
    """One line: mean ± std (min, max) of the per-image PSNR gain of ``method`` over ``other``, and SSIM wins."""
    gains, ssim_gains = (np.array([float(entry[method][key]) - float(entry[other][key]) for entry in table.values()])
                         for key in ("psnr", "ssim"))
    return (f"- {METHODS[method].label} over {METHODS[other].label}: {gains.mean():+.2f} ± {gains.std():.2f} dB (min {gains.min():+.2f}, "
            f"max {gains.max():+.2f}); higher PSNR on {int((gains > 0).sum())} and higher SSIM on {int((ssim_gains > 0).sum())} "
            f"of {len(gains)} images.")


def machine(rows: list[dict]) -> str:
    """The machine, and the torch threads per case recorded in the cases' rows."""
    cpu = platform.processor() or platform.machine()
    threads = ", ".join(sorted({row["torch_threads"] for row in rows}))
    return f"{os.cpu_count()} CPU cores ({cpu}), no GPU, torch {torch.__version__}, torch threads per case: {threads}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", type=Path)
    parser.add_argument("--methods", required=True, help="comma list; gains are of the last over each other one")
    parser.add_argument("--out", type=Path, required=True, help="path without suffix")
    parser.add_argument("--title", required=True)
    parser.add_argument("--command", required=True, help="the benchmark command, quoted in the report")
    args = parser.parse_args()
    methods = args.methods.split(",")
    table = per_image(CaseLog(args.benchmark / "cases.csv").rows(), methods)
    rows = [row for entry in table.values() for row in entry.values()]
    summary = summarise(rows)
    lines = [f"# {args.title}", "", summary_markdown(args.benchmark.name, {"common": {"images": len(table)}}, summary).split("\n", 2)[2].strip(), "",
             *[paired_gain(table, methods[-1], other) for other in methods[:-1]], "",
             f"Machine: {machine(rows)}.", "", "Regenerate:", "", "```sh", args.command,
             f"python data_scripts/report.py {args.benchmark} --methods {args.methods} --out {args.out} --title '{args.title}' --command '...'",
             "```", "", f"Per image: `{args.out.name}.csv`; settings: `{args.benchmark}/config.json`."]
    with atomic_path(args.out.with_suffix(".md")) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    with atomic_path(args.out.with_suffix(".csv")) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image"] + [f"{m}_{k}" for m in methods for k in ("psnr", "ssim", "runtime_s")])
        for image, entry in table.items():
            writer.writerow([image] + [entry[m][k] for m in methods for k in ("psnr", "ssim", "runtime_s")])
    print(f"wrote {args.out.with_suffix('.md')} ({len(table)} images)")


if __name__ == "__main__":
    main()
