"""L-BFGS with a strong-Wolfe line search, evaluated in float64 (the operator keeps its own precision).

The Poisson data term of a LoDoPaB sinogram is ~1e9, too large for float32 line searches; the
objective is therefore summed in float64 while A runs in float32. Suited to smooth objectives such
as total variation (Adam with the patchNR step size does badly on TV).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import torch

from patchnr.errors import DivergenceError
from patchnr.optim.objective import Objective
from patchnr.optim.callbacks import Callback
from patchnr.optim.result import Reconstruction


@dataclass
class LBFGS:
    """iterations: L-BFGS iterations (at most 1.5× as many evaluations); history: its memory."""

    iterations: int = 300
    history: int = 20

    def solve(self, objective: Objective, init: torch.Tensor, callbacks: Sequence[Callback] = ()) -> Reconstruction:
        """Minimise ``objective`` (full data term) from ``init``; the image comes back in ``init``'s dtype.

        ``result.objective`` holds the objective at every evaluation; callbacks see every evaluation.
        """
        image = init.detach().to(torch.float64).clone().requires_grad_(True)
        optimizer = torch.optim.LBFGS(
            [image], lr=1.0, max_iter=self.iterations, max_eval=int(1.5 * self.iterations) + 1, history_size=self.history,
            tolerance_grad=1e-12, tolerance_change=1e-14, line_search_fn="strong_wolfe",
        )
        result = Reconstruction(image=image)
        start = time.perf_counter()

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            value = objective(image)
            if not torch.isfinite(value):
                raise DivergenceError(f"L-BFGS diverged: objective is {value.item()}; lower lam or raise eps")
            value.backward()
            result.objective.append(value.item())
            result.seconds.append(time.perf_counter() - start)
            for callback in callbacks:
                callback.step(len(result.objective) - 1, image, result)
            return value

        for callback in callbacks:
            callback.start(init, self.iterations)
        try:
            if self.iterations > 0:
                optimizer.step(closure)
        finally:
            for callback in callbacks:
                callback.end()
        if not torch.isfinite(image).all():
            raise DivergenceError("L-BFGS diverged: the image holds non-finite values")
        result.image = image.detach().to(init.dtype)
        return result

