"""Speed benchmark: the paper recipe against the fast defaults, side by side on the same images.

Subcommands (every measurement runs in a fresh subprocess, so its peak RSS is its own):

  reference  the paper recipe run to the end, once per image (resumable)
             → results/speed/reference_<task>.csv
  compare    per image, in one run: the paper recipe timed over ``--paper-iterations`` iterations
             (its full time extrapolated, stated as such; ``--paper-weights`` times it with a flow of
             the paper's own width) and each fast variant run to the end with
             its PSNR per iteration → time to reach the reference PSNR − 0.2 dB
             → results/speed/compare_<task>.csv
  scaling    seconds per iteration and peak RSS of the fast recipe at several image sizes
             → results/speed/scaling_<task>.csv
  training   the fast training recipe for ``--minutes`` and the paper's for ``--ratio``× that long
             (``--recipes``; ``fast-fp32`` is the bf16 lever taken back), side by side: validation
             NLL, and the PSNR each prior gives on ``--downstream`` images
             → results/speed/training_<task>.csv (+ each run's NLL curve)

Each subcommand then rewrites ``results/speed.md`` from every CSV present (``report`` does only that).
Times are wall-clock seconds of the reconstruction (initialisation included; simulating the
observation, loading the prior and building or loading the operator excluded).

    python benchmarks/speed.py reference --task ct-lowdose --images runs/ct_data/test --limit 3
    python benchmarks/speed.py compare --task ct-lowdose --images runs/ct_data/test --limit 3
    python benchmarks/speed.py scaling --task ct-lowdose --images runs/ct_data/test/cranium_006.npy
    python benchmarks/speed.py training --task sr-x4 --images ../shared/data/sr/material/img_learn_material.png \
        --validation ../shared/data/sr/material/img_val_material.png --downstream ../shared/data/sr/material/testset --minutes 10 --ratio 6
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
RUNS = Path(__file__).resolve().parents[1] / "runs" / "speed"  # trained priors (not published)
TARGET_GAP_DB = 0.2  # "within 0.2 dB of the paper recipe's final PSNR"
SCALING_ITERATIONS = 6
TRAINING_TARGET_S = 600.0  # "≤ 10 min to a validation NLL at least as low as the paper recipe's in 6× that time"
TRAINING_MARGIN_S = 15.0  # the fast run's budget is this much shorter: its last step, validation and checkpoint fit in the target
TRAINING_RECIPES = ("fast", "fast-fp32", "paper")  # see ``training_recipes``
CPU_TARGETS = {"ct-lowdose": (60.0, 45.0), "sr-x4": (90.0, 45.0)}  # (seconds to target, speed-up) on every image

# Fast-recipe variants measured as levers, each the fast recipe with one lever taken back.
LEVERS = {
    "fast": {},
    "fast-full-data": {"ordered_subsets": False},
    "fast-uniform-draws": {"stratified": False},
    "fast-beta2-0.999": {"adam_beta2": 0.999},
    "fast-fp32": {"bf16": False},
    "fast-constant-lr": {"lr_schedule": "constant"},
}

REFERENCE_COLUMNS = ("image", "psnr", "ssim", "seconds", "iterations", "flow_precision", "peak_rss_mb", "threads")
COMPARE_COLUMNS = ("image", "variant", "iterations_run", "iterations", "psnr", "seconds", "seconds_per_iteration",
                   "reference_psnr", "seconds_to_target", "peak_rss_mb", "threads")
SCALING_COLUMNS = ("size", "backend", "seconds_per_iteration", "init_seconds", "peak_rss_mb", "threads")
TRAINING_COLUMNS = ("recipe", "width", "bf16", "budget_s", "steps", "seconds", "val_nll", "downstream_psnr", "downstream_psnr_each",
                    "peak_rss_mb", "threads")


# ------------------------------------------------------------------------------------------------
# One measurement (runs in a child process)


def _scaled_task(task_name: str, size: int | None, backend: str):
    """The task; for CT with ``size`` a geometry with LoDoPaB's angle and detector density."""
    from patchnr.operators.ct.ray_transform import CTGeometry
    from patchnr.tasks import ct_limited, ct_lowdose, get_task

    if size is None or task_name == "sr-x4":
        return get_task(task_name, backend=backend if task_name != "sr-x4" else None)
    scale = size / 362
    module = ct_limited if task_name == "ct-limited" else ct_lowdose
    return module.make_task(backend, geometry=CTGeometry(size, round(1000 * scale), round(513 * scale)))


