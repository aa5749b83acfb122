"""patchnr on a real LoDoPaB-CT slice, side by side with the published reference reconstructions.

Ground truth: ``ground_truth_x2.png`` / 2 of the LoDoPaB slice folder (LoDoPaB units, μ/μ_max), the
ground truth of the published low-dose run. The published limited-angle reconstructions were scored
against ``ground_truth_x2_limited.png`` (the same slice, about 7 % darker: mean ratio 0.929, correlation
0.99997), so their PSNR / SSIM are recomputed against that file; one extra limited-angle case
(``lodopab-1000-limited-gt``, seed 0) simulates the observation from ``ground_truth_x2_limited.png`` / 2
and scores against it.
Observations, per noise seed, simulated two ways:
- ``lodopab-1000``: as LoDoPaB-CT made its data (``ct_data.simulate_lodopab``: bilinear upsample to
  1000², ASTRA projection on the same field of view, 4096 photons);
- ``grid-2x``: the package's own simulation (``Task.simulate``: the 2× finer grid).
Methods: FBP, TV (the figure's seed only), patchNR (fast recipe, bundled prior), EPLL when the
task's bundled mixture exists; on the figure's seed only: patchNR with the paper recipe
(``patchnr-paper``, its PSNR per iteration kept in ``results/ct_lodopab_history.csv``; ``--max-minutes``
ends it early, the row then records the iterations reached) and, for limited angle, the fast recipe
with 1000 iterations (``patchnr-1000it``).
The published reconstructions (``reference_*.png`` / 2) are scored by the same metrics.

Each case (setting, simulation, method, seed) is one row of ``results/ct_lodopab.csv``, appended
as it finishes; a re-run skips the rows already there. Reconstructions of the figure's seed are
kept under ``runs/ct_lodopab/``. Then ``results/ct_lodopab.md`` and one figure per setting,
``results/ct_lodopab_<setting>.png``, are written from the CSV.

    python benchmarks/ct_lodopab.py                    # every case, then the report
    python benchmarks/ct_lodopab.py --settings lowdose # one setting
    python benchmarks/ct_lodopab.py --methods fbp --simulations grid-2x --seeds 0 1
    python benchmarks/ct_lodopab.py --settings limited --methods patchnr-paper --seeds 0 --max-minutes 25
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

from patchnr.flows.checkpoint import load_flow
from patchnr.operators.ct.lodopab import simulate_lodopab
from patchnr.io.figures import comparison_figure
from patchnr.io.images import load_image, save_array
from patchnr.metrics import psnr, ssim
from patchnr.optim.callbacks import Callback
from patchnr.tasks import bundled_file, get_task

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "ct" / "lodopab_test0"
RESULTS = REPO / "results"
CSV_PATH = RESULTS / "ct_lodopab.csv"
REPORT_PATH = RESULTS / "ct_lodopab.md"
ARRAYS = REPO / "runs" / "ct_lodopab"
HISTORY_PATH = RESULTS / "ct_lodopab_history.csv"
COLUMNS = ("setting", "simulation", "method", "seed", "iterations", "psnr", "ssim", "runtime_s")
SEEDS = (0, 1, 2)
FIGURE_SEED = 0
# The figure's seed only: TV (100 L-BFGS iterations in float64: minutes per run on 2 cores) and the long patchNR runs.
SINGLE_SEED_METHODS = ("tv", "patchnr-paper", "patchnr-1000it")
SINGLE_SEED_SIMULATIONS = ("lodopab-1000-limited-gt",)
HISTORY_MILESTONES = (50, 100, 150, 200, 300, 500, 1000, 2000, 3000)  # iterations at which the report quotes the paper recipe's PSNR
PNG_SCALE = 2.0  # the PNGs hold 2·μ/μ_max (the data folder's README)


@dataclass(frozen=True)
class Setting:
    """One experiment: the task, the published files' suffix, the runs per simulation, and the targets."""

    task: str
    suffix: str  # '' (low dose) or '_lim' in reference_*.png
    runs: dict[str, tuple[str, ...]]  # simulation → methods
    published_truth: str  # the ground truth PNG the published reconstructions of this setting were scored against
    target_db: float
    target_gain_db: float | None
    target_seconds: float


