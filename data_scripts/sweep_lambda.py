"""λ sweep of a baseline on validation images (never the test set).

    python data_scripts/sweep_lambda.py --task sr-x4 --method tv --lams 3e-4,1e-3,3e-3 --eps 1e-3,1e-2
    python data_scripts/sweep_lambda.py --task sr-x4 --method epll --lams 0.05,0.15,0.5

Each (λ[, ε], image) is one benchmark case (``patchnr.benchmark.cases.run_case``: same simulation seeds,
solver and metrics as ``patchnr benchmark``). Writes results/lambda_sweep_<task>_<method>.csv (one
row per case) and .md (mean PSNR/SSIM per setting, best by mean PSNR), rewritten after every setting.
λ is in units of the task's data term (its noise model's NLL). The chosen values go into the task
file (``TV``, ``EPLL_LAM`` in ``patchnr/tasks/<task>.py``) by hand.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from patchnr.benchmark.cache import cached_task
from patchnr.benchmark.cases import Case, case_seed, run_case
from patchnr.benchmark.runner import image_files
from patchnr.io.images import atomic_path, load_image
from patchnr.priors.gmm import load_gmm
from patchnr.tasks import bundled_file

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # ../shared beside the checkout
VALIDATION = {"sr-x4": [SHARED / "data/sr/material/img_val_material.png"], "ct-lowdose": [REPO / "runs/ct_data/val"],
              "ct-limited": [REPO / "runs/ct_data/val"]}
COLUMNS = ("lam", "eps", "image", "psnr", "ssim", "runtime_s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=sorted(VALIDATION))
    parser.add_argument("--method", required=True, choices=("tv", "epll"))
    parser.add_argument("--lams", required=True, help="comma list of λ")
    parser.add_argument("--eps", help="comma list of TV ε (tv only; default: the task's)")
    parser.add_argument("--images", nargs="+", type=Path, help="validation images (default: the task's validation set)")
    parser.add_argument("--limit", type=int, help="only the first N validation images")
    parser.add_argument("--iterations", type=int, help="override the solver iterations")
    parser.add_argument("--recipe", default="fast", choices=("fast", "paper"), help="epll solver recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parents[1] / "results")
    parser.add_argument("--extend", action="store_true", help="keep the rows of an earlier sweep (same settings otherwise) and add to them")
    return parser.parse_args(argv)


def settings_grid(args: argparse.Namespace) -> list[tuple[float, float | None, dict]]:
    """(λ, ε, case settings) for every point of the sweep."""
    lams = [float(v) for v in args.lams.split(",")]
    if args.method == "tv":
        base = cached_task(args.task).tv
        eps_values = [float(v) for v in args.eps.split(",")] if args.eps else [base.eps]
        extra = {"iterations": args.iterations} if args.iterations else {}
        return [(lam, eps, {**asdict(base), "lam": lam, "eps": eps, **extra}) for eps in eps_values for lam in lams]
    recipe = cached_task(args.task).recipes[args.recipe].with_overrides(iterations=args.iterations)
    return [(lam, None, {"recipe": asdict(recipe.with_overrides(lam=lam))}) for lam in lams]


def previous_rows(args: argparse.Namespace) -> list[dict]:
    path = args.out_dir / f"lambda_sweep_{args.task}_{args.method}.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return [{**row, "lam": float(row["lam"]), "eps": float(row["eps"]) if row["eps"] else None} for row in csv.DictReader(handle)]


def write_reports(args: argparse.Namespace, rows: list[dict], command: str) -> None:
    stem = args.out_dir / f"lambda_sweep_{args.task}_{args.method}"
    with atomic_path(stem.with_suffix(".csv")) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    points = sorted({(r["lam"], r["eps"]) for r in rows}, key=lambda p: (str(p[1]), p[0]))
    means = {p: [np.mean([float(r[c]) for r in rows if (r["lam"], r["eps"]) == p]) for c in ("psnr", "ssim", "runtime_s")] for p in points}
    best = max(means, key=lambda p: means[p][0])
    images = sorted({r["image"] for r in rows})
    lines = [f"# λ sweep: {args.method} on {args.task}", "", f"Validation images ({len(images)}): {', '.join(images)}; seed {args.seed}.",
             f"Command{' (last, --extend)' if args.extend else ''}: `{command}`", "", "| λ | ε | PSNR (dB) | SSIM | runtime (s) |", "|---|---|---|---|---|"]
    for point in points:
        mark = " **best**" if point == best else ""
        lines.append(f"| {point[0]:g}{mark} | {point[1] if point[1] is not None else '–'} | {means[point][0]:.2f} | {means[point][1]:.4f} | {means[point][2]:.1f} |")
    lines += ["", f"Chosen (max mean PSNR): λ = {best[0]:g}" + (f", ε = {best[1]:g}" if best[1] is not None else "") + "."]
    with atomic_path(stem.with_suffix(".md")) as temporary:
        temporary.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    files = image_files(args.images or VALIDATION[args.task])[: args.limit]
    images = {path.name: load_image(path) for path in files}
    assets = {"epll": load_gmm(bundled_file(cached_task(args.task).gmm_file))} if args.method == "epll" else {}
    command = "python data_scripts/sweep_lambda.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows = previous_rows(args) if args.extend else []
    seen = {(r["lam"], r["eps"], r["image"]) for r in rows}
    for lam, eps, settings in settings_grid(args):
        for name, truth in images.items():
            if (lam, eps, name) in seen:
                continue
            start = time.perf_counter()
            row = run_case(Case(args.task, name, args.method, case_seed(args.seed, name), settings), truth, assets)["row"]
            rows.append({"lam": lam, "eps": eps, "image": name, "psnr": row["psnr"], "ssim": row["ssim"], "runtime_s": row["runtime_s"]})
            print(f"λ={lam:g} ε={eps} {name}: {row['psnr']} dB, SSIM {row['ssim']} ({time.perf_counter() - start:.0f} s)", flush=True)
        write_reports(args, rows, command)


if __name__ == "__main__":
    main()
