"""Tune patchNR solver recipes on a validation image (never a test image).

    python data_scripts/tune_recipe.py --task sr-x4 --image ../shared/data/sr/material/img_val_material.png \\
        --recipes '[{"lam": 0.25, "iterations": 150, "lr": 0.01, "n_patches": 30000, "lr_schedule": "cosine", "bf16": true}]'

Each recipe (a JSON list of ``patchnr.Recipe`` fields) runs from the task's initialisation on one
simulated observation (seed 1); prints and appends to ``--log`` the final and best PSNR, SSIM,
seconds and the PSNR trajectory.
"""

from __future__ import annotations

import argparse
import json

import torch

from patchnr import Recipe, get_task, load_flow, psnr, ssim
from patchnr.io.images import load_image
from patchnr.tasks import bundled_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--image", required=True, help="validation ground truth")
    parser.add_argument("--recipes", required=True, help="JSON list of Recipe fields")
    parser.add_argument("--weights", help="prior (default: the task's bundled prior)")
    parser.add_argument("--log", default="results/tuning.log")
    args = parser.parse_args()
    task = get_task(args.task)
    weights = args.weights or bundled_file(task.prior_file)
    flow, _ = load_flow(weights)
    truth = torch.from_numpy(load_image(args.image))[None, None]
    observation = task.simulate(truth, 1)
    init = task.initialise(observation)
    report(args.log, f"{args.task} {args.image} (prior {weights}): {task.baseline} {psnr(init, truth):.3f} dB, SSIM {ssim(init, truth):.4f}")
    for fields in json.loads(args.recipes):
        result = task.solve(observation, flow, Recipe(**fields), ground_truth=truth, seed=0, init=init, progress=False)
        trajectory = [round(result.psnr[i], 2) for i in range(0, len(result.psnr), max(1, len(result.psnr) // 8))]
        report(args.log, f"  {json.dumps(fields)}: final {result.psnr[-1]:.3f} dB (best {max(result.psnr):.3f}), "
                         f"SSIM {ssim(result.image, truth):.4f}, {result.seconds[-1]:.0f} s, PSNR every 1/8: {trajectory}")


def report(log: str, line: str) -> None:
    print(line, flush=True)
    with open(log, "a") as handle:
        handle.write(line + "\n")


if __name__ == "__main__":
    main()
