"""patchnr on a real LoDoPaB-CT slice, side by side with the published reference reconstructions.

Ground truth: ``ground_truth_x2.png`` / 2 of the LoDoPaB slice folder (LoDoPaB units, μ/μ_max).
Observations, per noise seed, simulated two ways:
- ``lodopab-1000``: as LoDoPaB-CT made its data (``ct_data.simulate_lodopab``: bilinear upsample to
  1000², ASTRA projection on the same field of view, 4096 photons);
- ``grid-2x``: the package's own simulation (``Task.simulate``: the 2× finer grid).
Methods: FBP, TV (the figure's seed only), patchNR (fast recipe, bundled prior), EPLL when the
task's bundled mixture exists.
The published reconstructions (``reference_*.png`` / 2) are scored by the same metrics.

Each case (setting, simulation, method, seed) is one row of ``results/ct_lodopab.csv``, appended
as it finishes; a re-run skips the rows already there. Reconstructions of the figure's seed are
kept under ``runs/ct_lodopab/``. Then ``results/ct_lodopab.md`` and one figure per setting,
``results/ct_lodopab_<setting>.png``, are written from the CSV.

    python benchmarks/ct_lodopab.py                    # every case, then the report
    python benchmarks/ct_lodopab.py --settings lowdose # one setting
    python benchmarks/ct_lodopab.py --methods fbp --simulations grid-2x --seeds 0 1
    python benchmarks/ct_lodopab.py --report-only
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from patchnr.checkpoint import load_flow
from patchnr.ct_data import simulate_lodopab
from patchnr.figures import comparison_figure
from patchnr.io import load_image, save_array
from patchnr.metrics import psnr, ssim
from patchnr.tasks import bundled_file, get_task

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "ct" / "lodopab_test0"
RESULTS = REPO / "results"
CSV_PATH = RESULTS / "ct_lodopab.csv"
REPORT_PATH = RESULTS / "ct_lodopab.md"
ARRAYS = REPO / "runs" / "ct_lodopab"
COLUMNS = ("setting", "simulation", "method", "seed", "psnr", "ssim", "runtime_s")
SEEDS = (0, 1, 2)
FIGURE_SEED = 0
SINGLE_SEED_METHODS = ("tv",)  # 100 L-BFGS iterations in float64: minutes per run on 2 cores, so the figure's seed only
PNG_SCALE = 2.0  # the PNGs hold 2·μ/μ_max (the data folder's README)


@dataclass(frozen=True)
class Setting:
    """One experiment: the task, the published files' suffix, the runs per simulation, and the targets."""

    task: str
    suffix: str  # '' (low dose) or '_lim' in reference_*.png
    runs: dict[str, tuple[str, ...]]  # simulation → methods
    target_db: float
    target_gain_db: float | None
    target_seconds: float


SETTINGS = {
    "lowdose": Setting("ct-lowdose", "", {"lodopab-1000": ("fbp", "tv", "epll", "patchnr"), "grid-2x": ("fbp", "patchnr")},
                       34.83, 4.44, 60.0),
    "limited": Setting("ct-limited", "_lim", {"lodopab-1000": ("fbp", "tv", "epll", "patchnr")}, 32.83, None, 300.0),
}
PUBLISHED = {  # the data folder's README table: (low dose, limited angle) PSNR / SSIM
    "fbp": ((30.39, 0.781), (19.42, 0.663)),
    "nf": ((34.83, 0.865), (32.83, 0.844)),
    "epll": ((34.62, 0.858), (33.05, 0.837)),
    "alr": ((33.19, 0.842), (29.65, 0.803)),
    "w": ((32.41, 0.806), (29.03, 0.773)),
}
PUBLISHED_LABELS = {"fbp": "FBP", "nf": "patchNR", "epll": "EPLL", "alr": "local adversarial reg.", "w": "Wasserstein patch prior"}
LABELS = {"fbp": "FBP", "tv": "TV", "epll": "EPLL", "patchnr": "patchNR (fast)"}
SIMULATION_LABELS = {"lodopab-1000": "LoDoPaB 1000² simulation", "grid-2x": "2× grid simulation"}


def lodopab_units(path: Path) -> np.ndarray:
    """A ×2 PNG of the data folder → LoDoPaB units (H×W float32)."""
    return load_image(path) / PNG_SCALE


def read_rows() -> list[dict]:
    if not CSV_PATH.exists():
        return []
    with open(CSV_PATH, newline="") as handle:
        return list(csv.DictReader(handle))


