"""``--lam auto`` against the fixed default λ and the oracle λ (the PSNR-best of a grid).

    python benchmarks/auto_lambda.py tune [K/N]   # validation crops, grid only → results/auto_lambda/sr_tune.csv
    python benchmarks/auto_lambda.py grid [K/N]   # test crops: grid and default → results/auto_lambda/sr_test.csv
    python benchmarks/auto_lambda.py auto [K/N]   # test crops: auto → results/auto_lambda/sr_test.csv
    python benchmarks/auto_lambda.py auto-est [K/N]  # test crops: auto-est → results/auto_lambda/sr_test.csv
    python benchmarks/auto_lambda.py tasks [K/N]  # deblur and inpaint test crops → results/auto_lambda/tasks.csv
    python benchmarks/auto_lambda.py ct   [K/N]   # low-dose CT test slices → results/auto_lambda/ct.csv
    python benchmarks/auto_lambda.py report       # results/auto_lambda.md from the CSVs

Every command is resumable (the rows already in its CSV are kept and their cases skipped); ``K/N`` runs
the cases whose index is K modulo N, so N processes share the work (one thread each).

SR (×4): each case is a CROP² crop of a material image, simulated at noise σ (seed 0), and solved by
the fast sr-x4 recipe (150 Adam iterations, λ in units of the Gaussian NLL of the stated σ). The patch
prior is a mean over patches while the data term is a sum over measurements, so the recipe's λ (1250,
tuned on 600² images) weighs the prior (600/CROP)² times more on a crop; every λ here is therefore
scaled to the crop, λ_s = 1250·CROP²/600².

- default: the task's σ = 0.01 noise model at λ_s: the fixed default, as without --lam or
  --noise-std (scaled to the crop);
- grid λ_s·2^(k/2), k = −4 … 4 (NLL units of the true σ), each from the bicubic start; the oracle is
  the PSNR-best of these;
- auto: the discrepancy search (``search_task_lambda``, starting at λ_s) with the true σ stated
  and the library's τ for it;
- auto-est: the same with σ estimated from the observation (wavelet MAD), as ``--lam auto`` does
  when no --noise-std is given.

``tune`` runs the grid only, on validation crops; the library's τ(σ) comes from the misfit per
measurement of each σ's PSNR-best grid λ there (``tuned_taus``). Inputs: $SR_DATA (default
/work/shared/data/sr/material).

``ct``: the first three low-dose CT test slices of $CT_DATA (default runs/ct_data/test) at
{1024, 4096, 16384} photons (noise seed 0), the fast ct-lowdose recipe with the bundled prior, whole
slices: the grid λ·{½, 1, 2} (NLL units of the true dose; λ the recipe's 1300), the default (the
task's 4096-photon model at that λ: what a user gets without --photons) and auto (the true dose
stated; the library's τ). No σ estimate: Poisson counts carry their own scale.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from patchnr.flows.checkpoint import load_flow
from patchnr.io.images import load_image
from patchnr.optim.lambda_search import gaussian_tau, search_task_lambda
from patchnr.metrics import psnr
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.physics.noise_level import estimate_gaussian_sigma
from patchnr.priors import FlowDensity
from patchnr.tasks import bundled_file, get_task

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "auto_lambda"
SR_DATA = Path(os.environ.get("SR_DATA", "/work/shared/data/sr/material"))
CROP = 128
SIGMAS = (0.005, 0.01, 0.02, 0.05)
GRID = tuple(2.0 ** (k / 2) for k in range(-4, 5))
REFERENCE_PIXELS = 600 * 600  # the image size the sr-x4 recipe's λ was tuned on
# (name, file, top-left corner of the crop)
IMAGES = {"tune": [("img_val_material.png@0,0", SR_DATA / "img_val_material.png", (0, 0)),
                   ("img_val_material.png@472,472", SR_DATA / "img_val_material.png", (472, 472))],
          "test": [(f"testset/img{k}.png", SR_DATA / "testset" / f"img{k}.png", (0, 0)) for k in range(1, 6)]}
FIELDS = ["image", "sigma", "method", "lam", "psnr", "misfit", "sigma_used", "seconds"]
CT_DATA = Path(os.environ.get("CT_DATA", ROOT / "runs" / "ct_data" / "test"))
CT_PHOTONS = (1024, 4096, 16384)
CT_GRID = (0.5, 1.0, 2.0)

Case = tuple[str, float, str, Callable[[], dict]]  # image, noise level, method, the run


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


def crop_truth(path: Path, corner: tuple[int, int]) -> torch.Tensor:
    """The CROP² crop of an image file at ``corner`` (top, left), 1×1×CROP×CROP."""
    top, left = corner
    return torch.from_numpy(load_image(path)[top:top + CROP, left:left + CROP].copy())[None, None]


def sr_cases(command: str) -> Iterator[Case]:
    """The SR cases of ``tune`` (grid on validation crops), ``grid`` (grid and default on test crops),
    ``auto`` or ``auto-est`` (on test crops), in a fixed order."""
    shipped = get_task("sr-x4")
    flow, _ = load_flow(bundled_file(shipped.prior_file))
    recipe = shipped.recipes["fast"]
    recipe = recipe.with_overrides(lam=recipe.lam * CROP**2 / REFERENCE_PIXELS)
    density = FlowDensity(flow, recipe.bf16)
    for image, path, (top, left) in IMAGES["tune" if command == "tune" else "test"]:
        truth = crop_truth(path, (top, left))
        for sigma in SIGMAS:
            task = shipped.with_noise(GaussianNoise(sigma))
            observation = task.simulate(truth, 0)
            args = (observation, truth)
            if command in ("tune", "grid"):
                for factor in GRID:
                    method = f"grid×{factor:.3g}"
                    yield image, sigma, method, partial(solve_row, task, *args, recipe.with_overrides(lam=recipe.lam * factor),
                                                        density, image, sigma, method, sigma)
            if command == "grid":
                yield image, sigma, "default", partial(solve_row, shipped, *args, recipe, density, image, sigma, "default",
                                                       shipped.measurement.noise.sigma)
            if command == "auto":
                yield image, sigma, "auto", partial(search_row, task, *args, recipe, density, image, sigma, "auto", sigma)
            if command == "auto-est":
                yield image, sigma, "auto-est", partial(_estimated_row, shipped, *args, recipe, density, image, sigma)


def _estimated_row(shipped, observation, truth, recipe, density, image: str, sigma: float) -> dict:
    estimate = estimate_gaussian_sigma(observation[0, 0].numpy())
    estimated = shipped.with_noise(GaussianNoise(estimate))
    return search_row(estimated, observation, truth, recipe, density, image, sigma, "auto-est", estimate)


def ct_cases() -> Iterator[Case]:
    """The ``ct`` cases; the CSV's ``sigma`` column holds the photon count."""
    shipped = get_task("ct-lowdose")
    flow, _ = load_flow(bundled_file(shipped.prior_file))
    recipe = shipped.recipes["fast"]
    density = FlowDensity(flow, recipe.bf16)
    for truth_path in sorted(CT_DATA.glob("*.npy"))[:3]:
        truth = torch.from_numpy(np.load(truth_path))[None, None]
        image = truth_path.stem
        for photons in CT_PHOTONS:
            task = shipped.with_noise(PoissonNoise(photons))
            observation = task.simulate(truth, 0)
            for factor in CT_GRID:
                method = f"grid×{factor:g}"
                yield image, float(photons), method, partial(solve_row, task, observation, truth, recipe.with_overrides(
                    lam=recipe.lam * factor), density, image, photons, method, photons)
            yield image, float(photons), "default", partial(solve_row, shipped, observation, truth, recipe, density, image, photons,
                                                            "default", shipped.measurement.noise.photons)
            yield image, float(photons), "auto", partial(search_row, task, observation, truth, recipe, density, image, photons,
                                                         "auto", photons)


