"""Two CT priors side by side: the fast recipes, noise seed 0, on the LoDoPaB slice and the validation slices.

Cases, per prior:
- the LoDoPaB-CT test slice (``ground_truth_x2.png`` / 2), low dose and limited angle, its observation
  simulated as LoDoPaB made its data (``benchmarks/ct_lodopab.py``'s ``lodopab-1000`` simulation);
- each validation slice (``--validation``, default ``runs/ct_data/val/*.npy``), low dose, its
  observation simulated by the task (``Task.simulate``, the 2× finer grid).
FBP on the same observations for reference. Each case is one row of ``results/ct_prior_retrain.csv``
(a re-run skips the rows already there); ``results/ct_prior_retrain.md`` is written from it.

    python benchmarks/ct_prior_retrain.py --prior resampled=runs/priors/ct_lodopab_resampled.pt \\
        --prior faithful=runs/priors/ct_lodopab_faithful_w256.pt
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ct_lodopab import DATA, append_row, lodopab_units, read_rows, reconstruct, simulate  # noqa: E402

from patchnr.flows.checkpoint import load_flow  # noqa: E402
from patchnr.io.images import load_image  # noqa: E402
from patchnr.metrics import psnr, ssim  # noqa: E402
from patchnr.tasks import get_task  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
CSV_PATH = RESULTS / "ct_prior_retrain.csv"
REPORT_PATH = RESULTS / "ct_prior_retrain.md"
COLUMNS = ("prior", "weights", "setting", "image", "method", "seed", "psnr", "ssim", "runtime_s")
SEED = 0
TASKS = {"lowdose": "ct-lowdose", "limited": "ct-limited"}
LODOPAB_IMAGE = "lodopab_test0"
TOLERANCE_DB = 0.05  # "not worse" on a validation slice: at most this much lower PSNR


def cases(validation: list[Path]) -> list[tuple[str, str, np.ndarray]]:
    """(setting, image name, ground truth) of every case."""
    slice_truth = lodopab_units(DATA / "ground_truth_x2.png")
    return ([("lowdose", LODOPAB_IMAGE, slice_truth), ("limited", LODOPAB_IMAGE, slice_truth)]
            + [("lowdose", path.stem, load_image(path)) for path in validation])


def run(priors: dict[str, Path], validation: list[Path]) -> None:
    done = {(r["prior"], r["setting"], r["image"], r["method"]) for r in read_rows(CSV_PATH)}
    for setting, image_name, truth_array in cases(validation):
        task = get_task(TASKS[setting], backend="sparse")
        truth = torch.from_numpy(truth_array)[None, None]
        simulation = "lodopab-1000" if image_name == LODOPAB_IMAGE else "grid-2x"
        observation = simulate(task, simulation, truth, SEED)
        task.initialise(observation)  # loads the system matrix and the FBP filter before any timing
        runs = [("fbp", "–", None)] + [(name, str(path), path) for name, path in priors.items()]
        for prior, weights, path in runs:
            method = "fbp" if path is None else "patchnr"
            if (prior, setting, image_name, method) in done:
                continue
            flows = {} if path is None else {"flow": load_flow(path, patch_size=task.patch_size, channels=1)[0]}
            start = time.perf_counter()
            image, _, _, _ = reconstruct(task, method, observation, SEED, flows)
            seconds = time.perf_counter() - start
            append_row({"prior": prior, "weights": weights, "setting": setting, "image": image_name, "method": method, "seed": SEED,
                        "psnr": f"{psnr(image, truth_array):.4f}", "ssim": f"{ssim(image, truth_array):.5f}", "runtime_s": f"{seconds:.1f}"}, CSV_PATH, COLUMNS)
            print(f"{prior} {setting} {image_name}: {psnr(image, truth_array):.2f} dB, {seconds:.0f} s", flush=True)


def training_summary(path: Path) -> str:
    """The checkpoint's training steps and final training NLL, and the last validation NLL of its log (``.csv`` beside it)."""
    if not path.exists():
        return ""
    _, stored = load_flow(path)
    parts = [f"{stored['step']} steps" if "step" in stored else "", f"final training NLL {stored['train_nll']:.1f}" if "train_nll" in stored else ""]
    log = path.with_suffix(".csv")
    if log.exists():
        with open(log, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("val_nll")]
        if rows:
            parts.append(f"validation NLL {float(rows[-1]['val_nll']):.1f} at step {rows[-1]['step']} (cranium_034, the training run's validation image)")
    parts = [part for part in parts if part]
    return f" ({'; '.join(parts)})" if parts else ""


def spread_lines(score: dict, priors: list[str]) -> list[str]:
    """The same cases (prior of ``results/ct_lodopab.csv``, fast recipe, seed 0) in that benchmark's own runs: the run-to-run spread."""
    other = RESULTS / "ct_lodopab.csv"
    if not priors or not other.exists():
        return []
    with open(other, newline="") as handle:
        rows = {(r["setting"], r["simulation"], r["method"], r["seed"]): float(r["psnr"]) for r in csv.DictReader(handle)}
    parts = []
    for setting in TASKS:
        key, here = (setting, "lodopab-1000", "patchnr", str(SEED)), (priors[0], setting, LODOPAB_IMAGE)
        if key in rows and here in score:
            spread = abs(rows[key] - score[here][0])
            part = f"{setting} {rows[key]:.2f} dB there, {score[here][0]:.2f} dB here (spread {spread:.2f} dB"
            if len(priors) == 2 and (priors[1], setting, LODOPAB_IMAGE) in score:
                difference = score[(priors[1], setting, LODOPAB_IMAGE)][0] - score[here][0]
                part += f"; the priors differ by {difference:+.2f} dB, {'more' if abs(difference) > spread else 'not more'} than that"
            parts.append(part + ")")
    if not parts:
        return []
    return ["", f"Run-to-run spread: the first prior is the bundled one; the same case (fast recipe, seed {SEED}, LoDoPaB slice) in "
                f"`results/ct_lodopab.csv`, run by `benchmarks/ct_lodopab.py` under another machine load: {'; '.join(parts)}."]