def append_row(row: dict) -> None:
    new = not CSV_PATH.exists()
    with open(CSV_PATH, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def simulate(task, simulation: str, truth: torch.Tensor, seed: int) -> torch.Tensor:
    if simulation == "lodopab-1000":
        return simulate_lodopab(truth, task.shapes, seed)
    return task.simulate(truth, seed)


def reconstruct(task, method: str, observation: torch.Tensor, seed: int, priors: dict) -> tuple[np.ndarray, float]:
    """(H×W reconstruction, seconds of the method, its FBP initialisation included)."""
    start = time.perf_counter()
    init = task.initialise(observation)
    if method == "tv":
        image = task.solve_tv(observation, task.tv, init).image
    elif method == "epll":
        recipe = task.recipes["fast"].with_overrides(lam=task.epll_lam)
        image = task.solve_epll(observation, priors["gmm"], recipe, init, seed=seed).image
    elif method == "patchnr":
        image = task.solve(observation, priors["flow"], task.recipes["fast"], seed=seed, init=init, progress=False).image
    else:
        image = init
    return image[0, 0].detach().cpu().numpy(), time.perf_counter() - start


def load_priors(task) -> dict:
    """The bundled flow, and the bundled EPLL mixture when the task ships one."""
    from patchnr.priors.gmm import load_gmm

    flow, _ = load_flow(bundled_file(task.prior_file), patch_size=task.patch_size, channels=1)
    gmm_path = bundled_file(task.gmm_file)
    return {"flow": flow, "gmm": load_gmm(gmm_path) if gmm_path.exists() else None}


def run_setting(name: str, seeds: tuple[int, ...], methods: tuple[str, ...], simulations: tuple[str, ...]) -> None:
    setting = SETTINGS[name]
    task = get_task(setting.task, backend="sparse")
    truth_array = lodopab_units(DATA / "ground_truth_x2.png")
    truth = torch.from_numpy(truth_array)[None, None]
    done = {(r["setting"], r["simulation"], r["method"], r["seed"]) for r in read_rows()}
    priors = load_priors(task)
    task.initialise(task.simulate(truth, 0))  # loads the system matrix and the FBP filter before any timing
    for simulation, planned in setting.runs.items():
        if simulation not in simulations:
            continue
        for seed in seeds:
            pending = [m for m in planned if m in methods and (name, simulation, m, str(seed)) not in done and (m != "epll" or priors["gmm"] is not None)
                       and (m not in SINGLE_SEED_METHODS or seed == FIGURE_SEED)]
            if not pending:
                continue
            observation = simulate(task, simulation, truth, seed)
            for method in pending:
                image, seconds = reconstruct(task, method, observation, seed, priors)
                append_row({"setting": name, "simulation": simulation, "method": method, "seed": seed,
                            "psnr": f"{psnr(image, truth_array):.4f}", "ssim": f"{ssim(image, truth_array):.5f}",
                            "runtime_s": f"{seconds:.1f}"})
                print(f"{name} {simulation} {method} seed {seed}: {psnr(image, truth_array):.2f} dB, {seconds:.0f} s", flush=True)
                if seed == FIGURE_SEED:
                    ARRAYS.mkdir(parents=True, exist_ok=True)
                    save_array(ARRAYS / f"{name}_{simulation}_{method}.npy", image)


# --------------------------------------------------------------------------------------------------
# The report


def mean_spread(values: list[float], digits: int) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.pstdev(values):.{digits}f}"


def seed_scores(rows: list[dict], setting: str, simulation: str, method: str, column: str) -> dict[int, float]:
    """Noise seed → the ``column`` value of each case of (setting, simulation, method)."""
    return {int(r["seed"]): float(r[column]) for r in rows if (r["setting"], r["simulation"], r["method"]) == (setting, simulation, method)}


def scores(rows: list[dict], setting: str, simulation: str, method: str, column: str) -> list[float]:
    return list(seed_scores(rows, setting, simulation, method, column).values())


def gains(rows: list[dict], setting: str, simulation: str, method: str) -> list[float]:
    """PSNR gain of ``method`` over FBP on the same observation, per seed both ran."""
    values, fbp = (seed_scores(rows, setting, simulation, m, "psnr") for m in (method, "fbp"))
    return [values[seed] - fbp[seed] for seed in values if seed in fbp]