SETTINGS = {
    "lowdose": Setting("ct-lowdose", "", {"lodopab-1000": ("fbp", "tv", "epll", "patchnr", "patchnr-paper"),
                                          "grid-2x": ("fbp", "patchnr")},
                       "ground_truth_x2.png", 34.83, 4.44, 60.0),
    "limited": Setting("ct-limited", "_lim", {"lodopab-1000": ("fbp", "tv", "epll", "patchnr", "patchnr-1000it", "patchnr-paper"),
                                          "lodopab-1000-limited-gt": ("fbp", "patchnr")},
                       "ground_truth_x2_limited.png", 32.83, None, 300.0),
}
PUBLISHED = {  # the data folder's README table: (low dose, limited angle) PSNR / SSIM
    "fbp": ((30.39, 0.781), (19.42, 0.663)),
    "nf": ((34.83, 0.865), (32.83, 0.844)),
    "epll": ((34.62, 0.858), (33.05, 0.837)),
    "alr": ((33.19, 0.842), (29.65, 0.803)),
    "w": ((32.41, 0.806), (29.03, 0.773)),
}
PUBLISHED_LABELS = {"fbp": "FBP", "nf": "patchNR", "epll": "EPLL", "alr": "local adversarial reg.", "w": "Wasserstein patch prior"}
LABELS = {"fbp": "FBP", "tv": "TV", "epll": "EPLL", "patchnr": "patchNR (fast)", "patchnr-paper": "patchNR (paper recipe)",
          "patchnr-1000it": "patchNR (fast, 1000 iterations)"}
SIMULATION_LABELS = {"lodopab-1000": "LoDoPaB 1000² simulation", "grid-2x": "2× grid simulation",
                     "lodopab-1000-limited-gt": "LoDoPaB 1000² simulation of `ground_truth_x2_limited.png`, scored against it"}
SIMULATION_TRUTH = {"lodopab-1000": "ground_truth_x2.png", "grid-2x": "ground_truth_x2.png",
                    "lodopab-1000-limited-gt": "ground_truth_x2_limited.png"}


def lodopab_units(path: Path) -> np.ndarray:
    """A ×2 PNG of the data folder → LoDoPaB units (H×W float32)."""
    return load_image(path) / PNG_SCALE


