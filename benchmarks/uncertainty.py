"""Calibration of ``patchnr sample``: coverage of the 90 % interval and Spearman(std, |error|).

    python benchmarks/uncertainty.py run sr   # 256² crop of img_val_material, σ = 0.01
    python benchmarks/uncertainty.py run ct   # one validation slice, full LoDoPaB geometry, 4096 photons
    python benchmarks/uncertainty.py report   # results/uncertainty.md from results/uncertainty/*/metrics.json

``run`` simulates the observation (seed 0), runs the ``patchnr sample`` command line as a subprocess
(timed: wall-clock of the whole command, the MAP solve included), scores its output folder against
the ground truth and writes results/uncertainty/CASE/{metrics.json, figure.png}. Inputs (validation
images only): $SR_DATA (default /work/shared/data/sr/material), $CT_DATA (default /work/runs/ct_data).
The CT case needs the system-matrix cache ($PATCHNR_CACHE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from patchnr.sampling.calibration import calibration
from patchnr.io.images import load_image
from patchnr.tasks import get_task

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "uncertainty"
SR_DATA = Path(os.environ.get("SR_DATA", "/work/shared/data/sr/material"))
CT_DATA = Path(os.environ.get("CT_DATA", "/work/runs/ct_data"))
SAMPLING = ["--samples", "200", "--chains", "8", "--burn-in", "300", "--thin", "5"]
CASES = {
    "sr": {"task": "sr-x4", "image": lambda: load_image(SR_DATA / "img_val_material.png")[:256, :256],
           "source": "img_val_material.png, top-left 256² crop", "extra": SAMPLING},
    "ct": {"task": "ct-lowdose", "image": lambda: np.load(CT_DATA / "val" / "cranium_034.npy").astype(np.float32),
           "source": "val/cranium_034.npy (362², LoDoPaB units)",
           "extra": ["--samples", "160", "--chains", "8", "--burn-in", "60", "--thin", "3"]},
}


def run(case: str) -> None:
    spec = CASES[case]
    truth = spec["image"]()
    observation = get_task(spec["task"]).simulate(torch.from_numpy(truth)[None, None], 0)[0, 0].numpy()
    work = Path(tempfile.mkdtemp(prefix=f"uncertainty-{case}-"))
    np.save(work / "truth.npy", truth)
    np.save(work / "observation.npy", observation)
    command = [sys.executable, "-m", "patchnr", "sample", "--op", spec["task"], "--observation", str(work / "observation.npy"),
               "--ground-truth", str(work / "truth.npy"), "--out", str(work / "posterior"), "--quiet", *spec["extra"]]
    start = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    print(finished.stdout, finished.stderr, sep="\n")
    if finished.returncode != 0:
        raise SystemExit(f"patchnr sample failed with exit code {finished.returncode}")
    summary = {name: np.load(work / "posterior" / f"{name}.npy") for name in ("mean", "std", "q05", "q95")}
    scores = calibration(summary, truth)
    out = RESULTS / case
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / "posterior" / "figure.png", out / "figure.png")
    record = {"case": case, "task": spec["task"], "image": spec["source"], "shape": list(truth.shape),
              "command": " ".join(["patchnr", *command[3:]]).replace(str(work), "WORK"), "seconds": round(seconds, 1),
              "threads": os.environ.get("OMP_NUM_THREADS", "unset"), "stdout": finished.stdout.strip().splitlines(), **scores}
    (out / "metrics.json").write_text(json.dumps(record, indent=1) + "\n")
    shutil.rmtree(work)
    print(json.dumps({k: v for k, v in record.items() if k != "stdout"}, indent=1))


def report() -> None:
    rows = [json.loads(path.read_text()) for path in sorted(RESULTS.glob("*/metrics.json"))]
    lines = ["| case | image | wall-clock of `patchnr sample` | 90 % coverage | Spearman(std, error) | mean std | RMSE of mean |",
             "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['task']} | {row['image']} | {row['seconds'] / 60:.1f} min | {row['coverage_90']:.3f} | "
                     f"{row['spearman_std_error']:.3f} | {row['mean_std']:.4f} | {row['rmse']:.4f} |")
    details = []
    for row in rows:
        details += [f"### {row['task']}", "", f"`{row['command']}` (OMP_NUM_THREADS={row['threads']})", "", "```",
                    *row["stdout"], "```", "", f"![{row['case']}](uncertainty/{row['case']}/figure.png)", ""]
    table = "\n".join(lines)
    text = (RESULTS.parent / "uncertainty.md.in").read_text().replace("{{TABLE}}", table).replace("{{DETAILS}}", "\n".join(details))
    (RESULTS.parent / "uncertainty.md").write_text(text)
    print(table)


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"] and len(sys.argv) == 3 and sys.argv[2] in CASES:
        run(sys.argv[2])
    elif sys.argv[1:] == ["report"]:
        report()
    else:
        raise SystemExit(__doc__)
