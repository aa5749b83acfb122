"""Callbacks: what a solver reports or checks after each iteration (progress, PSNR, divergence)."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from patchnr.errors import DivergenceError
from patchnr.metrics import psnr
from patchnr.optim.result import Reconstruction


class Callback:
    """Hooks of one solve: ``start`` before the first iteration, ``step`` after each, ``end`` after the last."""

    def start(self, init: torch.Tensor, iterations: int) -> None:
        pass

    def step(self, iteration: int, image: torch.Tensor, result: Reconstruction) -> None:
        pass

    def end(self) -> None:
        pass


class ProgressBar(Callback):
    """A tqdm bar over the iterations (on stderr; removed when done), showing the objective."""

    def __init__(self, description: str = "reconstruct"):
        self.description, self.bar = description, None

    def start(self, init, iterations):
        self.bar = tqdm(total=iterations, desc=self.description, leave=False)

    def step(self, iteration, image, result):
        self.bar.update()
        if iteration % 10 == 0 and result.objective:
            self.bar.set_postfix(objective=f"{result.objective[-1]:.6g}", refresh=False)

    def end(self):
        if self.bar is not None:
            self.bar.close()


class PSNRHistory(Callback):
    """Appends the PSNR (dB) of the current image against ``ground_truth`` to ``result.psnr``."""

    def __init__(self, ground_truth: torch.Tensor):
        self.ground_truth = ground_truth

    def step(self, iteration, image, result):
        result.psnr.append(psnr(image, self.ground_truth))


class DivergenceGuard(Callback):
    """Raises ``DivergenceError`` when the image holds non-finite values or leaves any plausible range.

    Plausible: every |pixel| ≤ ``limit``; by default ``factor`` × max(1, max |init|) (images in
    [0, 1] may reach ±1000). A finite ±1e9 image from a far too large step is caught here.
    """

    def __init__(self, limit: float | None = None, factor: float = 1e3):
        self.limit, self.factor = limit, factor
        self._bound = limit

    def start(self, init, iterations):
        if self.limit is None:
            self._bound = self.factor * max(1.0, init.detach().abs().max().item())

    def step(self, iteration, image, result):
        largest = image.detach().abs().max().item()
        if not largest <= self._bound:  # also true for NaN
            state = "non-finite" if not torch.isfinite(image).all() else f"as large as {largest:.3g} (plausible up to {self._bound:.3g})"
            raise DivergenceError(f"solver diverged at iteration {iteration}: the image is {state}; lower lr or lam")


def default_callbacks(progress: bool = True, ground_truth: torch.Tensor | None = None) -> list[Callback]:
    """The usual set: a divergence guard, a progress bar when ``progress``, a PSNR history with a ground truth."""
    callbacks: list[Callback] = [DivergenceGuard()]
    if progress:
        callbacks.append(ProgressBar())
    if ground_truth is not None:
        callbacks.append(PSNRHistory(ground_truth))
    return callbacks
