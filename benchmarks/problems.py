"""Small benchmarks of the deblur, inpaint and zero-shot/bicubic superresolution problems.

    python3 benchmarks/problems.py sweep-deblur   # λ of patchNR, EPLL and TV on a 256² crop of img_val_lentils
    python3 benchmarks/problems.py sweep-inpaint  # the same for inpainting (50 % missing)
    python3 benchmarks/problems.py deblur    # results/deblur.md
    python3 benchmarks/problems.py inpaint   # results/inpaint.md
    python3 benchmarks/problems.py zeroshot  # results/zeroshot.md (×4, five material test images)
    python3 benchmarks/problems.py zeroshot-natural  # results/zeroshot_natural.md (×2, ten natural images)
    python3 benchmarks/problems.py bicubic   # results/bicubic_degradation.md

Reads ../shared/data (lentils and material images, MIT) and scikit-image/PyWavelets' bundled data
images; each run is seeded (noise seed 0, patch draws seed 0) and writes a Markdown table with a
CSV beside it. Cases: the listed crops only (the CPU budget of these runs), stated in each table.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patchnr.flows.checkpoint import load_flow  # noqa: E402
from patchnr.priors.gmm import load_gmm  # noqa: E402
from patchnr.flows.zero_shot import ZERO_SHOT_TRAINING  # noqa: E402
from patchnr.io.images import load_image  # noqa: E402
from patchnr.metrics import psnr, ssim  # noqa: E402
from patchnr.tasks import bundled_file, get_task  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sr"
RESULTS = ROOT / "results"
CROP = 256


@dataclass
class Row:
    problem: str
    image: str
    method: str
    psnr: float
    ssim: float
    seconds: float
    misfit: float  # the data misfit per measurement (≈ 1 at the noise level): patchnr.physics.mismatch's yardstick


def crop(image: np.ndarray, corner: tuple[int, int], size: int = CROP) -> np.ndarray:
    return np.ascontiguousarray(image[corner[0]:corner[0] + size, corner[1]:corner[1] + size])


CORNERS = ((0, 0), (0, 244), (244, 0), (244, 244))  # the four corner crops of a 500² lentils image


def lentils_crops(split: str, corners: tuple[tuple[int, int], ...] = CORNERS) -> dict[str, np.ndarray]:
    image = load_image(DATA / "lentils" / f"img_{split}_lentils.png")
    return {f"lentils_{split}_{r}_{c}": crop(image, (r, c)) for r, c in corners}


def material_crops(corners: tuple[tuple[int, int], ...] = ((0, 0), (344, 344))) -> dict[str, np.ndarray]:
    image = load_image(DATA / "material" / "img_test_material.png")
    return {f"material_test_{r}_{c}": crop(image, (r, c)) for r, c in corners}


def natural_images(size: int = 256) -> dict[str, np.ndarray]:
    """Centre crops (size²) of grey natural images bundled with scikit-image and PyWavelets."""
    import pywt.data
    import skimage.data
    from skimage.color import rgb2gray

    sources = {"camera": skimage.data.camera, "astronaut": lambda: rgb2gray(skimage.data.astronaut()), "coins": skimage.data.coins,
               "brick": skimage.data.brick, "grass": skimage.data.grass, "gravel": skimage.data.gravel,
               "rocket": lambda: rgb2gray(skimage.data.rocket()), "coffee": lambda: rgb2gray(skimage.data.coffee()), "ascent": pywt.data.ascent,
               "aero": pywt.data.aero}
    images = {}
    for name, load in sources.items():
        image = np.asarray(load(), dtype=np.float64)
        image = image / 255.0 if image.max() > 1.5 else image
        h, w = image.shape
        images[name] = crop(image.astype(np.float32), ((h - size) // 2, (w - size) // 2), size)
    return images


def as_batch(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]


def score(problem: str, name: str, method: str, image: torch.Tensor, truth: np.ndarray, seconds: float, task,
          observation: torch.Tensor) -> Row:
    result = image[0, 0].detach().cpu().numpy()
    misfit = task.measurement.discrepancy(image, observation)
    return Row(problem, name, method, psnr(result, truth), ssim(result, truth), seconds, misfit)


@dataclass(frozen=True)
class Priors:
    """What the patch-prior methods use: the flow (None: trained on each observation), the EPLL
    mixture, and λ overrides (None: the task's own)."""

    flow: object = None
    gmm: dict | None = None
    lam: float | None = None
    epll_lam: float | None = None
    tv_lam: float | None = None


def solve_methods(problem: str, task, name: str, truth: np.ndarray, priors: Priors, methods: tuple[str, ...]) -> list[Row]:
    """Simulate (seed 0) and reconstruct ``truth`` with the task's baseline and each of ``methods``
    ('tv', 'epll', 'patchnr')."""
    observation = task.simulate(as_batch(truth), 0)
    start = time.perf_counter()
    init = task.initialise(observation)
    rows = [score(problem, name, task.baseline, init, truth, time.perf_counter() - start, task, observation)]
    for method in methods:
        start = time.perf_counter()
        label, image = METHODS[method](task, observation, init, priors)
        rows.append(score(problem, name, label, image, truth, time.perf_counter() - start, task, observation))
    for row in rows:
        print(f"{row.problem:>24} {row.image:>24} {row.method:>20} {row.psnr:6.2f} dB {row.ssim:.4f} {row.seconds:6.1f} s "
              f"misfit {row.misfit:.2f}", flush=True)
    return rows


def solve_tv(task, observation, init, priors: Priors) -> tuple[str, torch.Tensor]:
    settings = task.tv if priors.tv_lam is None else replace(task.tv, lam=priors.tv_lam)
    return f"TV λ={settings.lam:g}", task.solve_tv(observation, settings, init).image


def solve_epll(task, observation, init, priors: Priors) -> tuple[str, torch.Tensor]:
    recipe = task.recipes["fast"].with_overrides(lam=priors.epll_lam or task.epll_lam)
    return f"EPLL λ={recipe.lam:g}", task.solve_epll(observation, priors.gmm, recipe, init).image


def solve_patchnr(task, observation, init, priors: Priors) -> tuple[str, torch.Tensor]:
    recipe = task.recipes["fast"].with_overrides(lam=priors.lam)
    flow = priors.flow if priors.flow is not None else task.prior_trainer(observation, False)
    return f"patchNR λ={recipe.lam:g}", task.solve(observation, flow, recipe, init=init, progress=False).image


METHODS = {"tv": solve_tv, "epll": solve_epll, "patchnr": solve_patchnr}


def write(name: str, title: str, command: str, notes: str, rows: list[Row], summary: tuple[str, ...] = ()) -> None:
    """results/NAME.md (one line per case, a mean per problem and method, then ``summary``) and results/NAME.csv."""
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{name}.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["problem", "image", "method", "psnr", "ssim", "seconds", "misfit"])
        for row in rows:
            writer.writerow([row.problem, row.image, row.method, f"{row.psnr:.4f}", f"{row.ssim:.5f}", f"{row.seconds:.2f}", f"{row.misfit:.3f}"])
    lines = [f"# {title}", "", f"Generated by `{command}` (torch threads: {torch.get_num_threads()}; seconds on a shared "
             "2-core machine under other load).", "", notes, "", "misfit: the data misfit per measurement, ≈ 1 at the "
             "noise level (the mismatch warning's threshold is 3).", "",
             "| problem | image | method | PSNR (dB) | SSIM | seconds | misfit |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.problem} | {r.image} | {r.method} | {r.psnr:.2f} | {r.ssim:.4f} | {r.seconds:.1f} | {r.misfit:.2f} |" for r in rows]
    lines += ["", "Means over the images (per method and λ):", "", "| problem | method | PSNR (dB) | SSIM |", "|---|---|---|---|"]
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.problem, row.method), []).append(row)
    for (problem, method), members in groups.items():
        lines.append(f"| {problem} | {method} | {np.mean([m.psnr for m in members]):.2f} | {np.mean([m.ssim for m in members]):.4f} |")
    lines += ["", *summary] if summary else []
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


