"""Small benchmarks of the deblur, inpaint and zero-shot/bicubic superresolution problems.

    python3 benchmarks/problems.py sweep     # λ of patchNR and TV on a 256² crop of img_val_lentils
    python3 benchmarks/problems.py deblur    # results/deblur.md
    python3 benchmarks/problems.py inpaint   # results/inpaint.md
    python3 benchmarks/problems.py zeroshot  # results/zeroshot.md (×4, material)
    python3 benchmarks/problems.py zeroshot-natural  # results/zeroshot_natural.md (×2, 8 natural images)
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patchnr.checkpoint import load_flow  # noqa: E402
from patchnr.io import load_image  # noqa: E402
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
    misfit: float  # the data misfit per measurement (≈ 1 at the noise level): patchnr.mismatch's yardstick


def crop(image: np.ndarray, corner: tuple[int, int], size: int = CROP) -> np.ndarray:
    return np.ascontiguousarray(image[corner[0]:corner[0] + size, corner[1]:corner[1] + size])


def lentils_crops(split: str) -> dict[str, np.ndarray]:
    image = load_image(DATA / "lentils" / f"img_{split}_lentils.png")
    return {f"lentils_{split}_{r}_{c}": crop(image, (r, c)) for r, c in ((0, 0), (244, 244))}


def material_crops() -> dict[str, np.ndarray]:
    image = load_image(DATA / "material" / "img_test_material.png")
    return {f"material_test_{r}_{c}": crop(image, (r, c)) for r, c in ((0, 0), (344, 344))}


def natural_images(size: int = 128) -> dict[str, np.ndarray]:
    """Centre crops (size²) of grey natural images bundled with scikit-image and PyWavelets."""
    import pywt.data
    import skimage.data
    from skimage.color import rgb2gray

    sources = {"camera": skimage.data.camera, "astronaut": lambda: rgb2gray(skimage.data.astronaut()), "coins": skimage.data.coins,
               "brick": skimage.data.brick, "grass": skimage.data.grass, "gravel": skimage.data.gravel, "ascent": pywt.data.ascent,
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


def solve_methods(problem: str, task, name: str, truth: np.ndarray, flow, methods: tuple[str, ...], lam: float | None = None,
                  tv_lam: float | None = None) -> list[Row]:
    """Simulate (seed 0) and reconstruct ``truth`` with the task's baseline, TV and/or patchNR."""
    from dataclasses import replace

    observation = task.simulate(as_batch(truth), 0)
    rows = []
    start = time.perf_counter()
    init = task.initialise(observation)
    rows.append(score(problem, name, task.baseline, init, truth, time.perf_counter() - start, task, observation))
    if "tv" in methods:
        start = time.perf_counter()
        tv = task.tv if tv_lam is None else replace(task.tv, lam=tv_lam)
        rows.append(score(problem, name, f"TV λ={tv.lam:g}", task.solve_tv(observation, tv, init).image, truth, time.perf_counter() - start,
                          task, observation))
    if "patchnr" in methods:
        recipe = task.recipes["fast"].with_overrides(lam=lam)
        start = time.perf_counter()
        trained = flow if flow is not None else task.prior_trainer(observation, False)
        result = task.solve(observation, trained, recipe, init=init, progress=False)
        rows.append(score(problem, name, f"patchNR λ={recipe.lam:g}", result.image, truth, time.perf_counter() - start, task, observation))
    for row in rows:
        print(f"{row.problem:>24} {row.image:>24} {row.method:>20} {row.psnr:6.2f} dB {row.ssim:.4f} {row.seconds:6.1f} s "
              f"misfit {row.misfit:.2f}", flush=True)
    return rows


