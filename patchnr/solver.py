"""The variational solver: minimise D(A x, y) + λ · prior(x) over the image x with Adam."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from torch import nn
from tqdm.auto import tqdm

from .errors import DivergenceError
from .metrics import psnr

Schedule = Callable[[int], float]


@dataclass
class Reconstruction:
    """Solver output: the image (B×C×H×W); per iteration the objective, the wall-clock seconds since
    the start and, with a ground truth, the PSNR in dB."""

    image: torch.Tensor
    objective: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    psnr: list[float] = field(default_factory=list)


def cosine_schedule(iterations: int, final_fraction: float = 0.05) -> Schedule:
    """Learning-rate factor decaying from 1 to ``final_fraction`` along a half cosine."""
    return lambda k: final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * k / max(iterations, 1)))


def ramp_schedule(iterations: int, start: int, end: int) -> Callable[[int], int]:
    """Patch count growing geometrically from ``start`` to ``end`` over the run."""
    return lambda k: int(round(start * (end / start) ** (k / max(iterations - 1, 1))))


def measurement_data_terms(
    operator: Callable[[torch.Tensor], torch.Tensor],
    observation: torch.Tensor,
    fidelity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ordered_subsets: bool,
) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """Data terms x ↦ n · fidelity(A_j x, y_j), one per measurement block j (n blocks; their mean is
    the full data term). Without ``ordered_subsets``, or for an operator that does not split its
    measurement (no ``measurement_blocks``), the single full term fidelity(A x, y)."""
    split = getattr(operator, "measurement_blocks", None)
    blocks = split(observation) if ordered_subsets and callable(split) else [(operator, observation)]
    count = len(blocks)
    return [lambda x, block=block, part=part: count * fidelity(block(x), part) for block, part in blocks]


def epoch_order(count: int, seed: int = 0) -> Iterator[int]:
    """Indices 0..count−1 forever, each epoch a fresh random permutation (reproducible for ``seed``)."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        yield from torch.randperm(count, generator=generator).tolist()


def reconstruct(
    observation: torch.Tensor,
    operator: Callable[[torch.Tensor], torch.Tensor],
    fidelity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    prior: nn.Module,
    lam: float,
    init: torch.Tensor,
    iterations: int,
    lr: float,
    ground_truth: torch.Tensor | None = None,
    lr_schedule: Schedule | None = None,
    patch_schedule: Callable[[int], int] | None = None,
    ordered_subsets: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
    progress: bool = True,
) -> Reconstruction:
    """Minimise ``fidelity(operator(x), observation) + lam · prior(x).sum()`` from ``init``.

    Args:
        observation: the measurement y, in the operator's range.
        operator: any differentiable callable x ↦ Ax on B×C×H×W tensors (an ``nn.Module`` or a function).
        fidelity: scalar data term D(Ax, y).
        prior: image → regularizer value per image, shape (B,) (e.g. ``PatchNR``).
        lam: regularization weight λ ≥ 0.
        init: starting image B×C×H×W (e.g. FBP or bicubic); not modified.
        iterations, lr: Adam iterations and step size (in image units per step).
        ground_truth: optional B×C×H×W image; fills ``Reconstruction.psnr`` per iteration.
        lr_schedule: factor applied to ``lr`` at iteration k (default constant, as in the paper).
        patch_schedule: number of patches at iteration k, set on ``prior.n_patches``.
        ordered_subsets: each iteration uses one block of the measurement (``operator.measurement_blocks``),
            its data term scaled by the number of blocks, visiting every block once per epoch in a
            random order: an unbiased, cheaper data gradient (ordered subsets, as in OS-EM for CT).
        betas: Adam's moment decays. A short β2 memory (0.9) lets the step grow again once the large
            early data gradients are gone; the paper keeps PyTorch's (0.9, 0.999).
    Raises:
        DivergenceError: the objective or the image became non-finite.
    """
    if lam < 0:
        raise ValueError(f"lam must be non-negative, got {lam}")
    data_terms = measurement_data_terms(operator, observation, fidelity, ordered_subsets)
    block_order = epoch_order(len(data_terms))
    image = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr, betas=betas)
    result = Reconstruction(image=image)
    start = time.perf_counter()
    for k in tqdm(range(iterations), desc="reconstruct", disable=not progress, leave=False):
        if lr_schedule is not None:
            optimizer.param_groups[0]["lr"] = lr * lr_schedule(k)
        if patch_schedule is not None:
            prior.n_patches = patch_schedule(k)
        optimizer.zero_grad(set_to_none=True)
        objective = data_terms[next(block_order)](image) + lam * prior(image).sum()
        if not torch.isfinite(objective):
            raise DivergenceError(f"solver diverged at iteration {k}: objective is {objective.item()}; lower lr or lam")
        objective.backward()
        optimizer.step()
        result.objective.append(objective.item())
        result.seconds.append(time.perf_counter() - start)
        if ground_truth is not None:
            result.psnr.append(psnr(image, ground_truth))
    if not torch.isfinite(image).all():
        raise DivergenceError("solver diverged: the image holds non-finite values")
    result.image = image.detach()
    return result