def bundled_priors(task, **lams) -> Priors:
    """The task's bundled flow and EPLL mixture, with optional λ overrides."""
    flow, _ = load_flow(bundled_file(task.prior_file))
    return Priors(flow, load_gmm(bundled_file(task.gmm_file)), **lams)


def material_priors(**lams) -> Priors:
    """The bundled material-image flow and mixture (sr-x4's), for inpainting material images."""
    return bundled_priors(get_task("sr-x4"), **lams)


def recipe_note(task) -> str:
    recipe, tv = task.recipes["fast"], task.tv
    return (f"patchNR: fast recipe (λ {recipe.lam:g}, {recipe.iterations} Adam iterations at lr {recipe.lr:g}, {recipe.n_patches} "
            f"patches); EPLL: the same solver with the task's mixture, λ {task.epll_lam:g}; TV: λ {tv.lam:g}, ε {tv.eps:g}, "
            f"{tv.iterations} L-BFGS iterations. λ in units of the Gaussian NLL; each λ chosen on img_val_lentils "
            "(`python3 benchmarks/problems.py sweep-deblur|sweep-inpaint`, results/sweep_*.md)")


SWEEP = {"deblur": (lambda: get_task("deblur", kernel="gaussian:2"), {"lam": (100, 300, 1000), "epll_lam": (100, 300, 1000), "tv_lam": (2, 5, 20)}),
         "inpaint": (lambda: get_task("inpaint", missing=0.5), {"lam": (300, 1000, 3000), "epll_lam": (300, 1000, 3000), "tv_lam": (1, 5, 20)})}
