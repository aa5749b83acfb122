"""One benchmark case, as a worker runs it: simulate, reconstruct with the case's method, score.

The observation is simulated with ``Case.seed`` (``case_seed``: the run's seed and the image's file
name, the same for every method). ``runtime_s`` is the wall time of the method alone: the task's
initialisation and the method's solver; simulation, scoring and building or loading the prior are
excluded.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import torch

from patchnr.benchmark.cache import cached_task
from patchnr.benchmark.methods import METHODS, CaseInputs
from patchnr.metrics import psnr, ssim


@dataclass(frozen=True)
class Case:
    """One unit of work: ``method`` on image ``image`` (a file name) with simulation/solver ``seed``;
    ``settings``: the method's recorded settings; ``keep_image``: return the reconstruction too."""

    task: str
    image: str
    method: str
    seed: int
    settings: dict = field(hash=False)
    keep_image: bool = False


def case_seed(seed: int, image_name: str) -> int:
    """The per-image seed (31 bits) derived from the run's seed and the image's file name."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{image_name}".encode()).digest()[:4], "little") >> 1


def case_key(case: Case) -> str:
    """A Dask key unique to this submission: a cluster shared by several benchmark clients must never
    merge two cases (same image and method, but another task or settings) into one future."""
    return f"{case.task}/{case.image}/{case.method}-{uuid.uuid4().hex}"


def solve_case(case: Case, ground_truth: np.ndarray, assets: dict) -> tuple[np.ndarray, float]:
    """Simulate the observation of ``ground_truth`` (H×W, float) and reconstruct it with ``case.method``;
    ``assets``: method name → shipped asset. Returns the reconstruction (H×W) and the method's seconds."""
    task = cached_task(case.task)
    method = METHODS[case.method]
    truth = torch.from_numpy(np.ascontiguousarray(ground_truth, dtype=np.float32))[None, None]
    observation = task.simulate(truth, case.seed)
    asset = method.load(assets.get(case.method))
    start = time.perf_counter()
    init = task.initialise(observation)
    image = method.solve(CaseInputs(task, observation, init, case.settings, case.seed, asset))
    seconds = time.perf_counter() - start
    return image[0, 0].cpu().numpy(), seconds


def run_case(case: Case, ground_truth: np.ndarray, assets: dict) -> dict:
    """``solve_case`` then score: {'row': the cases.csv row, 'array': the reconstruction if kept, else None}."""
    image, seconds = solve_case(case, ground_truth, assets)
    row = {
        "image": case.image, "method": case.method, "seed": case.seed, "psnr": f"{psnr(image, ground_truth):.4f}",
        "ssim": f"{ssim(image, ground_truth):.5f}", "runtime_s": f"{seconds:.3f}", "torch_threads": torch.get_num_threads(),
    }
    return {"row": row, "array": image if case.keep_image else None}
