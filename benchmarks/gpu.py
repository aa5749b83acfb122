"""GPU rows: the fast and the paper recipe of ×4 superresolution, and posterior sampling, on a CUDA device.

Runs ``patchnr.solve`` / ``patchnr.sample`` with ``device='cuda'`` on the bundled 600² material test
image (the sr-x4 example, observation simulated with seed 0). The fast recipe runs to its end; the
paper recipe is timed over its first ``--paper-iterations`` iterations and its full time extrapolated
(stated as such). One warm-up solve first (CUDA start-up and kernel selection are not counted).

    python benchmarks/gpu.py [--paper-iterations 30] [--out results/speed_gpu.md]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

import patchnr
from patchnr.io import load_image
from patchnr.tasks import bundled_file

RESULTS = Path(__file__).resolve().parents[1] / "results"


def timed(call) -> tuple[object, float]:
    """(result, wall-clock seconds) of ``call()``, the GPU synchronised before and after."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    result = call()
    torch.cuda.synchronize()
    return result, time.perf_counter() - start


def rows(paper_iterations: int) -> list[tuple[str, str, str]]:
    """(case, seconds, quality) rows of the measurements."""
    truth = load_image(bundled_file("examples/material_test.png"))
    observation, _ = patchnr.simulate_example("sr-x4", truth, seed=0)
    patchnr.solve(observation, task="sr-x4", device="cuda", iterations=5)  # warm-up
    fast, fast_s = timed(lambda: patchnr.solve(observation, task="sr-x4", device="cuda"))
    paper, paper_s = timed(lambda: patchnr.solve(observation, task="sr-x4", device="cuda", recipe="paper", iterations=paper_iterations))
    full = patchnr.get_task("sr-x4").recipes["paper"].iterations
    post, post_s = timed(lambda: patchnr.sample(observation, task="sr-x4", device="cuda", samples=200, chains=8))
    bicubic = patchnr.psnr(fast.init, truth)
    return [
        ("sr-x4 600², bicubic start", "–", f"{bicubic:.2f} dB"),
        ("sr-x4 600², fast recipe (150 iterations, bf16, 30 000 patches)", f"{fast_s:.2f}", f"{patchnr.psnr(fast.image, truth):.2f} dB"),
        (f"sr-x4 600², paper recipe: {paper_iterations} of {full} iterations (130 000 patches, fp32)", f"{paper_s:.2f}",
         f"{patchnr.psnr(paper.image, truth):.2f} dB after {paper_iterations}"),
        (f"sr-x4 600², paper recipe extrapolated to {full} iterations", f"{paper_s * full / paper_iterations:.1f}", "–"),
        ("sr-x4 600², posterior: MAP (fast) + 8 chains, 200 samples", f"{post_s:.1f}",
         f"mean {patchnr.psnr(post.mean, truth):.2f} dB, spread ratio {post.spread_ratio:.2f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paper-iterations", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS / "speed_gpu.md")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.exit(2, "gpu.py: error: no CUDA GPU\n")
    machine = (f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
               f"{platform.processor() or platform.machine()} host")
    lines = ["# GPU rows", "", f"`python benchmarks/gpu.py --paper-iterations {args.paper_iterations}` on {machine}.", "",
             "| case | seconds | quality |", "|---|---|---|"]
    lines += [f"| {case} | {seconds} | {quality} |" for case, seconds, quality in rows(args.paper_iterations)]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
