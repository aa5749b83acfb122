"""Training a patch flow by maximum likelihood on the patches of a few images."""

from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoint import load_flow, read_checkpoint, save_flow
from .errors import PatchNRError
from .flow import FlowConfig, PatchFlow
from .patches import PatchPool


FAST_WIDTH = 256  # subnet width of the fast default: ≈3× cheaper per patch than the reference 512


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings. The paper's recipe is ``TrainConfig.paper()``."""

    steps: int = 28_000  # ≈ 10 min on 2 CPU threads with bf16 (results/speed.md)
    batch_size: int = 512
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # 'constant' (paper) or 'cosine' (decays to 1 % of lr)
    bf16: bool = True  # flow under bfloat16 autocast: 1.5× faster steps on CPU; weights, Adam and validation stay fp32
    seed: int = 0
    validate_every: int = 500
    validation_patches: int = 20000
    checkpoint_every: int = 1000
    max_seconds: float | None = None  # wall-clock budget: stop early (validated, checkpointed) once spent

    @staticmethod
    def paper() -> "TrainConfig":
        """Adam lr 1e-4, batch 32, 750 000 steps, constant rate, fp32, validation every 1000 steps."""
        return TrainConfig(steps=750_000, batch_size=32, lr=1e-4, lr_schedule="constant", bf16=False, validate_every=1000,
                           checkpoint_every=10_000)

    def lr_factor(self, progress: float) -> float:
        """Multiplier of ``lr`` at ``progress`` ∈ [0, 1] of the run (see ``train_flow``)."""
        if self.lr_schedule == "constant":
            return 1.0
        return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    def progress(self, step: int, seconds: float) -> float:
        """Fraction of the run done: of ``steps``, or of ``max_seconds`` if that is further along."""
        if self.max_seconds is None:
            return step / self.steps
        return max(step / self.steps, seconds / self.max_seconds if self.max_seconds > 0 else math.inf)


def validation_nll(flow: PatchFlow, patches: torch.Tensor, chunk: int = 8192) -> float:
    """Mean NLL of fixed validation patches (N, D), evaluated in chunks without gradients."""
    with torch.no_grad():
        return float(torch.cat([flow.nll(p) for p in patches.split(chunk)]).mean())


def train_flow(
    images: list[torch.Tensor],
    flow_config: FlowConfig = FlowConfig(),
    train_config: TrainConfig = TrainConfig(),
    validation_image: torch.Tensor | None = None,
    checkpoint: str | os.PathLike | None = None,
    log_csv: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
) -> PatchFlow:
    """Fit a ``PatchFlow`` to the patches of ``images`` (each C×H×W, values in [0, 1]).

    Loss: mean over a batch of ½‖z‖² − log|det|, Adam. Every ``validate_every`` steps the mean NLL of
    ``validation_patches`` fixed patches of ``validation_image`` is appended to ``log_csv``; every
    ``checkpoint_every`` steps (and at the end) the flow, the optimizer and the step are saved to
    ``checkpoint``. With ``resume`` the run continues from that checkpoint. With
    ``train_config.max_seconds`` the run ends after the first step past that budget, and the
    learning-rate schedule follows whichever of steps and seconds is further along, so a run cut
    short by its budget still ends annealed (the seconds count from this call, also on resume).
    """
    torch.manual_seed(train_config.seed)
    generator = torch.Generator().manual_seed(train_config.seed)
    pool = PatchPool(images, flow_config.patch_size)
    val_patches = None
    if validation_image is not None:
        val_patches = PatchPool([validation_image], flow_config.patch_size).sample(train_config.validation_patches, generator)
    flow = PatchFlow(flow_config)
    optimizer = torch.optim.Adam(flow.parameters(), lr=train_config.lr)
    start = _resume(checkpoint, flow, optimizer, generator) if resume else 0
    log = _CsvLog(log_csv, append=resume and start > 0)
    flow.train()
    bar = tqdm(range(start, train_config.steps), desc="train", disable=not progress, initial=start, total=train_config.steps)
    running, started, fraction = None, time.perf_counter(), train_config.progress(start, 0.0)
    for step in bar:
        optimizer.param_groups[0]["lr"] = train_config.lr * train_config.lr_factor(fraction)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=train_config.bf16):
            loss = flow.nll(pool.sample(train_config.batch_size, generator)).mean()
        if not torch.isfinite(loss):
            raise PatchNRError(f"training diverged at step {step} (loss {loss.item()}); lower --lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        done = step + 1
        fraction = train_config.progress(done, time.perf_counter() - started)  # also sets the next step's lr
        last = done == train_config.steps or fraction >= 1.0
        if val_patches is not None and (done % train_config.validate_every == 0 or last):
            val = validation_nll(flow, val_patches)
            log.write(step=done, train_nll=running, val_nll=val)
            bar.set_postfix(loss=f"{running:.3f}", val=f"{val:.3f}")
        elif done % 50 == 0:
            bar.set_postfix(loss=f"{running:.3f}")
        if checkpoint is not None and (done % train_config.checkpoint_every == 0 or last):
            _save(checkpoint, flow, optimizer, generator, done, train_config, running)
        if last:
            break
    return flow.eval()


def _save(path, flow, optimizer, generator, step: int, config: TrainConfig, loss: float | None) -> None:
    metadata = {"step": step, "train_config": asdict(config), "train_nll": loss}
    save_flow(path, flow, metadata, optimizer_state=optimizer.state_dict(), rng_state=generator.get_state())


def _resume(path, flow: PatchFlow, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
    if path is None or not Path(path).is_file():
        raise PatchNRError(f"--resume: no checkpoint at {path}")
    stored, metadata = load_flow(path, flow.config.patch_size, flow.config.channels)
    if stored.config != flow.config:
        raise PatchNRError(f"--resume: {path} has architecture {stored.config}, not {flow.config}")
    payload = read_checkpoint(path)
    flow.load_state_dict(stored.state_dict())
    if "optimizer_state" in payload:
        optimizer.load_state_dict(payload["optimizer_state"])
    if "rng_state" in payload:
        generator.set_state(payload["rng_state"])
    return int(metadata.get("step", 0))


class _CsvLog:
    """Appends rows (step, train_nll, val_nll, seconds) to a CSV file, flushed per row."""

    def __init__(self, path, append: bool):
        self.path, self.start = path, time.perf_counter()
        if path is not None and not append:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", newline="") as handle:
                csv.writer(handle).writerow(["step", "train_nll", "val_nll", "seconds"])

    def write(self, step: int, train_nll: float, val_nll: float) -> None:
        if self.path is None:
            return
        with open(self.path, "a", newline="") as handle:
            csv.writer(handle).writerow([step, f"{train_nll:.5f}", f"{val_nll:.5f}", f"{time.perf_counter() - self.start:.1f}"])