def write(name: str, title: str, command: str, notes: str, rows: list[Row]) -> None:
    """results/NAME.md (one line per case and a mean per problem and method) and results/NAME.csv."""
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
    lines += ["", "Means over the images:", "", "| problem | method | PSNR (dB) | SSIM |", "|---|---|---|---|"]
    groups: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        groups.setdefault((row.problem, row.method.split(" λ")[0]), []).append(row)
    for (problem, method), members in groups.items():
        lines.append(f"| {problem} | {method} | {np.mean([m.psnr for m in members]):.2f} | {np.mean([m.ssim for m in members]):.4f} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


def lentils_flow():
    flow, _ = load_flow(bundled_file("priors/lentils.pt"))
    return flow


def sweep() -> None:
    """λ of patchNR and of TV for deblur (gaussian:2) and inpaint (50 % missing) on img_val_lentils' first crop."""
    name, truth = next(iter(lentils_crops("val").items()))
    flow = lentils_flow()
    rows = []
    for problem, task, lams, tv_lams in (("deblur gaussian:2", get_task("deblur"), (100, 300, 1000), (2, 5, 20)),
                                         ("inpaint 50%", get_task("inpaint", missing=0.5), (300, 1000, 3000), (1, 5, 20))):
        for lam, tv_lam in zip(lams, tv_lams):
            rows += solve_methods(problem, task, name, truth, flow, ("tv", "patchnr"), lam=lam, tv_lam=tv_lam)
    write("sweep_problems", "λ sweep of deblur and inpaint on a validation crop", "python3 benchmarks/problems.py sweep",
          f"One 256² crop of img_val_lentils (corner 0, 0); fast recipe; noise seed 0.", rows)


def deblur() -> None:
    """Wiener, TV and patchNR on two 256² crops of img_test_lentils, Gaussian kernel σ = 2, noise 5/255."""
    flow, task = lentils_flow(), get_task("deblur", kernel="gaussian:2")
    rows = [row for name, truth in lentils_crops("test").items() for row in solve_methods("deblur gaussian:2", task, name, truth, flow, ("tv", "patchnr"))]
    write("deblur", "Deblurring (lentils)", "python3 benchmarks/problems.py deblur",
          "Two 256² crops of img_test_lentils (corners (0, 0) and (244, 244)); kernel gaussian:2; noise 5/255 (seed 0); "
          "fast recipe (λ 300, 150 Adam iterations, 30 000 patches); TV λ 5, ε 0.01, 300 L-BFGS iterations. "
          "EPLL was not run (no lentils GMM was fitted within the CPU budget).", rows)


def inpaint() -> None:
    """Fill, TV and patchNR on one 256² crop of img_test_lentils at 50 % and 80 % missing pixels."""
    flow = lentils_flow()
    name, truth = next(iter(lentils_crops("test").items()))
    rows = []
    for missing in (0.5, 0.8):
        rows += solve_methods(f"inpaint {missing:.0%}", get_task("inpaint", missing=missing), name, truth, flow, ("tv", "patchnr"))
    write("inpaint", "Inpainting (lentils)", "python3 benchmarks/problems.py inpaint",
          "One 256² crop of img_test_lentils (corner (0, 0)); random masks (seed 0) with 50 % and 80 % missing pixels; "
          "noise 0.01 on the known pixels (seed 0); fast recipe (λ 1000, 150 Adam iterations, 30 000 patches); TV λ 5, ε 0.01. "
          "EPLL and the material images were not run within the CPU budget.", rows)


def zeroshot() -> None:
    """Zero-shot ×4 on one 256² crop of img_test_material: bicubic, TV, patchNR (prior trained on the observation)."""
    task = get_task("sr-x4-zeroshot")
    name, truth = next(iter(material_crops().items()))
    rows = solve_methods("zero-shot x4", task, name, truth, None, ("tv", "patchnr"))
    write("zeroshot", "Zero-shot superresolution", "python3 benchmarks/problems.py zeroshot",
          "One 256² crop of img_test_material (corner (0, 0)), observed 64² (σ = 2, stride 4, reflect padding 6, noise 0.01, "
          "seed 0). patchNR: the reference's λ 0.25 (1250 in NLL units), 60 Adam iterations at lr 0.01, 50 000 patches; its "
          "seconds include training the prior on the observation (2 000 steps). TV: sr-x4's λ. The ×2 benchmark on natural "
          "images is `python3 benchmarks/problems.py zeroshot-natural` (not run: CPU budget).", rows)


def zeroshot_natural() -> None:
    """Zero-shot ×2 on 128² centre crops of the natural images of scikit-image and PyWavelets: bicubic, TV, patchNR."""
    task = get_task("sr-x2-zeroshot")
    rows = [row for name, truth in natural_images().items() for row in solve_methods("zero-shot x2", task, name, truth, None, ("tv", "patchnr"))]
    write("zeroshot_natural", "Zero-shot ×2 superresolution of natural images", "python3 benchmarks/problems.py zeroshot-natural",
          "128² centre crops of camera, astronaut (grey), coins, brick, grass, gravel (scikit-image) and ascent, aero "
          "(PyWavelets), observed 64² (σ = 1, stride 2, reflect padding 7, noise 0.01, seed 0). patchNR: λ 0.25 (paper units), "
          "60 Adam iterations at lr 0.01, 80 000 patches, its seconds include training the prior on the observation.", rows)


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


RUNS = {"sweep": sweep, "deblur": deblur, "inpaint": inpaint, "zeroshot": zeroshot, "zeroshot-natural": zeroshot_natural,
        "bicubic": bicubic}

if __name__ == "__main__":
    main()
