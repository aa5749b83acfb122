"""Benchmark: every (image, method) case of a task simulated, reconstructed, scored and timed.

Each case simulates the observation of a ground-truth image with a seed derived from ``seed`` and
the image's file name (the same for every method), reconstructs it with one method, and scores
PSNR/SSIM (``patchnr.metrics``) against the ground truth; ``runtime_s`` is the wall time of the
method alone (initialisation included; simulation, scoring and prior building excluded).

Cases run as Dask futures. ``scheduler='local'`` starts an in-process cluster (threads, no
external service: ``workers`` threads, each case using torch's intra-op threads); a
``tcp://host:port`` address connects to a running scheduler (a short connect timeout turns an
unreachable one into a one-line ``PatchNRError``). The flow weights and the GMM are scattered once
to every worker (``broadcast=True``); each worker keeps the task operator and the flow of its last
case (by task name and weights hash): a case of another task drops the old operator before building
its own, so a worker holds one CT matrix at a time. The client alone writes results, as futures complete.

Output folder:
- ``config.json``: the per-case settings (task, recipe, seed, and per method λ, iterations, weights
  hash, GMM identity). A re-run must agree on everything it shares with it ("refuse to mix");
  new methods and images are added.
- ``cases.csv``: one row per finished case, appended with a single ``os.write`` of a whole line to
  a file opened ``O_APPEND`` and fsynced; a trailing partial line (a killed writer) is ignored on
  reading and cut off before the next append. Re-running skips the cases already there.
- ``summary.md`` / ``summary.csv``: mean ± std (ddof 0) of PSNR, SSIM and runtime per method.
- ``figure_<image>.png`` for the first ``figures`` images (ground truth | methods, error maps),
  from reconstructions kept in ``reconstructions/`` for those images only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from patchnr.errors import ParameterError, PatchNRError
from patchnr.io.images import IMAGE_SUFFIXES, atomic_path, load_image, save_array
from patchnr.io.outputs import check_outputs, check_writable_folder, folder_lock
from patchnr.metrics import psnr, ssim
from patchnr.optim.recipes import Recipe
from patchnr.tasks import TASK_NAMES, TVBaseline, bundled_file, get_task

BASELINE_METHOD = {name: get_task(name).baseline for name in TASK_NAMES}  # building a task is cheap: no operator yet
ZERO_SHOT_TASKS = {name for name in TASK_NAMES if get_task(name).prior_trainer is not None}  # no bundled prior to score
TASK_METHODS = {task: (baseline, "tv") if task in ZERO_SHOT_TASKS else (baseline, "tv", "epll", "patchnr")
                for task, baseline in BASELINE_METHOD.items()}
LABELS = {"bicubic": "bicubic", "fbp": "FBP", "wiener": "Wiener", "fill": "fill", "tv": "TV", "epll": "EPLL", "patchnr": "patchNR"}
CASE_COLUMNS = ("image", "method", "seed", "psnr", "ssim", "runtime_s", "torch_threads")
CONNECT_TIMEOUT_S = 3
CONFIG_FORMAT = "patchnr-benchmark/1"


@dataclass
class BenchmarkConfig:
    """One benchmark run (see the module docstring).

    task: a key of ``TASK_METHODS``; images: files or folders; methods: subset of the task's methods;
    recipe: 'fast' or 'paper' (patchNR and EPLL solver settings); weights: patchNR prior (default
    the task's bundled one); iterations: overrides the iterations of tv, epll and patchnr;
    epll_gmm: a saved GMM (default: the task's bundled one);
    tv / epll_lam: override the tuned defaults; figures: figure for the first K images;
    limit: only the first N images.
    """

    task: str
    images: list[Path]
    methods: list[str]
    out: Path
    seed: int = 0
    scheduler: str = "local"
    workers: int = 1
    recipe: str = "fast"
    weights: Path | None = None
    iterations: int | None = None
    epll_gmm: Path | None = None
    tv: TVBaseline | None = None
    epll_lam: float | None = None
    figures: int = 1
    limit: int | None = None
    progress: bool = True


@dataclass(frozen=True)
class Case:
    """One unit of work: ``method`` on image ``image`` (a file name) with simulation/solver ``seed``."""

    task: str
    image: str
    method: str
    seed: int
    settings: dict = field(hash=False)
    keep_image: bool = False


# --------------------------------------------------------------------------------------------
# Inputs and settings


def image_files(paths: list[Path]) -> list[Path]:
    """Files given, plus the image files (``IMAGE_SUFFIXES``) of folders given, sorted; names must be unique."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise PatchNRError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
            files += found
        else:
            files.append(path)
    names = [p.name for p in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PatchNRError(f"image file names must be unique; repeated: {', '.join(duplicates)}")
    return files


def case_seed(seed: int, image_name: str) -> int:
    """The per-image seed (31 bits) derived from the run's seed and the image's file name."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{image_name}".encode()).digest()[:4], "little") >> 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def check_methods(task: str, methods: list[str]) -> None:
    if task not in TASK_METHODS:
        raise PatchNRError(f"unknown --task {task!r} (choose from {', '.join(TASK_METHODS)})")
    valid = TASK_METHODS[task]
    unknown = [m for m in methods if m not in valid]
    if unknown or not methods:
        raise PatchNRError(f"unknown method(s) {', '.join(unknown) or '(none given)'} for --task {task} (choose from {', '.join(valid)})")


def weights_path(config: BenchmarkConfig, task_prior_file: str) -> Path:
    return Path(config.weights) if config.weights else bundled_file(task_prior_file)


def method_settings(config: BenchmarkConfig, task, recipe: Recipe, weights: Path | None, gmm_id: str | None) -> dict[str, dict]:
    """JSON-ready settings of each requested method: what config.json records and workers receive."""
    iterations = {"iterations": config.iterations} if config.iterations else {}
    recipe = recipe.with_overrides(**iterations)
    settings: dict[str, dict] = {}
    for method in config.methods:
        if method == task.baseline:
            settings[method] = {}
        elif method == "tv":
            settings[method] = {**asdict(config.tv or task.tv), **iterations}
        elif method == "epll":
            lam = config.epll_lam if config.epll_lam is not None else task.epll_lam
            settings[method] = {"recipe": asdict(recipe.with_overrides(lam=lam)), "gmm": gmm_id}
        else:
            settings[method] = {"recipe": asdict(recipe), "weights_sha256": file_sha256(weights)}
    return json.loads(json.dumps(settings))


# --------------------------------------------------------------------------------------------
# config.json and cases.csv


def merge_config(out: Path, common: dict, methods: dict[str, dict]) -> dict:
    """The folder's configuration extended by ``methods``; ``PatchNRError`` if anything shared differs."""
    path, new = out / "config.json", {"format": CONFIG_FORMAT, "common": common, "methods": methods}
    if not path.is_file():
        if (out / "cases.csv").exists():
            raise PatchNRError(f"{out} holds cases.csv without config.json; refuse to mix results (use another --out)")
        return new
    try:
        old = json.loads(path.read_text())
        old_common, old_methods = old["common"], old["methods"]
    except (ValueError, KeyError, TypeError):
        raise PatchNRError(f"{path}: unreadable benchmark configuration; refuse to mix results (use another --out)") from None
    for key in sorted(set(old_common) | set(common)):
        if old_common.get(key) != common.get(key):
            raise PatchNRError(f"{out} holds results with {key}={old_common.get(key)!r}, not {common.get(key)!r}; refuse to mix (use another --out)")
    for method in sorted(set(old_methods) & set(methods)):
        if old_methods[method] != methods[method]:
            raise PatchNRError(f"{out} holds {method} results with other settings ({old_methods[method]} ≠ {methods[method]}); refuse to mix (use another --out)")
    return {"format": CONFIG_FORMAT, "common": common, "methods": {**old_methods, **methods}}


def write_json(path: Path, payload: dict) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


class CaseLog:
    """A CSV of complete lines only, each appended by one ``os.write`` + ``fsync`` (module docstring).

    ``columns``: the header (``CASE_COLUMNS`` for a benchmark's ``cases.csv``).
    """

    def __init__(self, path: Path, columns: tuple[str, ...] = CASE_COLUMNS):
        self.path = Path(path)
        self.columns = tuple(columns)

    def _complete_text(self) -> str:
        if not self.path.is_file():
            return ""
        data = self.path.read_bytes()
        return data[: data.rfind(b"\n") + 1].decode()

    def rows(self) -> list[dict]:
        """Every complete data row (a trailing partial line is ignored)."""
        text = self._complete_text()
        return list(csv.DictReader(io.StringIO(text))) if text else []

    def done(self) -> set[tuple[str, str]]:
        return {(row["image"], row["method"]) for row in self.rows()}

    def open(self) -> None:
        """Cut a trailing partial line, then write the header to an empty file."""
        complete = len(self._complete_text().encode())
        if self.path.is_file() and self.path.stat().st_size != complete:
            os.truncate(self.path, complete)
        if complete == 0:
            self._append_line(",".join(self.columns))

    def append(self, row: dict) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="").writerow([row[column] for column in self.columns])
        self._append_line(buffer.getvalue())

    def _append_line(self, line: str) -> None:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, (line + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --------------------------------------------------------------------------------------------
# Worker side: cached builders and one case

_CACHE: dict[str, tuple[str, object]] = {}  # kind ('task', 'flow') → (key, value): the last one only
_CACHE_LOCK = threading.Lock()


def _cached(kind: str, key: str, build):
    """The ``kind`` value for ``key``, built once per process (thread-safe); only the last key of each
    kind is kept, and the previous value is dropped before ``build`` runs."""
    with _CACHE_LOCK:
        if _CACHE.get(kind, (None,))[0] != key:
            _CACHE.pop(kind, None)
            _CACHE[kind] = (key, build())
        return _CACHE[kind][1]


def cached_task(name: str):
    return _cached("task", name, lambda: get_task(name))


def _cached_flow(asset: dict):
    from patchnr.flows.flow import FlowConfig, PatchFlow

    def build():
        flow = PatchFlow(FlowConfig(**asset["config"]))
        flow.load_state_dict(asset["state_dict"])
        return flow.eval()

    return _cached("flow", asset["sha256"], build)


def solve_case(case: Case, ground_truth: np.ndarray, assets: dict) -> tuple[np.ndarray, float]:
    """Simulate, reconstruct with ``case.method``; the reconstruction (H×W) and the method's seconds."""
    task = cached_task(case.task)
    truth = torch.from_numpy(np.ascontiguousarray(ground_truth, dtype=np.float32))[None, None]
    observation = task.simulate(truth, case.seed)
    flow = _cached_flow(assets["flow"]) if case.method == "patchnr" else None
    start = time.perf_counter()
    init = task.initialise(observation)
    if case.method == "tv":
        image = task.solve_tv(observation, TVBaseline(**case.settings), init).image
    elif case.method == "epll":
        image = task.solve_epll(observation, assets["gmm"], Recipe(**case.settings["recipe"]), init, seed=case.seed).image
    elif case.method == "patchnr":
        image = task.solve(observation, flow, Recipe(**case.settings["recipe"]), seed=case.seed, init=init, progress=False).image
    else:
        image = init
    seconds = time.perf_counter() - start
    return image[0, 0].cpu().numpy(), seconds


def run_case(case: Case, ground_truth: np.ndarray, assets: dict) -> dict:
    """``solve_case`` then score: a cases.csv row, plus the reconstruction under 'array' when kept."""
    image, seconds = solve_case(case, ground_truth, assets)
    row = {
        "image": case.image, "method": case.method, "seed": case.seed, "psnr": f"{psnr(image, ground_truth):.4f}",
        "ssim": f"{ssim(image, ground_truth):.5f}", "runtime_s": f"{seconds:.3f}", "torch_threads": torch.get_num_threads(),
    }
    return {"row": row, "array": image if case.keep_image else None}


# --------------------------------------------------------------------------------------------
# Client side


def connect(scheduler: str, workers: int):
    """A Dask client: in-process threads for 'local', else the scheduler at a tcp:// address."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, dashboard_address="127.0.0.1:0")
        return Client(cluster)
    if not scheduler.startswith("tcp://"):
        raise ParameterError("scheduler", f"must be 'local' or tcp://host:port, got {scheduler!r}")
    try:
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError) as error:
        raise PatchNRError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S} s ({type(error).__name__})") from None


def _close(client) -> None:
    cluster = client.cluster  # None for a client of a remote scheduler
    client.close()
    if cluster is not None:
        cluster.close()


def _assets(config: BenchmarkConfig, weights: Path | None, gmm: dict | None) -> dict:
    assets: dict = {}
    if weights is not None:
        from patchnr.flows.checkpoint import load_flow

        flow, _ = load_flow(weights, patch_size=6, channels=1)
        assets["flow"] = {"config": flow.config.to_dict(), "state_dict": flow.state_dict(), "sha256": file_sha256(weights)}
    if gmm is not None:
        assets["gmm"] = gmm
    return assets


def _gmm(config: BenchmarkConfig, task) -> tuple[str, "callable"]:
    """(identity recorded in config.json, loader) of the EPLL mixture: ``--epll-gmm`` or the task's bundled one."""
    from patchnr.priors.gmm import load_gmm

    path = Path(config.epll_gmm) if config.epll_gmm is not None else bundled_file(task.gmm_file)
    load_gmm(path)  # fail early on a bad file
    return f"sha256:{file_sha256(path)}", lambda: load_gmm(path)


def run_benchmark(config: BenchmarkConfig) -> Path:
    """Run the missing cases of ``config`` into ``config.out``; return the summary.md path."""
    check_methods(config.task, config.methods)
    if config.workers < 1 or config.figures < 0 or (config.limit is not None and config.limit < 1):
        raise ParameterError("workers", "workers and limit must be positive, figures non-negative")
    files = image_files(config.images)[: config.limit]
    images = {path.name: load_image(path) for path in files}
    task = cached_task(config.task)
    for name, image in images.items():
        task.check_image(image, name)
    recipe = task.recipes.get(config.recipe)
    if recipe is None:
        raise PatchNRError(f"unknown --recipe {config.recipe!r} (choose from {', '.join(task.recipes)})")
    weights = weights_path(config, task.prior_file) if "patchnr" in config.methods else None
    assets = _assets(config, weights, None)  # validates the weights file
    gmm_id, gmm_loader = _gmm(config, task) if "epll" in config.methods else (None, None)
    common = {"task": config.task, "recipe": config.recipe, "seed": config.seed}
    settings = method_settings(config, task, recipe, weights, gmm_id)
    out = Path(config.out)
    merge_config(out, common, settings)  # refuses to mix results before anything is written
    check_output_folder(out, files, config.methods, config.figures)
    out.mkdir(parents=True, exist_ok=True)
    with folder_lock(out):
        return _run_locked(config, out, merge_config(out, common, settings), images, assets, gmm_loader)


def check_output_folder(out: Path, images: list[Path], methods: list[str], figures: int) -> None:
    """Raise ``PatchNRError`` if ``out`` cannot hold the results or one of its files is an input image."""
    check_writable_folder("out", out)
    fixed = ["cases.csv", "config.json", "summary.md", "summary.csv"]
    results = fixed + [f"figure_{path.stem}.png" for path in images[:figures]]
    results += [f"reconstructions/{path.name}__{method}.npy" for path in images for method in methods]
    check_outputs({f"out file {name}": out / name for name in results}, {f"image {path}": path for path in images})


def _run_locked(config: BenchmarkConfig, out: Path, merged: dict, images: dict, assets: dict, gmm_loader) -> Path:
    """The cases of ``config`` missing from ``out/cases.csv``, then the reports (``out`` is locked)."""
    log = CaseLog(out / "cases.csv")
    done = log.done()
    keep = set(list(images)[: config.figures])
    cases = [
        Case(config.task, name, method, case_seed(config.seed, name), merged["methods"][method], name in keep)
        for name in images for method in config.methods if (name, method) not in done
    ]
    client = connect(config.scheduler, config.workers) if cases else None
    write_json(out / "config.json", merged)
    log.open()
    if cases:
        if gmm_loader is not None:
            assets["gmm"] = gmm_loader()
        try:
            _run_cases(client, cases, images, assets, log, out, config.progress)
        finally:
            _close(client)
    return write_reports(out, config.task, list(images)[: config.figures], images)


def case_key(case: Case) -> str:
    """A Dask key unique to this submission: a cluster shared by several benchmark clients must never
    merge two cases (same image and method, but another task or settings) into one future."""
    return f"{case.task}/{case.image}/{case.method}-{uuid.uuid4().hex}"


def _run_cases(client, cases: list[Case], images: dict, assets: dict, log: CaseLog, out: Path, progress: bool) -> None:
    from distributed import as_completed
    from tqdm.auto import tqdm

    try:
        [shared] = client.scatter([assets], broadcast=True, hash=False)
        truths = dict(zip(images, client.scatter(list(images.values()), hash=False)))
    except TimeoutError as error:  # e.g. every worker paused for memory, or none connected
        raise PatchNRError(f"the Dask cluster has no worker accepting data ({error})") from None
    futures = [client.submit(run_case, case, truths[case.image], shared, key=case_key(case), pure=False) for case in cases]
    failures = []
    with tqdm(total=len(futures), desc="benchmark", unit="case", disable=not progress) as bar:
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # a failed case is reported; the others go on
                failures.append(f"{future.key}: {type(error).__name__}: {error}")
                bar.write(f"case {failures[-1]}")
            else:
                row = result["row"]
                if result["array"] is not None:
                    save_array(out / "reconstructions" / f"{row['image']}__{row['method']}.npy", result["array"])
                log.append(row)
                bar.set_postfix_str(f"{row['image']} {row['method']} {float(row['psnr']):.2f} dB")
            bar.update()
    if failures:
        raise PatchNRError(f"{len(failures)} case(s) failed; first: {failures[0]}")


# --------------------------------------------------------------------------------------------
# Reports


def summarise(rows: list[dict]) -> list[dict]:
    """Per method (in ``LABELS`` order): n and mean/std (ddof 0) of psnr, ssim, runtime_s."""
    summary = []
    for method in LABELS:
        selected = [row for row in rows if row["method"] == method]
        if not selected:
            continue
        entry = {"method": method, "n": len(selected)}
        for column in ("psnr", "ssim", "runtime_s"):
            values = np.array([float(row[column]) for row in selected])
            entry[f"{column}_mean"], entry[f"{column}_std"] = float(values.mean()), float(values.std())
        summary.append(entry)
    return summary


def summary_markdown(task: str, config: dict, summary: list[dict]) -> str:
    """Paper-style table: methods as columns; PSNR, SSIM, runtime rows (mean ± std)."""
    header = "| | " + " | ".join(LABELS[s["method"]] for s in summary) + " |"
    lines = [f"# Benchmark {task}", "", f"Settings: `{json.dumps(config['common'], sort_keys=True)}` (per method: config.json).", "",
             header, "|---" * (len(summary) + 1) + "|"]
    for label, column, digits in (("PSNR (dB)", "psnr", 2), ("SSIM", "ssim", 3), ("runtime (s)", "runtime_s", 2)):
        cells = [f"{s[column + '_mean']:.{digits}f} ± {s[column + '_std']:.{digits}f}" for s in summary]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| cases | " + " | ".join(str(s["n"]) for s in summary) + " |")
    return "\n".join(lines) + "\n\nmean ± std over images (std with ddof 0); runtime: wall time of the method on this machine.\n"


def write_reports(out: Path, task: str, figure_images: list[str], images: dict[str, np.ndarray]) -> Path:
    """summary.md, summary.csv and the figures of ``figure_images``; returns summary.md."""
    from patchnr.io.figures import comparison_figure

    summary = summarise(CaseLog(out / "cases.csv").rows())
    config = json.loads((out / "config.json").read_text())
    with atomic_path(out / "summary.csv") as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["method", "n", "psnr_mean", "psnr_std", "ssim_mean", "ssim_std", "runtime_s_mean", "runtime_s_std"])
        writer.writeheader()
        writer.writerows(summary)
    with atomic_path(out / "summary.md") as temporary:
        temporary.write_text(summary_markdown(task, config, summary))
    for name in figure_images:
        stored = {LABELS[m]: np.load(out / "reconstructions" / f"{name}__{m}.npy") for m in LABELS
                  if (out / "reconstructions" / f"{name}__{m}.npy").is_file()}
        if stored:
            comparison_figure(out / f"figure_{Path(name).stem}.png", stored, images[name], title=f"{task}: {name}")
    return out / "summary.md"
