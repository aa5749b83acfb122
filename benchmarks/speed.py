"""Speed benchmark: the paper recipe against the fast defaults, side by side on the same images.

Subcommands (every measurement runs in a fresh subprocess, so its peak RSS is its own):

  reference  the paper recipe run to the end, once per image (resumable)
             → results/speed/reference_<task>.csv
  compare    per image, in one run: the paper recipe timed over ``--paper-iterations`` iterations
             (its full time extrapolated, stated as such) and each fast variant run to the end with
             its PSNR per iteration → time to reach the reference PSNR − 0.2 dB
             → results/speed/compare_<task>.csv
  scaling    seconds per iteration and peak RSS of the fast recipe at several image sizes
             → results/speed/scaling_<task>.csv

Each subcommand then rewrites ``results/speed.md`` from every CSV present (``report`` does only that).
Times are wall-clock seconds of the reconstruction (initialisation included; simulating the
observation, loading the prior and building or loading the operator excluded).

    python benchmarks/speed.py reference --task ct-lowdose --images runs/ct_data/test --limit 3
    python benchmarks/speed.py compare --task ct-lowdose --images runs/ct_data/test --limit 3
    python benchmarks/speed.py scaling --task ct-lowdose --images runs/ct_data/test/cranium_006.npy
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import statistics
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
TARGET_GAP_DB = 0.2  # "within 0.2 dB of the paper recipe's final PSNR"
SCALING_ITERATIONS = 6

# Fast-recipe variants measured as levers: overrides of the task's fast recipe.
LEVERS = {
    "fast": {},
    "fast, fp32 flow": {"bf16": False},
    "fast, constant lr": {"lr_schedule": "constant"},
}

REFERENCE_COLUMNS = ("image", "psnr", "ssim", "seconds", "iterations", "peak_rss_mb", "threads")
COMPARE_COLUMNS = ("image", "variant", "iterations_run", "iterations", "psnr", "seconds", "seconds_per_iteration",
                   "reference_psnr", "seconds_to_target", "peak_rss_mb", "threads")
SCALING_COLUMNS = ("size", "backend", "seconds_per_iteration", "init_seconds", "peak_rss_mb", "threads")


# ------------------------------------------------------------------------------------------------
# One measurement (runs in a child process)


def _scaled_task(task_name: str, size: int | None, backend: str):
    """The task; for CT with ``size`` a geometry with LoDoPaB's angle and detector density."""
    from operators.ct import CTGeometry
    from patchnr.tasks import ct_task, get_task

    if size is None or task_name == "sr-x4":
        return get_task(task_name, backend)
    scale = size / 362
    return ct_task(task_name, backend, geometry=CTGeometry(size, round(1000 * scale), round(513 * scale)))


def _ground_truth(path: str, size: int | None):
    """The image as a 1×1×H×W tensor; with ``size``, resized (CT) or centre-cropped (SR) to size²."""
    import numpy as np
    import torch
    from skimage.transform import resize

    from patchnr.io import load_image

    image = load_image(path)
    if size is not None and image.shape[0] >= size:
        top = (image.shape[0] - size) // 2
        image = image[top : top + size, top : top + size]
    elif size is not None:
        image = resize(image, (size, size), order=3, anti_aliasing=False).clip(0, 1)
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]