def published_scores(setting: Setting) -> dict[str, tuple[float, float]]:
    """PSNR / SSIM of each published reconstruction against the data folder's ground truth PNG."""
    truth = load_image(DATA / "ground_truth_x2.png")
    return {key: (psnr(load_image(DATA / f"reference_{key}{setting.suffix}.png"), truth),
                  ssim(load_image(DATA / f"reference_{key}{setting.suffix}.png"), truth)) for key in PUBLISHED}


def setting_section(name: str, rows: list[dict]) -> list[str]:
    setting = SETTINGS[name]
    column = 0 if name == "lowdose" else 1
    lines = [f"## {'Low dose' if name == 'lowdose' else 'Limited angle (angles 100..899 of 1000)'} ({setting.task})", ""]
    lines += ["Ours: mean ± std over the noise seeds listed (one value: one seed); runtime: wall seconds of the method"
              " (FBP initialisation included).", ""]
    lines += ["| method | simulation | seeds | PSNR (dB) | SSIM | gain over FBP (dB) | runtime (s) |", "|---|---|---|---|---|---|---|"]
    for simulation, methods in setting.runs.items():
        for method in methods:
            values = scores(rows, name, simulation, method, "psnr")
            if not values:
                continue
            gain = mean_spread(gains(rows, name, simulation, method), 2) if method != "fbp" else "–"
            seeds = ", ".join(map(str, sorted(seed_scores(rows, name, simulation, method, "psnr"))))
            lines.append(f"| {LABELS[method]} | {SIMULATION_LABELS[simulation]} | {seeds} | {mean_spread(values, 2)} | "
                         f"{mean_spread(scores(rows, name, simulation, method, 'ssim'), 3)} | {gain} | "
                         f"{mean_spread(scores(rows, name, simulation, method, 'runtime_s'), 0)} |")
    measured = published_scores(setting)
    for key, label in PUBLISHED_LABELS.items():
        value, quality = PUBLISHED[key][column]
        gain = value - PUBLISHED["fbp"][column][0]
        lines.append(f"| published {label} | the reference's own observation | – | {value:.2f} (PNG: {measured[key][0]:.2f}) | "
                     f"{quality:.3f} (PNG: {measured[key][1]:.3f}) | {'–' if key == 'fbp' else f'{gain:+.2f}'} | – |")
    lines += ["", *target_lines(name, rows), *simulation_lines(name, rows), ""]
    return lines


def simulation_lines(name: str, rows: list[dict]) -> list[str]:
    """The 2× grid against the 1000² simulation: PSNR differences on the same noise seeds."""
    if "grid-2x" not in SETTINGS[name].runs:
        return []
    parts = []
    for method in SETTINGS[name].runs["grid-2x"]:
        grid, fine = (seed_scores(rows, name, simulation, method, "psnr") for simulation in ("grid-2x", "lodopab-1000"))
        shared = sorted(set(grid) & set(fine))
        if shared:
            differences = ", ".join(f"{grid[seed] - fine[seed]:+.2f}" for seed in shared)
            parts.append(f"{LABELS[method]} {differences} dB (seeds {', '.join(map(str, shared))})")
    return ["", "2× grid minus 1000² simulation, same noise seed: " + "; ".join(parts) + "."] if parts else []


def missing_cases(rows: list[dict]) -> list[str]:
    """The planned (setting, simulation, method, seeds) that have no row in the CSV."""
    done = {(r["setting"], r["simulation"], r["method"], int(r["seed"])) for r in rows}
    missing = []
    for name, setting in SETTINGS.items():
        epll_available = bundled_file(get_task(setting.task).gmm_file).exists()
        for simulation, methods in setting.runs.items():
            for method in (m for m in methods if m != "epll" or epll_available):
                seeds = [seed for seed in ((FIGURE_SEED,) if method in SINGLE_SEED_METHODS else SEEDS)
                         if (name, simulation, method, seed) not in done]
                if seeds:
                    missing.append(f"{name} / {SIMULATION_LABELS[simulation]} / {LABELS[method]}: seeds {', '.join(map(str, seeds))}")
    return missing