def _ground_truth(path: str, size: int | None):
    """The image as a 1×1×H×W tensor; with ``size``, its centre size² crop, or a bicubic resize when smaller."""
    import numpy as np
    import torch
    from skimage.transform import resize

    from patchnr.io.images import load_image

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

    from patchnr.benchmark.cases import case_seed
    from patchnr.flows.checkpoint import load_flow
    from patchnr.metrics import psnr, ssim
    from patchnr.optim.recipes import Recipe
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


def measure_training(spec: dict) -> dict:
    """Train one prior described by ``spec``: wall-clock seconds of the whole run (loading the images,
    validating and checkpointing included), and the steps and final validation NLL from its CSV log."""
    import torch

    from patchnr.flows.flow import FlowConfig
    from patchnr.io.images import load_image
    from patchnr.flows.train import TrainConfig, train_flow

    torch.set_num_threads(spec["threads"])
    as_tensor = lambda path: torch.from_numpy(load_image(path))[None]  # noqa: E731
    started = time.perf_counter()
    train_flow([as_tensor(path) for path in spec["images"]], FlowConfig(**spec["flow"]), TrainConfig(**spec["train"]),
               validation_image=as_tensor(spec["validation"]), checkpoint=spec["checkpoint"], log_csv=spec["log_csv"], progress=False)
    seconds = time.perf_counter() - started
    last = _read(Path(spec["log_csv"]))[-1]
    return {"steps": int(last["step"]), "seconds": seconds, "val_nll": float(last["val_nll"]),
            "threads": torch.get_num_threads(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_in_child(spec: dict) -> dict:
    """``measure`` in a fresh interpreter (own peak RSS, no state shared between measurements)."""
    done = subprocess.run([sys.executable, __file__, "_measure", json.dumps(spec)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed ({spec.get('image') or spec.get('checkpoint')}): {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
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
    from patchnr.benchmark.records import CaseLog

    log = CaseLog(RESULTS / "speed" / f"{name}_{task}.csv", columns)
    log.path.parent.mkdir(parents=True, exist_ok=True)
    log.open()
    return log


def run_reference(args) -> None:
    """The full paper recipe once per image (images already recorded are skipped)."""
    paper, _ = _recipes(args.task)
    paper = replace(paper, bf16=args.reference_bf16)
    log = _log("reference", args.task, REFERENCE_COLUMNS)
    recorded = {row["image"] for row in log.rows()}
    for image in _images(args):
        if image.name in recorded:
            continue
        out = measure_in_child(_spec(args, image, paper))
        log.append({"image": image.name, "psnr": f"{out['psnr']:.4f}", "ssim": f"{out['ssim']:.5f}", "seconds": f"{out['seconds'][-1]:.1f}",
                    "iterations": paper.iterations,
                    "flow_precision": "bf16" if paper.bf16 else "fp32", "peak_rss_mb": f"{out['peak_rss_mb']:.0f}", "threads": out["threads"]})
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
    paper_weights = args.paper_weights or args.weights
    variants = {paper_variant(_flow_width(paper_weights, args.task)): (replace(paper, iterations=args.paper_iterations), paper_weights)}
    variants.update({name: (replace(fast, **LEVERS[name]), args.weights) for name in args.variants})
    log = _log("compare", args.task, COMPARE_COLUMNS)  # opened once the weights are known to load
    for image in _images(args):
        reference = references.get(image.name)
        for name, (recipe, weights) in variants.items():
            out = measure_in_child({**_spec(args, image, recipe), "weights": weights})
            full = paper.iterations if name.startswith("paper") else recipe.iterations
            reached = None if reference is None else seconds_to_target(out["seconds"], out["psnr_history"], reference - TARGET_GAP_DB)
            log.append({"image": image.name, "variant": name, "iterations_run": recipe.iterations, "iterations": full,
                        "psnr": f"{out['psnr']:.4f}", "seconds": f"{out['seconds'][-1]:.2f}",
                        "seconds_per_iteration": f"{seconds_per_iteration(out['seconds']):.4f}",
                        "reference_psnr": "" if reference is None else f"{reference:.4f}",
                        "seconds_to_target": "" if reached is None else f"{reached:.2f}",
                        "peak_rss_mb": f"{out['peak_rss_mb']:.0f}", "threads": out["threads"]})
            print(f"{image.name} {name}: {out['psnr']:.2f} dB, {out['seconds'][-1]:.1f} s", flush=True)


def paper_variant(width: int) -> str:
    """Label of the timed paper rows; the report times the paper recipe by its own flow width when present."""
    return f"paper (timed, {width}-wide flow)"


def _flow_width(weights: str | None, task_name: str) -> int:
    from patchnr.flows.checkpoint import load_flow
    from patchnr.tasks import bundled_file, get_task

    flow, _ = load_flow(weights or bundled_file(get_task(task_name).prior_file))
    return flow.config.hidden_width


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


def training_recipes(minutes: float, ratio: float) -> dict:
    """name → (FlowConfig, TrainConfig): the fast recipe with a budget ``TRAINING_MARGIN_S`` short of
    ``minutes``, the same in fp32 (a lever), and the paper's recipe with ``ratio``·``minutes``."""
    from patchnr.flows.flow import FlowConfig
    from patchnr.flows.train import FAST_WIDTH, TrainConfig

    fast = replace(TrainConfig(), max_seconds=60 * minutes - TRAINING_MARGIN_S)
    return {"fast": (FlowConfig(hidden_width=FAST_WIDTH), fast),
            "fast-fp32": (FlowConfig(hidden_width=FAST_WIDTH), replace(fast, bf16=False)),
            "paper": (FlowConfig(), replace(TrainConfig.paper(), max_seconds=60 * minutes * ratio))}


def run_training(args) -> None:
    """The chosen training recipes one after the other, then the PSNR each prior gives on the
    downstream images with the task's fast solver recipe (recipes already recorded are skipped)."""
    from patchnr.benchmark.runner import image_files

    _, fast = _recipes(args.task)
    recipes = training_recipes(args.minutes, args.ratio)
    downstream = image_files(args.downstream or [args.validation])[: args.limit]
    log = _log("training", args.task, TRAINING_COLUMNS)
    recorded = {row["recipe"] for row in log.rows()}
    RUNS.mkdir(parents=True, exist_ok=True)
    for name in args.recipes:
        if name in recorded:
            continue
        flow, train = recipes[name]
        stem = f"training_{args.task}_{name}"
        spec = {"kind": "train", "images": [str(p) for p in _images(args)], "validation": args.validation, "threads": args.threads,
                "flow": asdict(flow), "train": asdict(train), "checkpoint": str(RUNS / f"{stem}.pt"), "log_csv": str(RESULTS / "speed" / f"{stem}.csv")}
        trained = measure_in_child(spec)
        psnrs = [measure_in_child({**_spec(args, image, fast), "weights": spec["checkpoint"]})["psnr"] for image in downstream]
        log.append({"recipe": name, "width": flow.hidden_width, "bf16": train.bf16, "budget_s": f"{train.max_seconds:.0f}", "steps": trained["steps"],
                    "seconds": f"{trained['seconds']:.0f}", "val_nll": f"{trained['val_nll']:.4f}",
                    "downstream_psnr": f"{statistics.mean(psnrs):.4f}", "downstream_psnr_each": ";".join(f"{image.name}={value:.4f}" for image, value in zip(downstream, psnrs)),
                    "peak_rss_mb": f"{trained['peak_rss_mb']:.0f}", "threads": trained["threads"]})
        print(f"{name}: val NLL {trained['val_nll']:.3f} after {trained['steps']} steps; mean PSNR {statistics.mean(psnrs):.2f} dB", flush=True)


def _images(args) -> list[Path]:
    from patchnr.benchmark.runner import image_files

    return image_files(args.images)[: args.limit]


def _read(path: Path) -> list[dict]:
    """The complete rows of a CSV written by ``CaseLog`` (none if it does not exist)."""
    from patchnr.benchmark.records import CaseLog

    return CaseLog(path).rows()


# ------------------------------------------------------------------------------------------------
# The report


def write_report() -> Path:
    """Rewrite results/speed.md from every CSV under results/speed/."""
    from patchnr.io.images import atomic_path

    lines = ["# Speed: paper recipe against the fast defaults", "", _machine_line(), "",
             "Generated by `python benchmarks/speed.py report` from the CSVs in `results/speed/` (commands in the",
             "module docstring of `benchmarks/speed.py` and in `results/README.md`). The fast recipe and the paper",
             "recipe's full reference run (`speed/reference_<task>.csv`, whose final PSNR is the quality target) use the",
             "task's bundled prior (256 wide). The paper recipe's time is extrapolated from iterations timed side by side",
             "with the fast runs; a row 'paper (timed, 512-wide flow)' times it with the paper's own flow width (the time",
             "of an iteration does not depend on the weights), and the speed-up is taken against that row when present.", ""]
    for path in sorted((RESULTS / "speed").glob("compare_*.csv")):
        task = path.stem.removeprefix("compare_")
        lines += _compare_section(task, _read(path), _read(RESULTS / "speed" / f"reference_{task}.csv"))
    for path in sorted((RESULTS / "speed").glob("scaling_*.csv")):
        lines += _scaling_section(path.stem.removeprefix("scaling_"), _read(path))
    for task in sorted({p.stem.split("_")[1] for p in (RESULTS / "speed").glob("training_*.csv")}):
        lines += _training_section(task, _read(RESULTS / "speed" / f"training_{task}.csv"))
    archived = sorted(path.name for path in (RESULTS / "speed" / "archive").glob("*.csv"))
    if archived:
        lines += ["Runs of superseded recipes, kept for the record and left out above: "
                  + ", ".join(f"`speed/archive/{name}`" for name in archived) + ".", ""]
    out = RESULTS / "speed.md"
    with atomic_path(out) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return out


def _machine_line() -> str:
    import os

    import torch

    return f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, no GPU."


def _compare_section(task: str, rows: list[dict], references: Sequence[dict] = ()) -> list[str]:
    """The compare table of ``task`` and its summaries; ``references``: the rows of its reference CSV."""
    from patchnr.flows.flow import FlowConfig

    lines = [f"## {task}", "",
             "| image | variant | iterations | PSNR (dB) | paper PSNR (full run) | s / iteration | seconds | s to paper − 0.2 dB | speed-up | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    paper_rows = sorted((row for row in rows if row["variant"].startswith("paper")), key=lambda row: row["variant"] == paper_variant(FlowConfig().hidden_width))
    paper_seconds = {row["image"]: _extrapolated(row) for row in paper_rows}  # the paper's width wins
    for row in rows:
        is_paper = row["variant"].startswith("paper")
        seconds = f"{_extrapolated(row):.0f} (extrapolated from {row['iterations_run']})" if is_paper else row["seconds"]
        ratio = "–" if is_paper else _ratio(paper_seconds.get(row["image"]), row["seconds_to_target"])
        psnr = "–" if is_paper else f"{float(row['psnr']):.2f}"
        reached = "–" if is_paper else row["seconds_to_target"] or "not reached"
        lines.append(f"| {row['image']} | {row['variant']} | {row['iterations']} | {psnr} | {_fmt(row['reference_psnr'])} | "
                     f"{float(row['seconds_per_iteration']):.3f} | {seconds} | {reached} | {ratio} | {row['peak_rss_mb']} |")
    return (lines + [""] + _reference_precision_lines(references) + _compare_summary(rows, paper_seconds)
            + _target_lines(task, rows, paper_seconds) + [""] + _lever_lines(rows))


def _reference_precision_lines(references: Sequence[dict]) -> list[str]:
    """A statement of which reference runs (the quality targets) ran with a bf16 flow, if any did."""
    bf16 = [row["image"] for row in references if row.get("flow_precision") == "bf16"]
    if not bf16:
        return []
    return [f"The paper recipe's full reference runs on {', '.join(bf16)} ran its flow under bf16 autocast (`--reference-bf16`; "
            "an fp32 run is about 2 h per image on this machine); every other setting is the paper's.", ""]


def _extrapolated(row: dict) -> float:
    """Full-run seconds of a timed row: seconds per iteration × the recipe's iterations."""
    return float(row["seconds_per_iteration"]) * int(row["iterations"])


def _target_lines(task: str, rows: list[dict], paper_seconds: dict[str, float]) -> list[str]:
    """Whether the fast default met the CPU target (time to target and speed-up) on every image."""
    fast = [row for row in rows if row["variant"] == "fast" and row["reference_psnr"]]
    if task not in CPU_TARGETS or not fast:
        return []
    limit, speedup = CPU_TARGETS[task]
    met = all(row["seconds_to_target"] and float(row["seconds_to_target"]) <= limit
              and paper_seconds[row["image"]] / float(row["seconds_to_target"]) >= speedup for row in fast)
    return ["", f"CPU target (within {TARGET_GAP_DB} dB of the paper recipe in ≤ {limit:.0f} s and ≥ {speedup:.0f}× faster, every image): "
                f"**{'met' if met else 'not met'}** ({len(fast)} image(s), {fast[0]['threads']} torch thread(s))."]


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


def _lever_lines(rows: list[dict]) -> list[str]:
    """Each variant against the fast default on the images both ran: time per iteration and final PSNR."""
    fast = {row["image"]: row for row in rows if row["variant"] == "fast"}
    variants = [name for name in LEVERS if name != "fast" and any(row["variant"] == name for row in rows)]
    if not fast or not variants:
        return []
    lines = ["Levers, each taken back from the fast default on its own (means over the images both ran):", "",
             "| variant | overrides | s / iteration (fast: same images) | final PSNR − fast's (dB) | reached paper − 0.2 dB |",
             "|---|---|---|---|---|"]
    for name in variants:
        pairs = [(row, fast[row["image"]]) for row in rows if row["variant"] == name and row["image"] in fast]
        own = statistics.mean(float(row["seconds_per_iteration"]) for row, _ in pairs)
        base = statistics.mean(float(ref["seconds_per_iteration"]) for _, ref in pairs)
        gain = statistics.mean(float(row["psnr"]) - float(ref["psnr"]) for row, ref in pairs)
        reached = sum(bool(row["seconds_to_target"]) for row, _ in pairs)
        lines.append(f"| {name} | {LEVERS[name]} | {own:.3f} ({base:.3f}) | {gain:+.2f} | {reached} of {len(pairs)} |")
    return lines + [""]


def _scaling_section(task: str, rows: list[dict]) -> list[str]:
    lines = [f"## Scaling, {task} fast recipe ({SCALING_ITERATIONS} iterations)", "",
             "| size | backend | s / iteration | initialisation (s) | peak RSS (MB) | threads |", "|---|---|---|---|---|---|"]
    lines += [f"| {row['size']}² | {row['backend']} | {float(row['seconds_per_iteration']):.3f} | {float(row['init_seconds']):.2f} | {row['peak_rss_mb']} | {row['threads']} |" for row in rows]
    return lines + [""]


def _training_section(task: str, rows: list[dict]) -> list[str]:
    lines = [f"## Training a prior, {task}", "",
             "| recipe | width | bf16 | budget (s) | steps | seconds | validation NLL | mean PSNR downstream (dB) | PSNR per image (dB) | peak RSS (MB) | threads |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['recipe']} | {r['width']} | {r['bf16']} | {r['budget_s']} | {r['steps']} | {r['seconds']} | {float(r['val_nll']):.3f} | "
              f"{float(r['downstream_psnr']):.2f} | {_per_image(r['downstream_psnr_each'])} | {r['peak_rss_mb']} | {r['threads']} |" for r in rows]
    lines += ["", "Validation NLL per step: `results/speed/training_<task>_<recipe>.csv`. The PSNR uses the task's fast solver recipe with each prior.",
              "`fast-fp32` is the fast recipe with the bf16 lever taken back (same budget).", ""]
    return lines + _training_verdict({row["recipe"]: row for row in rows})


def _per_image(text: str) -> str:
    """``a.png=28.5812;b.png=27.1`` → ``a.png 28.58, b.png 27.10``."""
    return ", ".join(f"{name} {float(value):.2f}" for name, value in (item.split("=") for item in text.split(";")))


def _training_verdict(rows: dict[str, dict]) -> list[str]:
    if not {"fast", "paper"} <= rows.keys():
        return []
    fast, paper = rows["fast"], rows["paper"]
    nll_gap = float(fast["val_nll"]) - float(paper["val_nll"])
    psnr_gap = float(fast["downstream_psnr"]) - float(paper["downstream_psnr"])
    met = nll_gap <= 0 and psnr_gap >= 0 and float(fast["seconds"]) <= TRAINING_TARGET_S
    return [f"Target (≤ {TRAINING_TARGET_S:.0f} s, validation NLL at most the paper recipe's after {float(paper['budget_s']) / 60:.0f} min, mean downstream PSNR no lower): "
            f"**{'met' if met else 'not met'}**: NLL {nll_gap:+.3f} nats per patch, PSNR {psnr_gap:+.2f} dB, fast recipe against paper recipe.", ""]


def _ratio(paper: float | None, seconds: str) -> str:
    return f"{paper / float(seconds):.0f}×" if paper and seconds else "–"


def _fmt(value: str) -> str:
    return f"{float(value):.2f}" if value else "–"


# ------------------------------------------------------------------------------------------------
# Command line


def _comma_separated(choices, what: str):
    """An argparse ``type`` for a comma-separated list of names out of ``choices``."""
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",")]
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {what} {unknown}; choose from {', '.join(choices)}")
        return names
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("reference", "compare", "scaling", "training"):
        command = commands.add_parser(name)
        command.add_argument("--task", default="ct-lowdose", choices=("ct-lowdose", "ct-limited", "sr-x4"))
        command.add_argument("--images", nargs="+", required=True, help="files or folders")
        command.add_argument("--limit", type=int, default=3, help="first N images (sorted)")
        command.add_argument("--seed", type=int, default=0)
        command.add_argument("--threads", type=int, default=2)
        command.add_argument("--weights", default=None, help="prior (default: the task's bundled prior)")
        command.add_argument("--backend", default="auto")
        command.add_argument("--paper-iterations", type=int, default=10)
        command.add_argument("--reference-bf16", action="store_true", help="reference: the paper recipe with its flow under bf16 autocast (stated in the report)")
        command.add_argument("--paper-weights", default=None, help="compare: prior that times the paper recipe (give one of the paper's 512 width)")
        command.add_argument("--variants", type=_comma_separated(LEVERS, "variant(s)"), default=list(LEVERS), help=f"compare: comma-separated, of {', '.join(LEVERS)}")
        command.add_argument("--sizes", type=lambda text: [int(v) for v in text.split(",")], default=[128, 256, 362, 512])
        command.add_argument("--validation", help="training: the validation image")
        command.add_argument("--downstream", nargs="+", help="training: files or folders reconstructed with each prior (default: the validation image)")
        command.add_argument("--minutes", type=float, default=10.0, help="training: the fast recipe's budget")
        command.add_argument("--ratio", type=float, default=6.0, help="training: the paper recipe gets this many times the budget")
        command.add_argument("--recipes", type=_comma_separated(TRAINING_RECIPES, "training recipe(s)"), default=["fast", "paper"], help=f"training: comma-separated, of {', '.join(TRAINING_RECIPES)}")
    commands.add_parser("report")
    commands.add_parser("_measure").add_argument("spec")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.command == "_measure":
        spec = json.loads(args.spec)
        print(json.dumps(measure_training(spec) if spec.get("kind") == "train" else measure(spec)))
        return
    from patchnr.errors import PatchNRError

    runners = {"reference": run_reference, "compare": run_compare, "scaling": run_scaling, "training": run_training}
    try:
        if args.command in runners:
            runners[args.command](args)
    except PatchNRError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {write_report()}")


if __name__ == "__main__":
    main()