def read_rows(path: Path = CSV_PATH) -> list[dict]:
    """The cases already in a results CSV (none when it does not exist)."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def append_row(row: dict, path: Path = CSV_PATH, columns: tuple[str, ...] = COLUMNS) -> None:
    """One finished case appended to a results CSV (its header first when the file is new)."""
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if new:
            writer.writeheader()
        writer.writerow(row)


def simulate(task, simulation: str, truth: torch.Tensor, seed: int) -> torch.Tensor:
    if simulation.startswith("lodopab-1000"):
        return simulate_lodopab(truth, task.shapes, seed)
    return task.simulate(truth, seed)


class TimeBudget(Callback):
    """Keeps the latest image and iteration count; ends the solve (``BudgetSpent``) after ``seconds``."""

    def __init__(self, seconds: float | None):
        self.seconds, self.image, self.iterations, self.start_time = seconds, None, 0, None

    def start(self, init, iterations):
        self.start_time = time.perf_counter()

    def step(self, iteration, image, result):
        self.image, self.iterations = image.detach(), iteration + 1
        if self.seconds is not None and time.perf_counter() - self.start_time > self.seconds:
            raise BudgetSpent


class BudgetSpent(Exception):
    """Raised by ``TimeBudget`` to end a solve at its wall-clock budget."""


class History(Callback):
    """PSNR against ``truth`` and wall seconds of each iteration."""

    def __init__(self, truth: np.ndarray):
        self.truth, self.rows, self.start_time = truth, [], None

    def start(self, init, iterations):
        self.start_time = time.perf_counter()

    def step(self, iteration, image, result):
        self.rows.append((iteration + 1, time.perf_counter() - self.start_time, psnr(image[0, 0].detach().cpu().numpy(), self.truth)))


def reconstruct(task, method: str, observation: torch.Tensor, seed: int, priors: dict, truth: np.ndarray | None = None,
                max_seconds: float | None = None) -> tuple[np.ndarray, float, int, list]:
    """(H×W reconstruction, seconds of the method with its FBP initialisation, iterations run, PSNR history).

    The PSNR history (iteration, seconds, PSNR against ``truth``) is kept for ``patchnr-paper`` only,
    the one run that ``max_seconds`` may end early.
    """
    start = time.perf_counter()
    init = task.initialise(observation)
    history: list = []
    if method == "tv":
        image, iterations = task.solve_tv(observation, task.tv, init).image, task.tv.iterations
    elif method == "epll":
        recipe = task.recipes["fast"].with_overrides(lam=task.epll_lam)
        image, iterations = task.solve_epll(observation, priors["gmm"], recipe, init, seed=seed).image, recipe.iterations
    elif method in ("patchnr", "patchnr-1000it"):
        recipe = task.recipes["fast"].with_overrides(iterations=1000 if method == "patchnr-1000it" else None)
        image, iterations = task.solve(observation, priors["flow"], recipe, seed=seed, init=init, progress=False).image, recipe.iterations
    elif method == "patchnr-paper":
        recipe = task.recipes["paper"]
        budget, tracker = TimeBudget(max_seconds), History(truth)
        try:
            image = task.solve(observation, priors["flow"], recipe, seed=seed, init=init, progress=False, callbacks=[tracker, budget]).image
        except BudgetSpent:
            image = budget.image
        iterations, history = budget.iterations, tracker.rows
    else:
        image, iterations = init, 0
    return image[0, 0].detach().cpu().numpy(), time.perf_counter() - start, iterations, history


def load_priors(task) -> dict:
    """The bundled flow, and the bundled EPLL mixture when the task ships one."""
    from patchnr.priors.gmm import load_gmm

    flow, _ = load_flow(bundled_file(task.prior_file), patch_size=task.patch_size, channels=1)
    gmm_path = bundled_file(task.gmm_file)
    return {"flow": flow, "gmm": load_gmm(gmm_path) if gmm_path.exists() else None}


def append_history(setting: str, simulation: str, method: str, seed: int, history: list) -> None:
    """Appends one solve's PSNR per iteration to ``results/ct_lodopab_history.csv``."""
    new = not HISTORY_PATH.exists()
    with open(HISTORY_PATH, "a", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(("setting", "simulation", "method", "seed", "iteration", "seconds", "psnr"))
        writer.writerows((setting, simulation, method, seed, k, f"{t:.1f}", f"{value:.4f}") for k, t, value in history)


def read_history() -> list[dict]:
    if not HISTORY_PATH.exists():
        return []
    with open(HISTORY_PATH, newline="") as handle:
        return list(csv.DictReader(handle))


def run_setting(name: str, seeds: tuple[int, ...], methods: tuple[str, ...], simulations: tuple[str, ...],
                max_seconds: float | None = None) -> None:
    setting = SETTINGS[name]
    task = get_task(setting.task, backend="sparse")
    done = {(r["setting"], r["simulation"], r["method"], r["seed"]) for r in read_rows()}
    priors = load_priors(task)
    task.initialise(task.simulate(torch.from_numpy(lodopab_units(DATA / "ground_truth_x2.png"))[None, None], 0))  # loads the system matrix and the FBP filter before any timing
    for simulation, planned in setting.runs.items():
        if simulation not in simulations:
            continue
        truth_array = lodopab_units(DATA / SIMULATION_TRUTH[simulation])
        truth = torch.from_numpy(truth_array)[None, None]
        for seed in seeds:
            pending = [m for m in planned if m in methods and (name, simulation, m, str(seed)) not in done and (m != "epll" or priors["gmm"] is not None)
                       and (seed == FIGURE_SEED or (m not in SINGLE_SEED_METHODS and simulation not in SINGLE_SEED_SIMULATIONS))]
            if not pending:
                continue
            observation = simulate(task, simulation, truth, seed)
            for method in pending:
                image, seconds, iterations, history = reconstruct(task, method, observation, seed, priors, truth_array, max_seconds)
                append_row({"setting": name, "simulation": simulation, "method": method, "seed": seed, "iterations": iterations,
                            "psnr": f"{psnr(image, truth_array):.4f}", "ssim": f"{ssim(image, truth_array):.5f}",
                            "runtime_s": f"{seconds:.1f}"})
                if history:
                    append_history(name, simulation, method, seed, history)
                print(f"{name} {simulation} {method} seed {seed}: {psnr(image, truth_array):.2f} dB, {iterations} iterations, {seconds:.0f} s", flush=True)
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
    """PSNR / SSIM of each published reconstruction against the ground truth PNG of its run."""
    truth = load_image(DATA / setting.published_truth)
    return {key: (psnr(load_image(DATA / f"reference_{key}{setting.suffix}.png"), truth),
                  ssim(load_image(DATA / f"reference_{key}{setting.suffix}.png"), truth)) for key in PUBLISHED}


def setting_section(name: str, rows: list[dict]) -> list[str]:
    setting = SETTINGS[name]
    column = 0 if name == "lowdose" else 1
    lines = [f"## {'Low dose' if name == 'lowdose' else 'Limited angle (angles 100..899 of 1000)'} ({setting.task})", ""]
    lines += ["Ours: mean ± std over the noise seeds listed (one value: one seed); runtime: wall seconds of the method"
              " (FBP initialisation included).", ""]
    lines += ["| method | simulation | seeds | iterations | PSNR (dB) | SSIM | gain over FBP (dB) | runtime (s) |",
              "|---|---|---|---|---|---|---|---|"]
    for simulation, methods in setting.runs.items():
        for method in methods:
            values = scores(rows, name, simulation, method, "psnr")
            if not values:
                continue
            gain = mean_spread(gains(rows, name, simulation, method), 2) if method != "fbp" else "–"
            seeds = ", ".join(map(str, sorted(seed_scores(rows, name, simulation, method, "psnr"))))
            iterations = "/".join(sorted({r["iterations"] for r in rows if (r["setting"], r["simulation"], r["method"]) == (name, simulation, method)}, key=int))
            lines.append(f"| {LABELS[method]} | {SIMULATION_LABELS[simulation]} | {seeds} | {iterations if method != 'fbp' else '–'} | "
                         f"{mean_spread(values, 2)} | {mean_spread(scores(rows, name, simulation, method, 'ssim'), 3)} | {gain} | "
                         f"{mean_spread(scores(rows, name, simulation, method, 'runtime_s'), 0)} |")
    measured = published_scores(setting)
    for key, label in PUBLISHED_LABELS.items():
        value, quality = PUBLISHED[key][column]
        gain = value - PUBLISHED["fbp"][column][0]
        lines.append(f"| published {label} | the reference's own observation | – | – | {value:.2f} (PNG: {measured[key][0]:.2f}) | "
                     f"{quality:.3f} (PNG: {measured[key][1]:.3f}) | {'–' if key == 'fbp' else f'{gain:+.2f}'} | – |")
    lines += ["", *target_lines(name, rows), *history_lines(name), *simulation_lines(name, rows), *truth_lines(name, rows), ""]
    return lines


def history_lines(name: str) -> list[str]:
    """The paper recipe's PSNR at the milestone iterations it reached (its constant step size makes the
    first k iterations of a long run the same as a k-iteration run)."""
    lines = []
    for simulation in SETTINGS[name].runs:
        history = [r for r in read_history() if (r["setting"], r["simulation"], r["method"]) == (name, simulation, "patchnr-paper")]
        if not history:
            continue
        by_iteration = {int(r["iteration"]): r for r in history}
        reached = max(by_iteration)
        marks = [k for k in HISTORY_MILESTONES if k <= reached] + ([reached] if reached not in HISTORY_MILESTONES else [])
        parts = ", ".join(f"{k}: {float(by_iteration[k]['psnr']):.2f} dB ({float(by_iteration[k]['seconds']):.0f} s)" for k in marks)
        planned = get_task(SETTINGS[name].task).recipes["paper"].iterations
        ended = f"the recipe's {planned} iterations" if reached >= planned else f"{reached} of the recipe's {planned} iterations (the `--max-minutes` budget ended it)"
        lines += ["", f"patchNR (paper recipe), {SIMULATION_LABELS[simulation]}, seed {history[0]['seed']}, {ended}: PSNR after "
                      f"k iterations (wall seconds of the solver): {parts}."]
    return lines


def truth_scale() -> tuple[float, float]:
    """Mean of ``ground_truth_x2_limited.png`` over that of ``ground_truth_x2.png``, and their pixel correlation."""
    low, limited = (load_image(DATA / name).astype(np.float64) for name in ("ground_truth_x2.png", "ground_truth_x2_limited.png"))
    return float(limited.mean() / low.mean()), float(np.corrcoef(low.ravel(), limited.ravel())[0, 1])


def paired_scores(rows: list[dict], name: str, simulation: str, method: str) -> tuple[dict, dict, list[int]]:
    """PSNR per seed of ``method`` under ``simulation`` and under the 1000² simulation, and the seeds both have."""
    other, main = (seed_scores(rows, name, kind, method, "psnr") for kind in (simulation, "lodopab-1000"))
    return other, main, sorted(set(other) & set(main))


def truth_lines(name: str, rows: list[dict]) -> list[str]:
    """Our limited-angle runs on the limited-angle run's ground truth against those on the low-dose one."""
    if "lodopab-1000-limited-gt" not in SETTINGS[name].runs:
        return []
    parts = []
    for method in SETTINGS[name].runs["lodopab-1000-limited-gt"]:
        darker, main, shared = paired_scores(rows, name, "lodopab-1000-limited-gt", method)
        if shared:
            parts.append(f"{LABELS[method]} {', '.join(f'{darker[seed]:.2f} vs {main[seed]:.2f} dB' for seed in shared)} "
                         f"(seeds {', '.join(map(str, shared))})")
    if not parts:
        return []
    ratio, correlation = truth_scale()
    return ["", f"The limited-angle ground truth `ground_truth_x2_limited.png` is the same slice {100 * (1 - ratio):.0f} % darker (mean ratio",
            f"{ratio:.3f} to `ground_truth_x2.png`, correlation {correlation:.5f}). Our limited-angle runs simulated from it and scored",
            "against it, against those from `ground_truth_x2.png`: " + "; ".join(parts) + "."]


def simulation_lines(name: str, rows: list[dict]) -> list[str]:
    """The 2× grid against the 1000² simulation: PSNR differences on the same noise seeds."""
    if "grid-2x" not in SETTINGS[name].runs:
        return []
    parts = []
    for method in SETTINGS[name].runs["grid-2x"]:
        grid, fine, shared = paired_scores(rows, name, "grid-2x", method)
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
                single = method in SINGLE_SEED_METHODS or simulation in SINGLE_SEED_SIMULATIONS
                seeds = [seed for seed in ((FIGURE_SEED,) if single else SEEDS)
                         if (name, simulation, method, seed) not in done]
                if seeds:
                    missing.append(f"{name} / {SIMULATION_LABELS[simulation]} / {LABELS[method]}: seeds {', '.join(map(str, seeds))}")
                if method == "patchnr-paper":
                    planned = get_task(setting.task).recipes["paper"].iterations
                    short = [(r["seed"], r["iterations"]) for r in rows if (r["setting"], r["simulation"], r["method"]) == (name, simulation, method)
                             and int(r["iterations"]) < planned]
                    missing += [f"{name} / {SIMULATION_LABELS[simulation]} / {LABELS[method]}: seed {seed} ended at {k} of {planned} "
                                f"iterations (`--max-minutes`); delete its row and run it without a budget for the full recipe" for seed, k in short]
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
    others = []
    for method in ("patchnr-1000it", "patchnr-paper"):
        for seed, value in sorted(seed_scores(rows, name, "lodopab-1000", method, "psnr").items()):
            iterations = next(r["iterations"] for r in rows if (r["setting"], r["simulation"], r["method"], r["seed"]) == (name, "lodopab-1000", method, str(seed)))
            verdict = "met" if value >= setting.target_db else f"short by {setting.target_db - value:.2f} dB"
            others.append(f"{LABELS[method]} with {iterations} iterations, seed {seed}: {value:.2f} dB ({verdict})")
    if others:
        lines.append(f"Other recipes against the PSNR target: {'; '.join(others)}.")
    task = get_task(setting.task)
    if scores(rows, name, "lodopab-1000", "epll", "psnr"):
        lines.append(f"EPLL: the bundled mixture with λ {task.epll_lam:g} and the fast recipe's {task.recipes['fast'].iterations} iterations "
                     f"(λ from `patchnr/tasks/{setting.task.replace('-', '_')}.py`).")
    return [" ".join(lines)]


def write_figure(name: str) -> Path | None:
    setting = SETTINGS[name]
    truth = lodopab_units(DATA / "ground_truth_x2.png")
    published_truth = lodopab_units(DATA / setting.published_truth)
    scale = float((truth * published_truth).sum() / (published_truth * published_truth).sum())  # onto ``truth``'s scale (1 for low dose)
    label = "" if setting.published_truth == "ground_truth_x2.png" else f" (×{scale:.3f})"
    images = {f"published {PUBLISHED_LABELS[key]}{label}": scale * lodopab_units(DATA / f"reference_{key}{setting.suffix}.png")
              for key in ("fbp", "nf", "epll")}
    for method in SETTINGS[name].runs["lodopab-1000"]:
        path = ARRAYS / f"{name}_lodopab-1000_{method}.npy"
        if path.exists():
            images[f"ours {LABELS[method]}"] = np.load(path)
    if len(images) == 3:
        return None
    figure = RESULTS / f"ct_lodopab_{name}.png"
    title = f"LoDoPaB test slice 0, {setting.task} (ours: LoDoPaB 1000² simulation, seed {FIGURE_SEED})"
    if label:
        title += f"\npublished images ×{scale:.3f}: from the scale of {setting.published_truth} onto that of ground_truth_x2.png"
    comparison_figure(figure, images, truth, title=title)
    return figure


def write_report() -> None:
    rows = read_rows()
    ratio, correlation = truth_scale()
    lines = ["# patchnr on a real LoDoPaB-CT slice", "",
             "Generated by `python benchmarks/ct_lodopab.py` (cases in `results/ct_lodopab.csv`). Slice: LoDoPaB-CT test image 0",
             "(`../shared/data/ct/lodopab_test0`, `ground_truth_x2.png` / 2 → μ/μ_max). Ours: the observation simulated from",
             "that ground truth with 4096 photons, per noise seed, in two ways: as LoDoPaB made its data (bilinear upsample to",
             "1000², ASTRA projection; `ct_data.simulate_lodopab`) and on the package's 2× grid (`Task.simulate`). The",
             "bundled CT prior (trained on head and neck slices, never a chest) and the fast recipes; where listed, on seed 0,",
             "the paper recipe (the reference code's solver settings: λ 700, lr 0.005, 40 000 patches, constant step, with the",
             "bundled prior) and the fast recipe with 1000 iterations. PSNR / SSIM against the ground truth, data range = its max − min.",
             "Published: the reference implementations' reconstructions on LoDoPaB's own observation (the data folder's",
             "README table; in brackets, the same metrics recomputed here from the `reference_*.png` files against the",
             "ground truth of their run: `ground_truth_x2.png` for low dose, `ground_truth_x2_limited.png` for limited angle).",
             f"The limited-angle run's ground truth is the same slice {100 * (1 - ratio):.0f} % darker than the low-dose run's (mean ratio",
             f"{ratio:.3f}, correlation {correlation:.5f}): against `ground_truth_x2.png` the published limited-angle patchNR image scores",
             f"{psnr(load_image(DATA / 'reference_nf_lim.png'), load_image(DATA / 'ground_truth_x2.png')):.2f} dB, against "
             f"`ground_truth_x2_limited.png` {psnr(load_image(DATA / 'reference_nf_lim.png'), load_image(DATA / 'ground_truth_x2_limited.png')):.2f} dB"
             " (the published number). Our main rows use `ground_truth_x2.png` / 2 in both settings.",
             "Runtimes are wall seconds on 2 CPU cores that other jobs shared during these runs;",
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
    parser.add_argument("--methods", default=",".join(LABELS), help="comma list: run only these methods")
    parser.add_argument("--max-minutes", type=float, help="wall-clock budget of each patchnr-paper solve: it ends there, "
                        "and its row records the iterations reached")
    parser.add_argument("--simulations", default=",".join(SIMULATION_LABELS), help="comma list: run only these simulations")
    parser.add_argument("--report-only", action="store_true", help="only rewrite the report from the CSV")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        for name in args.settings.split(","):
            run_setting(name.strip(), tuple(args.seeds), tuple(args.methods.split(",")), tuple(args.simulations.split(",")),
                        args.max_minutes * 60 if args.max_minutes else None)
    write_report()


if __name__ == "__main__":
    main()
