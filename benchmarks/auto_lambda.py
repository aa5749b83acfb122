"""``--lam auto`` against the fixed default λ and the oracle λ (the PSNR-best of a grid), ×4 SR.

    python benchmarks/auto_lambda.py tune     # validation crops → results/auto_lambda/tune.csv, prints τ
    python benchmarks/auto_lambda.py test     # test crops → results/auto_lambda/test.csv
    python benchmarks/auto_lambda.py ct       # low-dose CT test slices → results/auto_lambda/ct.csv
    python benchmarks/auto_lambda.py report   # results/auto_lambda.md from the CSVs

Each case is a CROP² top-left crop of a material image, simulated at noise σ (seed 0), and solved by
the fast sr-x4 recipe (150 Adam iterations, λ in units of the Gaussian NLL of the stated σ):

The patch prior is a mean over patches while the data term is a sum over measurements, so the
recipe's λ (1250, tuned on 600² images) weighs the prior (600/CROP)² times more on a crop; every λ
here is therefore scaled to the crop, λ_s = 1250·CROP²/600².

- default: the task's σ = 0.01 noise model at λ_s: the fixed default, as without --lam or
  --noise-std (scaled to the crop);
- grid λ_s·{¼, ½, 1, 2, 4} (NLL units of the true σ), each from the bicubic start; the oracle is
  the PSNR-best of these;
- auto: the discrepancy search (``search_task_lambda``, starting at λ_s) with the true σ stated
  and the library's τ;
- auto-est: the same with σ estimated from the observation (wavelet MAD), as ``--lam auto`` does
  when no --noise-std is given.

``ct``: the first three low-dose CT test slices of $CT_DATA (default runs/ct_data/test) at
{1024, 4096, 16384} photons (noise seed 0), the fast ct-lowdose recipe with the bundled prior, whole
slices: the grid λ·{½, 1, 2} (NLL units of the true dose; λ the recipe's 1300), the default (the
task's 4096-photon model at that λ: what a user gets without --photons) and auto (the true dose
stated; the library's τ). No σ estimate: Poisson counts carry their own scale.

``tune`` runs the grid only, on validation crops; τ is the geometric mean over σ of the misfit per
measurement at each σ's PSNR-best grid λ. Inputs: $SR_DATA (default /work/shared/data/sr/material).
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from patchnr.checkpoint import load_flow
from patchnr.io import load_image
from patchnr.lambda_search import DEFAULT_TAU, search_task_lambda
from patchnr.metrics import psnr
from patchnr.noise import GaussianNoise, PoissonNoise
from patchnr.noise_level import estimate_gaussian_sigma
from patchnr.priors import FlowDensity
from patchnr.tasks import bundled_file, get_task
from patchnr.tasks.noise_level import with_noise

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "auto_lambda"
SR_DATA = Path(os.environ.get("SR_DATA", "/work/shared/data/sr/material"))
CROP = 64
SIGMAS = (0.005, 0.01, 0.02, 0.05)
GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
REFERENCE_PIXELS = 600 * 600  # the image size the sr-x4 recipe's λ was tuned on
IMAGES = {"tune": [("img_val_material.png", SR_DATA / "img_val_material.png")],
          "test": [(f"testset/img{k}.png", SR_DATA / "testset" / f"img{k}.png") for k in (1,)]}
FIELDS = ["image", "sigma", "method", "lam", "psnr", "misfit", "sigma_used", "seconds"]
CT_DATA = Path(os.environ.get("CT_DATA", ROOT / "runs" / "ct_data" / "test"))
CT_PHOTONS = (1024, 4096, 16384)
CT_GRID = (0.5, 1.0, 2.0)


def cases(split: str):
    for name, path in IMAGES[split]:
        truth = torch.from_numpy(load_image(path)[:CROP, :CROP])[None, None]
        for sigma in SIGMAS:
            yield name, sigma, truth


def solve_row(task, observation, truth, recipe, density, image: str, sigma: float, method: str, sigma_used: float) -> dict:
    start = time.perf_counter()
    result = task.solve_patch_prior(observation, density, recipe, task.initialise(observation), progress=False)
    return {"image": image, "sigma": sigma, "method": method, "lam": recipe.lam, "psnr": psnr(result.image, truth),
            "misfit": task.measurement.discrepancy(result.image, observation), "sigma_used": sigma_used,
            "seconds": time.perf_counter() - start}


def search_row(task, observation, truth, recipe, density, image: str, sigma: float, method: str, sigma_used: float) -> dict:
    start = time.perf_counter()
    search = search_task_lambda(task, observation, density, recipe, task.initialise(observation))
    return {"image": image, "sigma": sigma, "method": method, "lam": search.lam, "psnr": psnr(search.image, truth),
            "misfit": search.misfit, "sigma_used": sigma_used, "seconds": time.perf_counter() - start}


def run(split: str) -> None:
    torch.set_num_threads(1)
    shipped = get_task("sr-x4")
    flow, _ = load_flow(bundled_file(shipped.prior_file))
    recipe = shipped.recipes["fast"]
    recipe = recipe.with_overrides(lam=recipe.lam * CROP**2 / REFERENCE_PIXELS)
    density = FlowDensity(flow, recipe.bf16)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{split}.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        for image, sigma, truth in cases(split):
            task = with_noise(shipped, GaussianNoise(sigma))
            observation = task.simulate(truth, 0)
            rows = [solve_row(task, observation, truth, recipe.with_overrides(lam=recipe.lam * factor), density, image, sigma,
                              f"grid×{factor:g}", sigma) for factor in GRID]
            if split == "test":
                rows.append(solve_row(shipped, observation, truth, recipe, density, image, sigma, "default", shipped.measurement.noise.sigma))
                rows.append(search_row(task, observation, truth, recipe, density, image, sigma, "auto", sigma))
                estimate = estimate_gaussian_sigma(observation[0, 0].numpy())
                estimated = with_noise(shipped, GaussianNoise(estimate))
                rows.append(search_row(estimated, observation, truth, recipe, density, image, sigma, "auto-est", estimate))
            for row in rows:
                writer.writerow({key: f"{value:.6g}" if isinstance(value, float) else value for key, value in row.items()})
                print(row, flush=True)
            handle.flush()
    if split == "tune":
        print(f"τ = {tuned_tau(read(path)):.3f}")


def run_ct() -> None:
    """The ``ct`` cases; the CSV's ``sigma`` column holds the photon count. Resumable: the rows already in
    results/auto_lambda/ct.csv are kept and their cases skipped."""
    torch.set_num_threads(1)
    shipped = get_task("ct-lowdose")
    flow, _ = load_flow(bundled_file(shipped.prior_file))
    recipe = shipped.recipes["fast"]
    density = FlowDensity(flow, recipe.bf16)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "ct.csv"
    done = {(r["image"], r["sigma"], r["method"]) for r in read(path)} if path.exists() else set()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        if not done:
            writer.writeheader()
        for truth_path in sorted(CT_DATA.glob("*.npy"))[:3]:
            truth = torch.from_numpy(np.load(truth_path))[None, None]
            for photons in CT_PHOTONS:
                task = with_noise(shipped, PoissonNoise(photons))
                observation = task.simulate(truth, 0)
                cases = {f"grid×{factor:g}": lambda factor=factor: solve_row(
                             task, observation, truth, recipe.with_overrides(lam=recipe.lam * factor), density, truth_path.stem,
                             photons, f"grid×{factor:g}", photons) for factor in CT_GRID}
                cases["default"] = lambda: solve_row(shipped, observation, truth, recipe, density, truth_path.stem, photons, "default",
                                                     shipped.measurement.noise.photons)
                cases["auto"] = lambda: search_row(task, observation, truth, recipe, density, truth_path.stem, photons, "auto", photons)
                for method, run_case in cases.items():
                    if (truth_path.stem, float(photons), method) in done:
                        continue
                    row = run_case()
                    writer.writerow({key: f"{value:.6g}" if isinstance(value, float) else value for key, value in row.items()})
                    handle.flush()
                    print(row, flush=True)


def read(path: Path) -> list[dict]:
    with open(path) as handle:
        return [{k: (v if k in ("image", "method") else float(v)) for k, v in row.items()} for row in csv.DictReader(handle)]


def oracle(rows: list[dict], image: str, sigma: float) -> dict:
    grid = [r for r in rows if r["image"] == image and r["sigma"] == sigma and r["method"].startswith("grid")]
    return max(grid, key=lambda r: r["psnr"])


def ct_table(rows: list[dict]) -> str:
    """Per photon count: mean PSNR of the default, auto and the grid's best over the slices, and auto's λ and misfit."""
    lines = ["| photons | slices | default λ (4096-photon model) | auto | oracle (grid) | auto − oracle | auto − default | "
             "chosen λ | misfit/m | best grid λ's misfit/m |", "|---|---|---|---|---|---|---|---|---|---|"]
    for photons in sorted({r["sigma"] for r in rows if r["method"] == "auto"}):
        images = sorted({r["image"] for r in rows if r["sigma"] == photons and r["method"] == "auto"})

        def mean(method: str, key: str = "psnr") -> float:
            return float(np.mean([r[key] for r in rows if r["sigma"] == photons and r["method"] == method and r["image"] in images]))

        best = [oracle(rows, image, photons) for image in images]
        best_psnr = float(np.mean([b["psnr"] for b in best]))
        lines.append(f"| {photons:g} | {len(images)} | {mean('default'):.2f} | {mean('auto'):.2f} | {best_psnr:.2f} | "
                     f"{mean('auto') - best_psnr:+.2f} | {mean('auto') - mean('default'):+.2f} | {mean('auto', 'lam'):.0f} | "
                     f"{mean('auto', 'misfit'):.3f} | {np.mean([b['misfit'] for b in best]):.3f} |")
    return "\n".join(lines)


def tuned_tau(rows: list[dict]) -> float:
    best = [oracle(rows, image, sigma)["misfit"] for image, sigma in sorted({(r["image"], r["sigma"]) for r in rows})]
    return math.exp(np.mean(np.log(best)))


def report() -> None:
    tune, test = read(OUT / "tune.csv"), read(OUT / "test.csv")
    lines = ["| σ | images | default λ (σ 0.01 model) | auto (σ stated) | auto (σ estimated) | oracle (grid) | "
             "auto − oracle | auto − default | chosen λ (stated) | misfit/m (stated) | σ estimate |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for sigma in sorted({r["sigma"] for r in test if r["method"] == "auto-est"}):  # the levels whose case finished
        images = sorted({r["image"] for r in test if r["sigma"] == sigma})

        def mean(method: str, key: str = "psnr") -> float:
            return float(np.mean([r[key] for r in test if r["sigma"] == sigma and r["method"] == method]))

        best = float(np.mean([oracle(test, image, sigma)["psnr"] for image in images]))
        lines.append(f"| {sigma:g} | {len(images)} | {mean('default'):.2f} | {mean('auto'):.2f} | {mean('auto-est'):.2f} | {best:.2f} | "
                     f"{mean('auto') - best:+.2f} | {mean('auto') - mean('default'):+.2f} | {mean('auto', 'lam'):.0f} | "
                     f"{mean('auto', 'misfit'):.3f} | {mean('auto-est', 'sigma_used'):.4f} |")
    tune_lines = ["| σ | PSNR-best grid λ | its misfit/m |", "|---|---|---|"]
    for sigma in SIGMAS:
        best = oracle(tune, IMAGES["tune"][0][0], sigma)
        tune_lines.append(f"| {sigma:g} | {best['lam']:.0f} | {best['misfit']:.3f} |")
    text = (ROOT / "results" / "auto_lambda.md.in").read_text()
    text = text.replace("{{CT_TABLE}}", ct_table(read(OUT / "ct.csv")) if (OUT / "ct.csv").exists() else "(not run)")
    text = text.replace("{{TABLE}}", "\n".join(lines)).replace("{{TUNE}}", "\n".join(tune_lines))
    text = text.replace("{{TAU}}", f"{tuned_tau(tune):.3f}").replace("{{DEFAULT_TAU}}", f"{DEFAULT_TAU:g}")
    (ROOT / "results" / "auto_lambda.md").write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:] in (["tune"], ["test"]):
        run(sys.argv[1])
    elif sys.argv[1:] == ["ct"]:
        run_ct()
    elif sys.argv[1:] == ["report"]:
        report()
    else:
        raise SystemExit(__doc__)
