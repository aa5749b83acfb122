"""Numbers that must not move when the code is restructured: this tree against a baseline revision.

For each job, the baseline revision (a git worktree under runs/regression/) and this checkout run
one after the other, so both see the same machine load:

- ``patchnr benchmark`` on ``img_val_material.png`` (sr-x4: bicubic, TV, EPLL, patchNR fast recipe)
  and on the CT validation slices 34 and 66 (ct-lowdose: FBP, patchNR fast recipe);
- the paper recipe's objective over its first 10 iterations (SR and CT; ``trace``), compared in the
  paper's units (sr-x4's Gaussian NLL × 2σ² is the paper's Σ (A x − y)²).

    python benchmarks/regression.py --baseline REV --data DATA [--threads 2] [--iterations N]

``--iterations N`` caps the benchmark's TV, EPLL and patchNR iterations at N (the same on both
sides), for a CPU on which the full solves take too long: the comparison stays like for like.

Writes results/regression/{benchmark,trace}.csv and results/regression.md. Reads the material
validation image under ``--data`` and runs/ct_data (``data_scripts/prepare_ct.py``); the CT matrix
cache ($PATCHNR_CACHE) is shared by both sides.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "runs" / "regression"
MATERIAL_VALIDATION = "sr/material/img_val_material.png"  # under --data
OUT = REPO / "results" / "regression"
SR_SIGMA = 0.01
BENCHMARKS = {
    "sr-x4": ([MATERIAL_VALIDATION], "bicubic,tv,epll,patchnr"),
    "ct-lowdose": ([REPO / "runs/ct_data/val/cranium_034.npy", REPO / "runs/ct_data/val/cranium_066.npy"], "fbp,patchnr"),
}
TRACE_IMAGES = {"sr-x4": MATERIAL_VALIDATION, "ct-lowdose": REPO / "runs/ct_data/val/cranium_034.npy"}

# Runs inside either tree: only names both the baseline and this tree's API share.
TRACE_CODE = """
import json, sys, torch
from patchnr import get_task, load_flow
from patchnr.io import load_image
from patchnr.tasks import bundled_file
task = get_task(sys.argv[1])
truth = torch.from_numpy(load_image(sys.argv[2]))[None, None]
flow, _ = load_flow(bundled_file(task.prior_file))
result = task.solve(task.simulate(truth, 0), flow, task.recipes["paper"].with_overrides(iterations=10), ground_truth=truth, seed=0, progress=False)
print(json.dumps({"objective": result.objective, "psnr": result.psnr}))
"""


def baseline_tree(revision: str) -> Path:
    """A worktree of ``revision`` under runs/regression/ (created once)."""
    tree = RUNS / f"tree-{revision}"
    if not tree.is_dir():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), revision], check=True)
    return tree


def environment(tree: Path, threads: int, data: Path) -> dict:
    """Subprocess settings that import the package from ``tree``: it is the working directory (first on
    Python's path) and on ``PYTHONPATH``."""
    settings = {"OMP_NUM_THREADS": str(threads), "PATCHNR_RUNS": str(REPO / "runs"), "PATCHNR_SHARED": str(data.parent),
                "PYTHONPATH": str(tree)}  # the two folders tell a baseline that fits its EPLL mixture where its data are
    return {"cwd": tree, "env": {**os.environ, **settings}}


def run_benchmark(task: str, side: str, where: dict, iterations: int | None, data: Path) -> list[dict]:
    images, methods = BENCHMARKS[task]
    images = [data / image for image in images]  # absolute paths stay as they are
    out = RUNS / f"{side}-{task}" if iterations is None else RUNS / f"{side}-{task}-{iterations}"
    capped = ["--iterations", str(iterations)] if iterations else []
    subprocess.run([sys.executable, "-m", "patchnr", "benchmark", "--task", task, "--methods", methods, "--quiet",
                    "--figures", "0", "--out", str(out), *capped, "--images", *map(str, images)], check=True, **where)
    with open(out / "cases.csv", newline="") as handle:
        return [{"side": side, "task": task, **row} for row in csv.DictReader(handle)]


def run_trace(task: str, side: str, where: dict, data: Path) -> list[dict]:
    output = subprocess.run([sys.executable, "-c", TRACE_CODE, task, str(data / TRACE_IMAGES[task])], check=True, **where,
                            capture_output=True, text=True).stdout
    trace = json.loads(output.strip().splitlines()[-1])
    scale = 2 * SR_SIGMA**2 if task == "sr-x4" and side == "current" else 1.0
    return [{"side": side, "task": task, "iteration": k, "objective_paper_units": value * scale, "psnr": p}
            for k, (value, p) in enumerate(zip(trace["objective"], trace["psnr"]))]


def write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def report(revision: str, cases: list[dict], traces: list[dict], threads: int, iterations: int | None) -> str:
    capped = f" --iterations {iterations}" if iterations else ""
    lines = [f"# Regression check: this tree against {revision}", "",
             f"`python benchmarks/regression.py --baseline {revision} --threads {threads}{capped}` (each job on the baseline, then "
             "on this tree, one after the other; fast recipe" + (f" with TV, EPLL and patchNR capped at {iterations} iterations"
                                                                 if iterations else "") + "; seeds of `patchnr benchmark`).", "",
             "| task | image | method | PSNR before | PSNR after | Δ dB | SSIM before | SSIM after | s before | s after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    after = {(r["task"], r["image"], r["method"]): r for r in cases if r["side"] == "current"}
    for row in (r for r in cases if r["side"] == "baseline"):
        new = after[(row["task"], row["image"], row["method"])]
        delta = float(new["psnr"]) - float(row["psnr"])
        lines.append(f"| {row['task']} | {row['image']} | {row['method']} | {float(row['psnr']):.3f} | {float(new['psnr']):.3f} | "
                     f"{delta:+.3f} | {float(row['ssim']):.4f} | {float(new['ssim']):.4f} | {float(row['runtime_s']):.1f} | "
                     f"{float(new['runtime_s']):.1f} |")
    lines += ["", "Paper recipe, first 10 iterations (objective in the paper's units; sr-x4 after ×2σ²):", "",
              "| task | iteration | objective before | objective after | relative difference |", "|---|---|---|---|---|"]
    later = {(r["task"], r["iteration"]): r for r in traces if r["side"] == "current"}
    for row in (r for r in traces if r["side"] == "baseline"):
        new = later[(row["task"], row["iteration"])]["objective_paper_units"]
        relative = abs(new - row["objective_paper_units"]) / abs(row["objective_paper_units"])
        lines.append(f"| {row['task']} | {row['iteration']} | {row['objective_paper_units']:.8g} | {new:.8g} | {relative:.1e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, help="cap the benchmark's TV, EPLL and patchNR iterations (both sides)")
    parser.add_argument("--data", type=Path, required=True, help="the data folder (holds sr/material/img_val_material.png)")
    args = parser.parse_args()
    data = args.data.resolve()
    sides = {"baseline": environment(baseline_tree(args.baseline), args.threads, data),
             "current": environment(REPO, args.threads, data)}
    cases, traces = [], []
    for task in BENCHMARKS:
        for side, where in sides.items():
            cases += run_benchmark(task, side, where, args.iterations, data)
            traces += run_trace(task, side, where, data)
    write_csv(OUT / "benchmark.csv", cases)
    write_csv(OUT / "trace.csv", traces)
    (REPO / "results" / "regression.md").write_text(report(args.baseline, cases, traces, args.threads, args.iterations))
    print(f"wrote {REPO / 'results' / 'regression.md'}")


if __name__ == "__main__":
    main()