def task_cases() -> Iterator[Case]:
    """``tasks``: deblur (gaussian:2) on the two lentils test crops of results/deblur.md and inpaint 50 % on
    the lentils and material crops of results/inpaint.md, noise seed 0, the task's fast recipe: its fixed λ
    ("default") and ``--lam auto`` with the task's own τ ("auto"). The ``image`` column is TASK:CROP and
    ``sigma`` the task's noise σ."""
    from problems import CORNERS, lentils_crops, material_crops  # benchmarks/problems.py

    deblur, inpaint = get_task("deblur", kernel="gaussian:2"), get_task("inpaint", missing=0.5)
    groups = ((deblur, lentils_crops("test", CORNERS[::3]), deblur.prior_file),
              (inpaint, lentils_crops("test", CORNERS[:1]), inpaint.prior_file),
              (inpaint, material_crops(CORNERS[:1]), get_task("sr-x4").prior_file))
    for task, crops, prior_file in groups:
        flow, _ = load_flow(bundled_file(prior_file))
        recipe = task.recipes["fast"]
        density = FlowDensity(flow, recipe.bf16)
        sigma = task.measurement.noise.sigma
        for name, crop in crops.items():
            truth = torch.from_numpy(crop)[None, None]
            observation, image = task.simulate(truth, 0), f"{task.name}:{name}"
            yield image, sigma, "default", partial(solve_row, task, observation, truth, recipe, density, image, sigma, "default", sigma)
            yield image, sigma, "auto", partial(search_row, task, observation, truth, recipe, density, image, sigma, "auto", sigma)