def target_lines(name: str, rows: list[dict]) -> list[str]:
    setting = SETTINGS[name]
    values = scores(rows, name, "lodopab-1000", "patchnr", "psnr")
    seconds = scores(rows, name, "lodopab-1000", "patchnr", "runtime_s")
    if not values:
        return ["Targets: patchNR not run."]
    mean, worst_time = statistics.mean(values), max(seconds)
    lines = [f"Targets (LoDoPaB 1000² simulation, fast recipe): PSNR ≥ {setting.target_db:.2f} dB: "
             f"{mean:.2f} ({'met' if mean >= setting.target_db else f'short by {setting.target_db - mean:.2f} dB'});"]
    paired = gains(rows, name, "lodopab-1000", "patchnr")
    if setting.target_gain_db is not None and paired:
        gain = statistics.mean(paired)
        lines.append(f"gain over FBP ≥ +{setting.target_gain_db:.2f} dB: {gain:+.2f} "
                     f"({'met' if gain >= setting.target_gain_db else f'short by {setting.target_gain_db - gain:.2f} dB'});")
    lines.append(f"≤ {setting.target_seconds:.0f} s: slowest run {worst_time:.0f} s ({'met' if worst_time <= setting.target_seconds else 'not met'}).")
    return [" ".join(lines)]


def write_figure(name: str) -> Path | None:
    setting = SETTINGS[name]
    truth = lodopab_units(DATA / "ground_truth_x2.png")
    images = {f"published {PUBLISHED_LABELS[key]}": lodopab_units(DATA / f"reference_{key}{setting.suffix}.png") for key in ("fbp", "nf", "epll")}
    for method in SETTINGS[name].runs["lodopab-1000"]:
        path = ARRAYS / f"{name}_lodopab-1000_{method}.npy"
        if path.exists():
            images[f"ours {LABELS[method]}"] = np.load(path)
    if len(images) == 3:
        return None
    figure = RESULTS / f"ct_lodopab_{name}.png"
    comparison_figure(figure, images, truth, title=f"LoDoPaB test slice 0, {setting.task} (ours: LoDoPaB 1000² simulation, seed {FIGURE_SEED})")
    return figure


def write_report() -> None:
    rows = read_rows()
    lines = ["# patchnr on a real LoDoPaB-CT slice", "",
             "Generated by `python benchmarks/ct_lodopab.py` (cases in `results/ct_lodopab.csv`). Slice: LoDoPaB-CT test image 0",
             "(`../shared/data/ct/lodopab_test0`, `ground_truth_x2.png` / 2 → μ/μ_max). Ours: the observation simulated from",
             "that ground truth with 4096 photons, per noise seed, in two ways: as LoDoPaB made its data (bilinear upsample to",
             "1000², ASTRA projection; `ct_data.simulate_lodopab`) and on the package's 2× grid (`Task.simulate`). The",
             "bundled CT prior (trained on head and neck slices, never a chest) and the fast recipes. PSNR / SSIM against the",
             "ground truth, data range = its max − min.",
             "Published: the reference implementations' reconstructions on LoDoPaB's own observation (the data folder's",
             "README table; in brackets, the same metrics recomputed here from the `reference_*.png` files against",
             "`ground_truth_x2.png`). Runtimes are wall seconds on 2 CPU cores that other jobs shared during these runs;",
             "the fast recipe's runtime on an otherwise idle machine is in `results/speed.md`.", ""]
    has_epll = any(r["method"] == "epll" for r in rows)
    if not has_epll:
        lines += ["EPLL is not reported for ours: the CT tasks have no bundled Gaussian mixture (`priors/gmm_ct_lodopab.pt`).", ""]
    for name in SETTINGS:
        if any(r["setting"] == name for r in rows):
            lines += setting_section(name, rows)
            figure = write_figure(name)
            if figure is not None:
                lines += [f"![{name}]({figure.name})", ""]
    missing = missing_cases(rows)
    if missing:
        lines += ["## Cases not run", "", "`python benchmarks/ct_lodopab.py` runs them (and rewrites this report):", "",
                  *[f"- {case}" for case in missing], ""]
    REPORT_PATH.write_text("\n".join(lines))
    print(f"wrote {REPORT_PATH}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma list of {', '.join(SETTINGS)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="noise seeds (also the patch-draw seeds)")
    parser.add_argument("--methods", default="fbp,tv,epll,patchnr", help="comma list: run only these methods")
    parser.add_argument("--simulations", default=",".join(SIMULATION_LABELS), help="comma list: run only these simulations")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from the CSV")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for name in args.settings.split(","):
            run_setting(name.strip(), tuple(args.seeds), tuple(args.methods.split(",")), tuple(args.simulations.split(",")))
    write_report()


if __name__ == "__main__":
    main()
