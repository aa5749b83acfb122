"""The embedded examples: a bundled test image of each task and its simulated observation."""

from __future__ import annotations

import numpy as np
import torch

from patchnr.errors import ParameterError
from patchnr.io.images import load_image
from patchnr.pipeline.problem import restate_noise
from patchnr.tasks import Task, bundled_file, get_task


def simulate_example(task: str | Task, ground_truth: np.ndarray | None = None, seed: int = 0, device: str | torch.device = "cpu",
                     noise_std: float | None = None, photons: float | None = None, **task_options) -> tuple[np.ndarray, np.ndarray]:
    """(observation, ground truth), 2-D float32 arrays: the task's simulated measurement of
    ``ground_truth`` (default: its bundled example image), noise seeded with ``seed``, simulated on
    ``device``; ``noise_std`` or ``photons`` restate the task's noise level (as in ``solve``)."""
    if isinstance(task, str):
        task = get_task(task, device=device, **task_options)
    task = restate_noise(task, noise_std, photons)
    if ground_truth is None:
        if task.example_file is None:
            raise ParameterError("observation", f"{task.name} has no bundled example; give an observation")
        ground_truth = load_image(bundled_file(task.example_file))
    task.check_image(ground_truth, "ground truth")
    image = torch.from_numpy(np.ascontiguousarray(ground_truth, dtype=np.float32))[None, None]
    observation = task.simulate(image.to(device), seed)[0, 0].cpu().numpy()
    return observation, ground_truth


__all__ = ["simulate_example"]
