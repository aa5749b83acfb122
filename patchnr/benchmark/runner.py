"""``patchnr benchmark``: every (image, method) case of a task simulated, reconstructed, scored and timed.

A case (``patchnr.benchmark.cases``) runs one registered method (``patchnr.benchmark.methods``) on
one ground-truth image. Cases run as Dask futures. ``scheduler='local'`` starts an in-process
cluster (threads, no external service: ``workers`` threads, each case using torch's intra-op
threads); a ``tcp://host:port`` address connects to a running scheduler (within
``CONNECT_TIMEOUT_S``, else a one-line ``PatchNRError``). The methods' assets (flow weights, GMM)
are scattered once to every worker (``broadcast=True``); each worker keeps the task and the flow of
its last case (``patchnr.benchmark.cache``). The client alone writes results, as futures complete.

Everything that can be checked without a cluster is checked first, then the scheduler is reached,
and only then is the output folder created and locked: a refused run writes nothing.

Output folder: ``config.json`` and ``cases.csv`` (``patchnr.benchmark.records``: re-running skips
the finished cases), ``summary.md`` / ``summary.csv`` and ``figure_<image>.png`` for the first
``figures`` images (``patchnr.benchmark.report``), from reconstructions kept in ``reconstructions/``
for those images only.
"""

from __future__ import annotations

import json
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import numpy as np

from patchnr.benchmark.cache import cached_task
from patchnr.benchmark.cases import Case, case_key, case_seed, run_case
from patchnr.benchmark.methods import METHODS, check_methods
from patchnr.benchmark.records import CaseLog, merge_config, write_json
from patchnr.benchmark.report import reconstruction_path, write_reports
from patchnr.errors import ParameterError, PatchNRError
from patchnr.extras import require
from patchnr.io.images import IMAGE_SUFFIXES, load_image, save_array
from patchnr.io.outputs import check_outputs, check_writable_folder, folder_lock
from patchnr.tasks import TASK_NAMES, TVBaseline

CONNECT_TIMEOUT_S = 3


@dataclass
class BenchmarkConfig:
    """One benchmark run (see the module docstring).

    task: one of ``patchnr.tasks.TASK_NAMES``; images: files or folders; methods: names of methods
    of the task (``methods.task_methods``); recipe: 'fast' or 'paper' (patchNR and EPLL solver
    settings); weights: patchNR prior (default the task's bundled one); iterations: overrides the
    iterations of tv, epll and patchnr; epll_gmm: a saved GMM (default: the task's bundled one);
    tv / epll_lam: override the tuned defaults; figures: figure for the first K images;
    limit: only the first N images; scheduler: 'local' or tcp://host:port; workers: threads of a
    local cluster.
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


@dataclass
class Plan:
    """A checked run, before anything is written: ``images`` (file name → H×W ground truth, in
    order), ``common`` and ``settings`` (what config.json records), ``assets`` (method → shipped asset)."""

    config: BenchmarkConfig
    images: dict[str, np.ndarray]
    common: dict
    settings: dict[str, dict]
    assets: dict[str, object]

    @property
    def out(self) -> Path:
        return Path(self.config.out)

    def missing_cases(self, settings: dict[str, dict]) -> list[Case]:
        """The cases of this run without a row in ``out/cases.csv``; ``settings``: method → settings."""
        done = CaseLog(self.out / "cases.csv").done()
        kept = set(list(self.images)[: self.config.figures])
        return [Case(self.config.task, name, method, case_seed(self.config.seed, name), settings[method], name in kept)
                for name in self.images for method in self.config.methods if (name, method) not in done]


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


def check_scheduler(scheduler: str) -> None:
    """Raise ``ParameterError`` unless ``scheduler`` is 'local' or tcp://host:port (port 1–65535)."""
    if scheduler == "local":
        return
    parts = urlsplit(scheduler)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or not port or parts.path or parts.query or parts.fragment:
        raise ParameterError("scheduler", f"must be 'local' or tcp://host:port, got {scheduler!r}")