SWEEP_TITLES = {"deblur": "deblur gaussian:2", "inpaint": "inpaint 50%"}


def sweep(problem: str) -> None:
    """λ of patchNR, EPLL and TV for ``problem`` (a key of SWEEP) on img_val_lentils' first crop."""
    name, truth = next(iter(lentils_crops("val").items()))
    make, grids = SWEEP[problem]
    task, rows = make(), []
    for lam, epll_lam, tv_lam in zip(*grids.values()):
        rows += solve_methods(SWEEP_TITLES[problem], task, name, truth, bundled_priors(task, lam=lam, epll_lam=epll_lam, tv_lam=tv_lam),
                              ("tv", "epll", "patchnr"))
    write(f"sweep_{problem}", f"λ sweep of {problem} on a validation crop", f"python3 benchmarks/problems.py sweep-{problem}",
          "One 256² crop of img_val_lentils (corner 0, 0); the fast recipe and the bundled lentils flow and mixture at each "
          "λ; noise seed 0. The task file's λ are the PSNR-best here.", rows)


def deblur() -> None:
    """Wiener, TV, EPLL and patchNR on two 256² crops of img_test_lentils, Gaussian kernel σ = 2, noise 5/255."""
    task = get_task("deblur", kernel="gaussian:2")
    priors = bundled_priors(task)
    rows = [row for name, truth in lentils_crops("test", CORNERS[::3]).items()
            for row in solve_methods("deblur gaussian:2", task, name, truth, priors, ("tv", "epll", "patchnr"))]
    write("deblur", "Deblurring (lentils)", "python3 benchmarks/problems.py deblur",
          "Two 256² crops of img_test_lentils (corners (0, 0) and (244, 244)); kernel gaussian:2; noise 5/255 (seed 0); Wiener: the task's "
          f"start. {recipe_note(task)}.", rows)


def inpaint() -> None:
    """Fill, TV, EPLL and patchNR at 50 % and 80 % missing pixels: a crop of img_test_lentils (the lentils
    priors) and one of img_test_material (the bundled material priors)."""
    rows = []
    for missing in (0.5, 0.8):
        task = get_task("inpaint", missing=missing)
        for crops, priors in ((lentils_crops("test", CORNERS[:1]), bundled_priors(task)), (material_crops(CORNERS[:1]), material_priors())):
            rows += [row for name, truth in crops.items()
                     for row in solve_methods(f"inpaint {missing:.0%}", task, name, truth, priors, ("tv", "epll", "patchnr"))]
    write("inpaint", "Inpainting (lentils and material images)", "python3 benchmarks/problems.py inpaint",
          "The top-left 256² crops of img_test_lentils, with the bundled lentils flow and mixture, and of img_test_material, "
          "with the bundled material flow and mixture (sr-x4's); random "
          "masks (seed 0) with 50 % and 80 % missing pixels; noise 0.01 on the known pixels (seed 0); start: the task's fill. "
          f"{recipe_note(get_task('inpaint'))}; the same λ on the material crops.", rows)


def zeroshot() -> None:
    """Zero-shot ×4 on five material test images (600², observed 150²): bicubic, TV, patchNR (prior trained on each observation)."""
    task = get_task("sr-x4-zeroshot")
    images = {f"testset_img{k}": load_image(DATA / "material" / "testset" / f"img{k}.png") for k in range(1, 6)}
    rows = [row for name, truth in images.items() for row in solve_methods("zero-shot x4", task, name, truth, Priors(), ("tv", "patchnr"))]
    write("zeroshot", "Zero-shot ×4 superresolution (material images)", "python3 benchmarks/problems.py zeroshot",
          f"Material test images img1–img5 (600², `testset/`), observed 150² (σ = 2, stride 4, reflect padding 6, noise 0.01, "
          f"seed 0). {zero_shot_note(task)}", rows)