def run(cases: Iterator[Case], path: Path, shard: tuple[int, int]) -> None:
    """Runs the cases of this shard (index ≡ K mod N) that ``path`` does not hold yet, appending one row each."""
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    done = {(r["image"], r["sigma"], r["method"]) for r in read(path)} if path.exists() else set()
    if not path.exists():
        with open(path, "w", newline="") as handle:
            csv.DictWriter(handle, FIELDS).writeheader()
    part, parts = shard
    for index, (image, sigma, method, run_case) in enumerate(cases):
        if index % parts != part or (image, float(sigma), method) in done:
            continue
        row = run_case()
        with open(path, "a", newline="") as handle:  # one short append per row: shards may share the file
            csv.DictWriter(handle, FIELDS).writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
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


def observation_of(image: str, sigma: float) -> torch.Tensor:
    """The observation of a named tune or test crop at noise σ (re-simulated: seed 0)."""
    for name, path, (top, left) in IMAGES["tune"] + IMAGES["test"]:
        if name == image:
            return get_task("sr-x4").with_noise(GaussianNoise(sigma)).simulate(crop_truth(path, (top, left)), 0)
    raise KeyError(image)


def relative_noise(image: str, sigma: float) -> float:
    """σ / std of the observation of a named crop."""
    return sigma / float(observation_of(image, sigma).double().std())


def psnr_at_misfit(rows: list[dict], image: str, sigma: float, target: float) -> float:
    """The PSNR that a λ with misfit/m = ``target`` would reach on a case: linear in log misfit between
    the grid's points (the misfit grows with λ), the end point's beyond them."""
    grid = sorted((r["misfit"], r["psnr"]) for r in rows if r["image"] == image and r["sigma"] == sigma
                  and r["method"].startswith("grid"))
    return float(np.interp(math.log(target), [math.log(m) for m, _ in grid], [p for _, p in grid]))


def tuned_taus(rows: list[dict], slopes=tuple(np.arange(0.0, 0.81, 0.05))) -> tuple[float, float, float]:
    """(τ at relative noise 0.1, slope, mean PSNR loss) of the rule τ = τ₀·(r/0.1)^slope, r = σ/std(y),
    with the least mean PSNR loss against each case's best grid λ; τ₀ on a 0.01 grid, the slope from ``slopes``."""
    cases = sorted({(r["image"], r["sigma"]) for r in rows})
    relative = {case: relative_noise(*case) for case in cases}
    best = {case: oracle(rows, *case)["psnr"] for case in cases}

    def loss(tau0: float, slope: float) -> float:
        return float(np.mean([best[c] - psnr_at_misfit(rows, *c, tau0 * (relative[c] / 0.1) ** slope) for c in cases]))

    mean_loss, tau0, slope = min((loss(t, b), t, b) for t in np.arange(0.2, 1.5, 0.01) for b in slopes)
    return float(tau0), float(slope), mean_loss