def measure(spec: dict) -> dict:
    """Run one reconstruction described by ``spec``; seconds, PSNR history and peak RSS (MB)."""
    import time

    import torch

    from patchnr.benchmark import case_seed
    from patchnr.checkpoint import load_flow
    from patchnr.metrics import psnr, ssim
    from patchnr.recipes import Recipe
    from patchnr.tasks import bundled_file

    torch.set_num_threads(spec["threads"])
    task = _scaled_task(spec["task"], spec.get("size"), spec["backend"])
    truth = _ground_truth(spec["image"], spec.get("size"))
    observation = task.simulate(truth, case_seed(spec["seed"], Path(spec["image"]).name))
    flow, _ = load_flow(spec["weights"] or bundled_file(task.prior_file))
    recipe = Recipe(**spec["recipe"])
    start = time.perf_counter()
    init = task.initialise(observation)
    init_seconds = time.perf_counter() - start
    result = task.solve(observation, flow, recipe, ground_truth=truth, seed=spec["seed"], init=init, progress=False)
    return {
        "init_seconds": init_seconds, "seconds": [init_seconds + s for s in result.seconds], "psnr_history": result.psnr,
        "psnr": psnr(result.image, truth), "ssim": ssim(result.image, truth), "threads": torch.get_num_threads(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "backend": getattr(task.operator, "backend", "–"),
    }


def measure_in_child(spec: dict) -> dict:
    """``measure`` in a fresh interpreter (own peak RSS, no state shared between measurements)."""
    done = subprocess.run([sys.executable, __file__, "_measure", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed ({spec['image']}): {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# Subcommands


def _recipes(task_name: str):
    from patchnr.tasks import get_task

    recipes = get_task(task_name).recipes
    return recipes["paper"], recipes["fast"]


def _spec(args, image: Path, recipe, size: int | None = None) -> dict:
    return {"task": args.task, "image": str(image), "recipe": asdict(recipe), "seed": args.seed, "threads": args.threads,
            "weights": args.weights, "backend": args.backend, "size": size}


def _log(name: str, task: str, columns):
    from patchnr.benchmark import CaseLog

    log = CaseLog(RESULTS / "speed" / f"{name}_{task}.csv", columns)
    log.path.parent.mkdir(parents=True, exist_ok=True)
    log.open()
    return log


def run_reference(args) -> None:
    """The full paper recipe once per image (images already recorded are skipped)."""
    paper, _ = _recipes(args.task)
    log = _log("reference", args.task, REFERENCE_COLUMNS)
    recorded = {row["image"] for row in log.rows()}
    for image in _images(args):
        if image.name in recorded:
            continue
        out = measure_in_child(_spec(args, image, paper))
        log.append({"image": image.name, "psnr": f"{out['psnr']:.4f}", "ssim": f"{out['ssim']:.5f}", "seconds": f"{out['seconds'][-1]:.1f}",
                    "iterations": paper.iterations, "peak_rss_mb": f"{out['peak_rss_mb']:.0f}", "threads": out["threads"]})
        print(f"{image.name}: paper recipe {out['psnr']:.2f} dB in {out['seconds'][-1]:.0f} s", flush=True)


def seconds_to_target(seconds: list[float], history: list[float], target: float) -> float | None:
    """Wall time at the first iteration whose PSNR reaches ``target`` (None if never)."""
    return next((s for s, value in zip(seconds, history) if value >= target), None)


def seconds_per_iteration(seconds: list[float]) -> float:
    """Mean time of an iteration, the first (warm-up) left out when there are more."""
    return (seconds[-1] - seconds[0]) / (len(seconds) - 1) if len(seconds) > 1 else seconds[0]


def run_compare(args) -> None:
    """Paper recipe (timed, extrapolated) and every fast variant, per image, in one run."""
    paper, fast = _recipes(args.task)
    references = {row["image"]: float(row["psnr"]) for row in _read(RESULTS / "speed" / f"reference_{args.task}.csv")}
    log = _log("compare", args.task, COMPARE_COLUMNS)
    for image in _images(args):
        reference = references.get(image.name)
        variants = {"paper (timed)": replace(paper, iterations=args.paper_iterations)}
        variants.update({name: replace(fast, **overrides) for name, overrides in LEVERS.items()})
        for name, recipe in variants.items():
            out = measure_in_child(_spec(args, image, recipe))
            full = paper.iterations if name.startswith("paper") else recipe.iterations
            reached = None if reference is None else seconds_to_target(out["seconds"], out["psnr_history"], reference - TARGET_GAP_DB)
            log.append({"image": image.name, "variant": name, "iterations_run": recipe.iterations, "iterations": full,
                        "psnr": f"{out['psnr']:.4f}", "seconds": f"{out['seconds'][-1]:.2f}",
                        "seconds_per_iteration": f"{seconds_per_iteration(out['seconds']):.4f}",
                        "reference_psnr": "" if reference is None else f"{reference:.4f}",
                        "seconds_to_target": "" if reached is None else f"{reached:.2f}",
                        "peak_rss_mb": f"{out['peak_rss_mb']:.0f}", "threads": out["threads"]})
            print(f"{image.name} {name}: {out['psnr']:.2f} dB, {out['seconds'][-1]:.1f} s", flush=True)


def run_scaling(args) -> None:
    """Fast recipe, a few iterations, at each image size (CT: geometry scaled with the image)."""
    _, fast = _recipes(args.task)
    log = _log("scaling", args.task, SCALING_COLUMNS)
    image = _images(args)[0]
    for size in args.sizes:
        out = measure_in_child(_spec(args, image, replace(fast, iterations=SCALING_ITERATIONS), size))
        log.append({"size": size, "backend": out["backend"], "seconds_per_iteration": f"{seconds_per_iteration(out['seconds']):.4f}",
                    "init_seconds": f"{out['init_seconds']:.3f}", "peak_rss_mb": f"{out['peak_rss_mb']:.0f}", "threads": out["threads"]})
        print(f"{size}²: {seconds_per_iteration(out['seconds']):.3f} s/iteration, {out['peak_rss_mb']:.0f} MB", flush=True)


def _images(args) -> list[Path]:
    from patchnr.benchmark import image_files

    return image_files(args.images)[: args.limit]


def _read(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------------------------------
# The report


def write_report() -> Path:
    """Rewrite results/speed.md from every CSV under results/speed/."""
    from patchnr.io import atomic_path

    lines = ["# Speed: paper recipe against the fast defaults", "", _machine_line(), "",
             "Generated by `python benchmarks/speed.py report` from the CSVs in `results/speed/` (commands in the",
             "module docstring of `benchmarks/speed.py` and in `results/README.md`).", ""]
    for path in sorted((RESULTS / "speed").glob("compare_*.csv")):
        lines += _compare_section(path.stem.removeprefix("compare_"), _read(path))
    for path in sorted((RESULTS / "speed").glob("scaling_*.csv")):
        lines += _scaling_section(path.stem.removeprefix("scaling_"), _read(path))
    out = RESULTS / "speed.md"
    with atomic_path(out) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return out


def _machine_line() -> str:
    import os

    import torch

    return f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, no GPU."


def _compare_section(task: str, rows: list[dict]) -> list[str]:
    lines = [f"## {task}", "",
             "| image | variant | iterations | PSNR (dB) | paper PSNR (full run) | s / iteration | seconds | s to paper − 0.2 dB | speed-up | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    paper_seconds = {row["image"]: float(row["seconds_per_iteration"]) * int(row["iterations"]) for row in rows if row["variant"].startswith("paper")}
    for row in rows:
        is_paper = row["variant"].startswith("paper")
        seconds = f"{paper_seconds[row['image']]:.0f} (extrapolated from {row['iterations_run']})" if is_paper else row["seconds"]
        ratio = _ratio(paper_seconds.get(row["image"]), row["seconds_to_target"]) if not is_paper else "1"
        psnr = "–" if is_paper else f"{float(row['psnr']):.2f}"
        lines.append(f"| {row['image']} | {row['variant']} | {row['iterations']} | {psnr} | {_fmt(row['reference_psnr'])} | "
                     f"{float(row['seconds_per_iteration']):.3f} | {seconds} | {row['seconds_to_target'] or 'not reached'} | {ratio} | {row['peak_rss_mb']} |")
    return lines + [""] + _compare_summary(rows, paper_seconds) + [""]


def _compare_summary(rows: list[dict], paper_seconds: dict[str, float]) -> list[str]:
    fast = [row for row in rows if row["variant"] == "fast"]
    reached = [row for row in fast if row["seconds_to_target"]]
    if not fast:
        return []
    gaps = [float(row["psnr"]) - float(row["reference_psnr"]) for row in fast if row["reference_psnr"]]
    lines = [f"Fast default on {len(fast)} image(s): reached the paper recipe's PSNR − {TARGET_GAP_DB} dB on {len(reached)}."]
    if reached:
        times = [float(row["seconds_to_target"]) for row in reached]
        ratios = [paper_seconds[row["image"]] / float(row["seconds_to_target"]) for row in reached]
        lines.append(f"Time to target: mean {statistics.mean(times):.1f} s, max {max(times):.1f} s; speed-up: min {min(ratios):.0f}×, mean {statistics.mean(ratios):.0f}×.")
    if gaps:
        lines.append(f"Final PSNR of the fast default minus the paper recipe's: mean {statistics.mean(gaps):+.2f} dB, min {min(gaps):+.2f} dB.")
    return lines


def _scaling_section(task: str, rows: list[dict]) -> list[str]:
    lines = [f"## Scaling, {task} fast recipe ({SCALING_ITERATIONS} iterations)", "",
             "| size | backend | s / iteration | initialisation (s) | peak RSS (MB) | threads |", "|---|---|---|---|---|---|"]
    lines += [f"| {row['size']}² | {row['backend']} | {float(row['seconds_per_iteration']):.3f} | {float(row['init_seconds']):.2f} | {row['peak_rss_mb']} | {row['threads']} |" for row in rows]
    return lines + [""]


def _ratio(paper: float | None, seconds: str) -> str:
    return f"{paper / float(seconds):.0f}×" if paper and seconds else "–"


def _fmt(value: str) -> str:
    return f"{float(value):.2f}" if value else "–"


# ------------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("reference", "compare", "scaling"):
        command = commands.add_parser(name)
        command.add_argument("--task", default="ct-lowdose", choices=("ct-lowdose", "ct-limited", "sr-x4"))
        command.add_argument("--images", nargs="+", required=True, help="files or folders")
        command.add_argument("--limit", type=int, default=3, help="first N images (sorted)")
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--threads", type=int, default=2)
        command.add_argument("--weights", default=None, help="prior (default: the task's bundled prior)")
        command.add_argument("--backend", default="auto")
        command.add_argument("--paper-iterations", type=int, default=10)
        command.add_argument("--sizes", type=lambda text: [int(v) for v in text.split(",")], default=[128, 256, 362, 512])
    commands.add_parser("report")
    commands.add_parser("_measure").add_argument("spec")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "_measure":
        print(json.dumps(measure(json.loads(args.spec))))
        return
    runners = {"reference": run_reference, "compare": run_compare, "scaling": run_scaling}
    if args.command in runners:
        runners[args.command](args)
    print(f"wrote {write_report()}")


if __name__ == "__main__":
    main()