def zero_shot_note(task) -> str:
    recipe, tv = task.recipes["fast"], task.tv
    return (f"patchNR: λ {recipe.lam:g} (NLL units), {recipe.iterations} Adam iterations at lr {recipe.lr:g}, {recipe.n_patches} "
            f"patches; its seconds include training the prior on the observation ({ZERO_SHOT_TRAINING.steps} steps). TV: λ "
            f"{tv.lam:g}, ε {tv.eps:g}. Both λ chosen on validation images (`data_scripts/tune_zero_shot.py`, results/tuning_zero_shot.log).")


def zeroshot_natural() -> None:
    """Zero-shot ×2 on 256² centre crops of the natural images of scikit-image and PyWavelets: bicubic, TV, patchNR."""
    task = get_task("sr-x2-zeroshot")
    rows = [row for name, truth in natural_images().items() for row in solve_methods("zero-shot x2", task, name, truth, Priors(), ("tv", "patchnr"))]
    write("zeroshot_natural", "Zero-shot ×2 superresolution of natural images", "python3 benchmarks/problems.py zeroshot-natural",
          "256² centre crops of camera, astronaut (grey), coins, brick, grass, gravel, rocket (grey), coffee (grey) "
          "(scikit-image) and ascent, aero (PyWavelets), observed 128² (σ = 1, stride 2, reflect padding 7, noise 0.01, seed 0). "
          f"{zero_shot_note(task)}", rows, ssim_wins(rows))


def ssim_wins(rows: list[Row]) -> tuple[str, ...]:
    """How often patchNR's SSIM beats both bicubic's and TV's on the same image, and its mean gain over bicubic."""
    by_image: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_image.setdefault(row.image, {})[row.method.split(" λ")[0]] = row
    wins = [r["patchNR"].ssim > max(r["bicubic"].ssim, r["TV"].ssim) for r in by_image.values()]
    gains = [(r["patchNR"].psnr - r["bicubic"].psnr, r["patchNR"].ssim - r["bicubic"].ssim) for r in by_image.values()]
    return (f"patchNR's SSIM is above both bicubic's and TV's on {sum(wins)} of {len(wins)} images ({sum(wins) / len(wins):.0%}); "
            f"its mean gain over bicubic: {np.mean([g[0] for g in gains]):+.2f} dB PSNR, {np.mean([g[1] for g in gains]):+.4f} SSIM.",)


def bicubic() -> None:
    """sr-x4 on a bicubic-resized 256² material crop: bicubic upsampling, patchNR with the Gaussian and the bicubic operator."""
    flow, _ = load_flow(bundled_file("priors/sr_material.pt"))
    name, truth = next(iter(material_crops().items()))
    rows = []
    for degradation in ("gaussian", "bicubic"):
        made, solved = get_task("sr-x4", degradation="bicubic"), get_task("sr-x4", degradation=degradation)
        observation = made.simulate(as_batch(truth), 0)
        start = time.perf_counter()
        result = solved.solve(observation, flow, solved.recipes["fast"], progress=False)
        rows.append(score("sr-x4 bicubic-made", name, f"patchNR --degradation {degradation}", result.image, truth,
                          time.perf_counter() - start, solved, observation))
        print(rows[-1], flush=True)
    rows.insert(0, score("sr-x4 bicubic-made", name, "bicubic", made.initialise(observation), truth, 0.0, made, observation))
    write("bicubic_degradation", "×4 superresolution of a bicubic-resized image", "python3 benchmarks/problems.py bicubic",
          "One 256² crop of img_test_material (corner (0, 0)) resized to 64² by the anti-aliased bicubic operator, noise 0.01 "
          "(seed 0); the bundled material prior, sr-x4's fast recipe, solved with each degradation model.", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", choices=sorted(RUNS))
    torch.set_num_threads(1)
    RUNS[parser.parse_args().run]()


RUNS = {"sweep-deblur": lambda: sweep("deblur"), "sweep-inpaint": lambda: sweep("inpaint"), "deblur": deblur, "inpaint": inpaint, "zeroshot": zeroshot, "zeroshot-natural": zeroshot_natural,
        "bicubic": bicubic}

if __name__ == "__main__":
    main()