def sr_table(test: list[dict]) -> str:
    """Per σ: mean PSNR over the test crops of the default, auto (σ stated and estimated) and the grid's best."""
    lines = ["| σ | images | default λ (σ 0.01 model) | λ_s, σ stated | auto (σ stated) | auto (σ estimated) | oracle (grid) | "
             "auto − oracle | auto − default | τ | chosen λ (stated) | misfit/m (stated) | σ estimate |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    gaps = []
    for sigma in sorted({r["sigma"] for r in test if r["method"] == "auto"}):
        images = sorted({r["image"] for r in test if r["sigma"] == sigma and r["method"] == "auto"})

        def mean(method: str, key: str = "psnr") -> float:
            values = [r[key] for r in test if r["sigma"] == sigma and r["method"] == method and r["image"] in images]
            return float(np.mean(values)) if len(values) == len(images) else math.nan

        best = float(np.mean([oracle(test, image, sigma)["psnr"] for image in images]))
        gaps.append(mean("auto") - best)
        taus = [gaussian_tau(sigma, observation_of(image, sigma)) for image in images]
        lines.append(f"| {sigma:g} | {len(images)} | {mean('default'):.2f} | {mean('grid×1'):.2f} | {mean('auto'):.2f} | "
                     f"{_cell(mean('auto-est'), '.2f')} | "
                     f"{best:.2f} | {mean('auto') - best:+.2f} | {mean('auto') - mean('default'):+.2f} | {np.mean(taus):.2f} | "
                     f"{mean('auto', 'lam'):.0f} | {mean('auto', 'misfit'):.3f} | {_cell(mean('auto-est', 'sigma_used'), '.4f')} |")
    lines.append(f"\nauto − oracle averaged over the {len(gaps)} noise levels: {np.mean(gaps):+.2f} dB.")
    return "\n".join(lines)


def _cell(value: float, spec: str) -> str:
    return "–" if math.isnan(value) else format(value, spec)


def per_image_table(test: list[dict]) -> str:
    """One row per test crop and σ: PSNR of the default, auto and the best grid λ, and the two λ."""
    lines = ["| image | σ | default | λ_s, σ stated | auto | oracle | auto λ | oracle λ |", "|---|---|---|---|---|---|---|---|"]
    for image, sigma in sorted({(r["image"], r["sigma"]) for r in test if r["method"] == "auto"}):
        row = {r["method"]: r for r in test if r["image"] == image and r["sigma"] == sigma}
        best = oracle(test, image, sigma)
        lines.append(f"| {image} | {sigma:g} | {row['default']['psnr']:.2f} | {row['grid×1']['psnr']:.2f} | {row['auto']['psnr']:.2f} | "
                     f"{best['psnr']:.2f} | "
                     f"{row['auto']['lam']:.0f} | {best['lam']:.0f} |")
    return "\n".join(lines)


def tasks_table(rows: list[dict]) -> str:
    """One row per deblur / inpaint test crop: the fixed λ against auto (PSNR, λ, misfit/m)."""
    lines = ["| task:crop | fixed λ | its PSNR | its misfit/m | auto λ | auto PSNR | auto misfit/m | auto − fixed |",
             "|---|---|---|---|---|---|---|---|"]
    for image in sorted({r["image"] for r in rows if r["method"] == "auto"}):
        fixed, auto = ({r["method"]: r for r in rows if r["image"] == image}[m] for m in ("default", "auto"))
        lines.append(f"| {image} | {fixed['lam']:g} | {fixed['psnr']:.2f} | {fixed['misfit']:.3f} | {auto['lam']:.0f} | "
                     f"{auto['psnr']:.2f} | {auto['misfit']:.3f} | {auto['psnr'] - fixed['psnr']:+.2f} |")
    return "\n".join(lines)


def tune_table(tune: list[dict]) -> str:
    lines = ["| validation crop | σ | σ / std(y) | PSNR-best grid λ | its PSNR | its misfit/m | τ of the rule |",
             "|---|---|---|---|---|---|---|"]
    for image, sigma in sorted({(r["image"], r["sigma"]) for r in tune}):
        best, relative = oracle(tune, image, sigma), relative_noise(image, sigma)
        tau = gaussian_tau(sigma, observation_of(image, sigma))
        lines.append(f"| {image} | {sigma:g} | {relative:.3f} | {best['lam']:.0f} | {best['psnr']:.2f} | {best['misfit']:.3f} | {tau:.2f} |")
    return "\n".join(lines)


def report() -> None:
    tune, test = read(OUT / "sr_tune.csv"), read(OUT / "sr_test.csv")
    tau0, slope, rule_loss = tuned_taus(tune)
    constant, _, constant_loss = tuned_taus(tune, slopes=(0.0,))
    text = (ROOT / "results" / "auto_lambda.md.in").read_text()
    replacements = {"{{CT_TABLE}}": ct_table(read(OUT / "ct.csv")), "{{TASKS}}": tasks_table(read(OUT / "tasks.csv")), "{{TABLE}}": sr_table(test), "{{PER_IMAGE}}": per_image_table(test),
                    "{{TUNE}}": tune_table(tune), "{{RULE}}": f"τ₀ = {tau0:.2f}, slope {slope:.2f}, mean loss {rule_loss:.3f} dB",
                    "{{CONSTANT}}": f"τ = {constant:.2f}, mean loss {constant_loss:.3f} dB"}
    for key, value in replacements.items():
        text = text.replace(key, value)
    (ROOT / "results" / "auto_lambda.md").write_text(text)
    print(text)


def shard_argument(arguments: list[str]) -> tuple[int, int]:
    """``K/N`` (default 0/1) → (K, N)."""
    if not arguments:
        return 0, 1
    part, parts = (int(v) for v in arguments[0].split("/"))
    if not 0 <= part < parts:
        raise SystemExit(f"shard {arguments[0]}: K/N needs 0 ≤ K < N")
    return part, parts


if __name__ == "__main__":
    command, rest = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
    if command in ("tune", "grid", "auto", "auto-est") and len(rest) <= 1:
        run(sr_cases(command), OUT / ("sr_tune.csv" if command == "tune" else "sr_test.csv"), shard_argument(rest))
    elif command == "tasks" and len(rest) <= 1:
        run(task_cases(), OUT / "tasks.csv", shard_argument(rest))
    elif command == "ct" and len(rest) <= 1:
        run(ct_cases(), OUT / "ct.csv", shard_argument(rest))
    elif command == "report" and not rest:
        report()
    else:
        raise SystemExit(__doc__)
