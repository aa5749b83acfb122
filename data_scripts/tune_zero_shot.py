"""Tune the zero-shot superresolution settings on validation images: patchNR's λ, step size and
iterations, and TV's λ.

    python3 data_scripts/tune_zero_shot.py x4 --recipes 1250:0.01:60 400:0.03:150 --tv 1,3.5,10
    python3 data_scripts/tune_zero_shot.py x2 --recipes 1250:0.01:60 --tv 1,3.5,10

Validation images, never the benchmark's test images: x4 img_val_material.png (600², ../shared);
x2 256² centre crops of scikit-image's moon and chelsea (grey). Each observation is simulated with
noise seed 0; the prior is trained once per image on its observation (the task's trainer); every
recipe LAM:LR:ITERATIONS (λ in NLL units; the task's patch count) starts from bicubic, and its PSNR
after every 20 iterations is printed, so one long run also shows the shorter ones. One line per
result is appended to ``--log`` (default results/tuning_zero_shot.log).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from problems import DATA, as_batch, crop  # noqa: E402

from patchnr.io.images import load_image  # noqa: E402
from patchnr.metrics import psnr, ssim  # noqa: E402
from patchnr.tasks import get_task  # noqa: E402


def validation_images(scale: str) -> dict[str, np.ndarray]:
    if scale == "x4":
        return {"img_val_material": load_image(DATA / "material" / "img_val_material.png")}
    import skimage.data
    from skimage.color import rgb2gray

    images = {"moon": skimage.data.moon() / 255.0, "chelsea": rgb2gray(skimage.data.chelsea())}
    return {name: crop(image.astype(np.float32), ((image.shape[0] - 256) // 2, (image.shape[1] - 256) // 2), 256)
            for name, image in images.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scale", choices=("x2", "x4"))
    parser.add_argument("--recipes", nargs="*", default=[], help="LAM:LR:ITERATIONS per patchNR run")
    parser.add_argument("--tv", default="", help="comma-separated TV λ (NLL units)")
    parser.add_argument("--log", type=Path, default=ROOT / "results" / "tuning_zero_shot.log")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task(f"sr-{args.scale}-zeroshot")
    with open(args.log, "a") as log:
        def report(line: str) -> None:
            print(line, flush=True)
            log.write(line + "\n")
            log.flush()

        for name, truth in validation_images(args.scale).items():
            observation = task.simulate(as_batch(truth), 0)
            start = task.initialise(observation)
            report(f"{args.scale} {name} bicubic PSNR {psnr(start, truth):.2f} SSIM {ssim(start, truth):.4f}")
            for lam in filter(None, args.tv.split(",")):
                image = task.solve_tv(observation, replace(task.tv, lam=float(lam)), start).image
                report(f"{args.scale} {name} TV λ={lam} PSNR {psnr(image, truth):.2f} SSIM {ssim(image, truth):.4f}")
            if not args.recipes:
                continue
            began = time.perf_counter()
            flow = task.prior_trainer(observation, False)
            report(f"{args.scale} {name} prior trained in {time.perf_counter() - began:.0f} s")
            for spec in args.recipes:
                lam, lr, iterations = spec.split(":")
                recipe = task.recipes["fast"].with_overrides(lam=float(lam), lr=float(lr), iterations=int(iterations))
                result = task.solve(observation, flow, recipe, ground_truth=as_batch(truth), init=start, progress=False)
                every = " ".join(f"{k + 1}:{value:.2f}" for k, value in enumerate(result.psnr) if (k + 1) % 20 == 0)
                report(f"{args.scale} {name} patchNR λ={lam} lr={lr} it={iterations} PSNR {psnr(result.image, truth):.2f} "
                       f"SSIM {ssim(result.image, truth):.4f} misfit "
                       f"{task.measurement.discrepancy(result.image, observation):.2f} | PSNR by iteration {every}")


if __name__ == "__main__":
    main()