@contextmanager
def connected(scheduler: str, workers: int) -> Iterator[object]:
    """A Dask client, closed on exit: in-process threads for 'local', else the scheduler at a
    tcp:// address (``check_scheduler``), reached within ``CONNECT_TIMEOUT_S`` or ``PatchNRError``."""
    check_scheduler(scheduler)
    distributed = require("distributed")
    if scheduler == "local":
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=workers, processes=False, dashboard_address="127.0.0.1:0")
        client = distributed.Client(cluster)
    else:
        cluster = None
        try:
            client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError) as error:
            raise PatchNRError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S} s ({type(error).__name__})") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_output_folder(out: Path, images: list[Path], methods: list[str], figures: int) -> None:
    """Raise ``PatchNRError`` if ``out`` cannot hold the results or one of its files is an input image."""
    check_writable_folder("out", out)
    results = [out / name for name in ("cases.csv", "config.json", "summary.md", "summary.csv")]
    results += [out / f"figure_{path.stem}.png" for path in images[:figures]]
    results += [reconstruction_path(out, path.name, method) for path in images for method in methods]
    check_outputs({f"out file {path.relative_to(out)}": path for path in results}, {f"image {path}": path for path in images})


def plan_benchmark(config: BenchmarkConfig) -> Plan:
    """Check ``config`` and prepare its methods, writing nothing; ``PatchNRError`` on a user error."""
    if config.task not in TASK_NAMES:
        raise PatchNRError(f"unknown --task {config.task!r} (choose from {', '.join(TASK_NAMES)})")
    task = cached_task(config.task)
    check_methods(task, config.methods)
    if config.workers < 1 or config.figures < 0 or (config.limit is not None and config.limit < 1):
        raise ParameterError("workers", "workers and limit must be positive, figures non-negative")
    check_scheduler(config.scheduler)
    files = image_files(config.images)[: config.limit]
    images = {path.name: load_image(path) for path in files}
    for name, image in images.items():
        task.check_image(image, name)
    recipe = task.recipes.get(config.recipe)
    if recipe is None:
        raise PatchNRError(f"unknown --recipe {config.recipe!r} (choose from {', '.join(task.recipes)})")
    recipe = recipe.with_overrides(iterations=config.iterations)
    prepared = {method: METHODS[method].prepare(config, task, recipe) for method in config.methods}
    settings = json.loads(json.dumps({method: done.settings for method, done in prepared.items()}))
    assets = {method: done.asset for method, done in prepared.items() if done.asset is not None}
    common = {"task": config.task, "recipe": config.recipe, "seed": config.seed}
    merge_config(Path(config.out), common, settings)
    check_output_folder(Path(config.out), files, config.methods, config.figures)
    return Plan(config, images, common, settings, assets)


def run_benchmark(config: BenchmarkConfig) -> Path:
    """Run the missing cases of ``config`` into ``config.out``; return the summary.md path."""
    plan = plan_benchmark(config)
    with ExitStack() as stack:
        client = stack.enter_context(connected(config.scheduler, config.workers)) if plan.missing_cases(plan.settings) else None
        plan.out.mkdir(parents=True, exist_ok=True)
        stack.enter_context(folder_lock(plan.out))
        merged = merge_config(plan.out, plan.common, plan.settings)  # again: another run may have finished meanwhile
        cases = plan.missing_cases(merged["methods"])
        if cases and client is None:
            client = stack.enter_context(connected(config.scheduler, config.workers))
        write_json(plan.out / "config.json", merged)
        log = CaseLog(plan.out / "cases.csv")
        log.open()
        if cases:
            _run_cases(client, cases, plan, log)
        return write_reports(plan.out, config.task, list(plan.images)[: config.figures], plan.images)


def _run_cases(client, cases: list[Case], plan: Plan, log: CaseLog) -> None:
    """Submit ``cases``; append each finished one to ``log`` (and keep its reconstruction if asked)."""
    from tqdm.auto import tqdm

    distributed = require("distributed")
    try:
        [shared] = client.scatter([plan.assets], broadcast=True, hash=False)
        truths = dict(zip(plan.images, client.scatter(list(plan.images.values()), hash=False)))
    except TimeoutError as error:  # e.g. every worker paused for memory, or none connected
        raise PatchNRError(f"the Dask cluster has no worker accepting data ({error})") from None
    futures = [client.submit(run_case, case, truths[case.image], shared, key=case_key(case), pure=False) for case in cases]
    failures = []
    with tqdm(total=len(futures), desc="benchmark", unit="case", disable=not plan.config.progress) as bar:
        for future in distributed.as_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # a failed case is reported; the others go on
                failures.append(f"{future.key}: {type(error).__name__}: {error}")
                bar.write(f"case {failures[-1]}")
            else:
                row = result["row"]
                if result["array"] is not None:
                    save_array(reconstruction_path(plan.out, row["image"], row["method"]), result["array"])
                log.append(row)
                bar.set_postfix_str(f"{row['image']} {row['method']} {float(row['psnr']):.2f} dB")
            bar.update()
    if failures:
        raise PatchNRError(f"{len(failures)} case(s) failed; first: {failures[0]}")
