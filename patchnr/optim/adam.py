"""Adam on the image, the paper's solver (with the fast recipes' cosine schedule and ordered subsets)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch

from patchnr.errors import DivergenceError
from patchnr.optim.objective import Objective
from patchnr.optim.callbacks import Callback
from patchnr.optim.result import Reconstruction, Schedule


@dataclass
class Adam:
    """iterations, lr: Adam steps and step size (image units per step); lr_schedule: factor on lr at
    iteration k (``None``: constant, as in the paper); betas: Adam's moment decays; eps: Adam's ε
    (in the objective's gradient units)."""

    iterations: int
    lr: float
    lr_schedule: Schedule | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def solve(self, objective: Objective, init: torch.Tensor, callbacks: Sequence[Callback] = ()) -> Reconstruction:
        """Minimise ``objective.estimate`` from ``init`` (B×C×H×W, not modified).

        Raises ``DivergenceError`` when the objective becomes non-finite (callbacks may raise too).
        """
        image = init.detach().clone().requires_grad_(True)
        optimizer = torch.optim.Adam([image], lr=self.lr, betas=self.betas, eps=self.eps)
        result = Reconstruction(image=image)
        for callback in callbacks:
            callback.start(init, self.iterations)
        start = time.perf_counter()
        try:
            for k in range(self.iterations):
                if self.lr_schedule is not None:
                    optimizer.param_groups[0]["lr"] = self.lr * self.lr_schedule(k)
                optimizer.zero_grad(set_to_none=True)
                value = objective.estimate(image)
                if not torch.isfinite(value):
                    raise DivergenceError(f"solver diverged at iteration {k}: objective is {value.item()}; lower lr or lam")
                value.backward()
                optimizer.step()
                result.objective.append(value.item())
                result.seconds.append(time.perf_counter() - start)
                for callback in callbacks:
                    callback.step(k, image, result)
        finally:
            for callback in callbacks:
                callback.end()
        if not torch.isfinite(image).all():
            raise DivergenceError("solver diverged: the image holds non-finite values")
        result.image = image.detach()
        return result