def write_report(commands: list[str]) -> None:
    rows = read_rows(CSV_PATH)
    priors = list(dict.fromkeys(r["prior"] for r in rows if r["method"] == "patchnr"))
    weights = {r["prior"]: r["weights"] for r in rows if r["method"] == "patchnr"}
    score = {(r["prior"], r["setting"], r["image"]): (float(r["psnr"]), float(r["ssim"])) for r in rows}
    keys = list(dict.fromkeys((r["setting"], r["image"]) for r in rows))
    lines = ["# The bundled CT prior: trained on resampled slices or on LoDoPaB-faithful crops", "",
             "Generated by `python benchmarks/ct_prior_retrain.py` (cases in `results/ct_prior_retrain.csv`): each prior with",
             "its task's fast recipe, noise seed 0. LoDoPaB slice: LoDoPaB-CT test image 0 (`ground_truth_x2.png` / 2), the",
             "observation simulated as LoDoPaB made its data; validation slices: `runs/ct_data/val/*.npy`, simulated by the task",
             "(2× finer grid). PSNR (dB) / SSIM against the ground truth. Runtimes (not compared) are on 2 CPU cores shared with",
             "other jobs.", "", "Priors:", ""]
    lines += [f"- **{prior}**: `{weights[prior]}`{training_summary(REPO / weights[prior])}" for prior in priors]
    lines += ["", "| setting | image | FBP | " + " | ".join(priors) + (f" | {priors[-1]} − {priors[0]} (dB) |" if len(priors) == 2 else " |"),
              "|---|---|---|" + "---|" * len(priors) + ("---|" if len(priors) == 2 else "")]
    for setting, image in keys:
        cells = [f"{score[(p, setting, image)][0]:.2f} / {score[(p, setting, image)][1]:.3f}" if (p, setting, image) in score else "–"
                 for p in ["fbp", *priors]]
        difference = ""
        if len(priors) == 2 and all((p, setting, image) in score for p in priors):
            difference = f" {score[(priors[1], setting, image)][0] - score[(priors[0], setting, image)][0]:+.2f} |"
        lines.append(f"| {setting} | {image} | " + " | ".join(cells) + " |" + difference)
    if len(priors) == 2 and all((p, s, i) in score for p in priors for s, i in keys):
        first, second = priors
        slice_diffs = [score[(second, s, i)][0] - score[(first, s, i)][0] for s, i in keys if i == LODOPAB_IMAGE]
        val_diffs = [score[(second, s, i)][0] - score[(first, s, i)][0] for s, i in keys if i != LODOPAB_IMAGE]
        better = all(d > 0 for d in slice_diffs)
        not_worse = all(d >= -TOLERANCE_DB for d in val_diffs)
        lines += ["", f"Rule: **{second}** replaces **{first}** as the bundled prior only if it scores higher on the LoDoPaB slice in",
                  f"both settings and no validation slice loses more than {TOLERANCE_DB} dB.",
                  f"LoDoPaB slice: {', '.join(f'{d:+.2f}' for d in slice_diffs)} dB ({'higher in both' if better else 'not higher in both'});",
                  f"validation slices: {', '.join(f'{d:+.2f}' for d in val_diffs)} dB (mean {statistics.mean(val_diffs):+.2f}; "
                  f"{'none loses more than the tolerance' if not_worse else 'some lose more than the tolerance'}).",
                  f"Outcome: {'replace' if better and not_worse else 'keep'} **{first}**{' by **' + second + '**' if better and not_worse else ''}."]
    lines += spread_lines(score, priors)
    lines += ["", "## Commands", "", "```", *commands, "```", ""]
    REPORT_PATH.write_text("\n".join(lines))
    print(f"wrote {REPORT_PATH}")


COMMANDS = [
    "python data_scripts/prepare_lodopab_ct.py --out runs/ct_data_lodopab",
    "python3 -m patchnr train runs/ct_data_lodopab/train/*.npy --validation runs/ct_data/val/cranium_034.npy \\",
    "    --out runs/priors/ct_lodopab_faithful_w256.pt --width 256 --steps 10000 --batch 512 --lr 1e-3 --fp32 --minutes 22",
    "cp patchnr/data/priors/ct_lodopab.pt runs/priors/ct_lodopab_resampled.pt  # the prior trained on resampled slices",
    "python benchmarks/ct_prior_retrain.py --prior resampled=runs/priors/ct_lodopab_resampled.pt \\",
    "    --prior faithful=runs/priors/ct_lodopab_faithful_w256.pt",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior", action="append", default=[], metavar="NAME=PATH", help="a prior to compare (repeat; the first is the baseline)")
    parser.add_argument("--validation", type=Path, nargs="+", help="validation slices (.npy; default runs/ct_data/val/*.npy)")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from the CSV")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        priors = {name: Path(path) for name, path in (item.split("=", 1) for item in args.prior)}
        validation = args.validation or sorted((REPO / "runs" / "ct_data" / "val").glob("*.npy"))
        torch.set_num_threads(1)
        run(priors, validation)
    write_report(COMMANDS)


if __name__ == "__main__":
    main()
