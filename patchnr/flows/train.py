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

from patchnr.flows.checkpoint import load_flow, read_checkpoint, save_flow
from patchnr.errors import ParameterError, PatchNRError
from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.io.outputs import restore_on_error
from patchnr.optim.schedules import cosine_schedule
from patchnr.patches import PatchPool


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
        return cosine_schedule(1.0, final_fraction=0.01)(progress)

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
    short by its budget still ends annealed. The training seconds are stored in the checkpoint's
    metadata: a resumed run counts on from them, so it continues the schedule where it stopped.
    A diverged run (``PatchNRError``) puts ``checkpoint`` and ``log_csv`` back as they were before
    the call (removing them if it created them); Ctrl-C leaves the last periodic checkpoint.
    """
    torch.manual_seed(train_config.seed)
    generator = torch.Generator().manual_seed(train_config.seed)
    pool = PatchPool(images, flow_config.patch_size)
    val_patches = None
    if validation_image is not None:
        val_patches = PatchPool([validation_image], flow_config.patch_size).sample(train_config.validation_patches, generator)
    flow = PatchFlow(flow_config)
    optimizer = torch.optim.Adam(flow.parameters(), lr=train_config.lr)
    start, seconds_before = _resume(checkpoint, flow, optimizer, generator) if resume else (0, 0.0)
    outputs = [path for path in (checkpoint, log_csv) if path is not None]
    with restore_on_error(outputs):  # a diverged run leaves the checkpoint and the log as they were
        log = _CsvLog(log_csv, append=resume and start > 0)
        _optimise(flow, optimizer, pool, generator, val_patches, train_config, log, checkpoint, start, seconds_before, progress)
    return flow.eval()


def _optimise(flow, optimizer, pool, generator, val_patches, config: TrainConfig, log, checkpoint, start: int,
              seconds_before: float, progress: bool) -> None:
    """The training loop of ``train_flow`` from step ``start``; ``seconds_before``: time spent by earlier runs."""
    flow.train()
    bar = _ProgressBar(config, start, seconds_before, enabled=progress)
    running, started = None, time.perf_counter() - seconds_before
    fraction = config.progress(start, seconds_before)
    try:  # the bar ends before any error is printed
        for step in range(start, config.steps):
            optimizer.param_groups[0]["lr"] = config.lr * config.lr_factor(fraction)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                loss = flow.nll(pool.sample(config.batch_size, generator)).mean()
            if not torch.isfinite(loss):
                raise PatchNRError(f"training diverged at step {step} (loss {loss.item()}); lower the learning rate")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
            done, seconds = step + 1, time.perf_counter() - started
            fraction = config.progress(done, seconds)  # also sets the next step's lr
            last = done == config.steps or fraction >= 1.0
            bar.advance(fraction)
            if val_patches is not None and (done % config.validate_every == 0 or last):
                val = validation_nll(flow, val_patches)
                log.write(step=done, train_nll=running, val_nll=val)
                bar.show(loss=f"{running:.3f}", val=f"{val:.3f}")
            elif done % 50 == 0:
                bar.show(loss=f"{running:.3f}")
            if checkpoint is not None and (done % config.checkpoint_every == 0 or last):
                _save(checkpoint, flow, optimizer, generator, done, config, running, seconds)
            if last:
                break
    finally:
        bar.close()


class _ProgressBar:
    """tqdm over the run's progress in percent (``TrainConfig.progress``): follows the step count, or
    the wall-clock budget when that is further along."""

    def __init__(self, config: TrainConfig, start: int, seconds_before: float, enabled: bool):
        self.bar = tqdm(total=100, desc="train", disable=not enabled, bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]")
        self.percent = 0.0
        self.advance(config.progress(start, seconds_before))

    def advance(self, fraction: float) -> None:
        """Move the bar to ``fraction`` of the run (capped at 100 %)."""
        percent = min(100.0, 100.0 * fraction)
        self.bar.update(percent - self.percent)
        self.percent = percent

    def show(self, **values) -> None:
        self.bar.set_postfix(**values)

    def close(self) -> None:
        self.bar.close()


def _save(path, flow, optimizer, generator, step: int, config: TrainConfig, loss: float | None, seconds: float) -> None:
    metadata = {"step": step, "train_config": asdict(config), "train_nll": loss, "seconds": seconds}
    save_flow(path, flow, metadata, optimizer_state=optimizer.state_dict(), rng_state=generator.get_state())


def _resume(path, flow: PatchFlow, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> tuple[int, float]:
    """Load flow, optimizer and generator state from ``path``; return (step, training seconds so far).

    Every stored entry is checked before use: a corrupt one is a one-line ``PatchNRError``.
    """
    if path is None or not Path(path).is_file():
        raise ParameterError("resume", f"no checkpoint at {path}")
    stored, metadata = load_flow(path, flow.config.patch_size, flow.config.channels)
    if stored.config != flow.config:
        raise ParameterError("resume", f"{path} has architecture {stored.config}, not {flow.config}")
    payload = read_checkpoint(path)
    flow.load_state_dict(stored.state_dict())
    if "optimizer_state" in payload:
        _load_optimizer_state(path, optimizer, payload["optimizer_state"])
    if "rng_state" in payload:
        _load_generator_state(path, generator, payload["rng_state"])
    step, seconds = metadata.get("step", 0), metadata.get("seconds", 0.0)
    if type(step) is not int or step < 0:
        raise ParameterError("resume", f"{path} has a corrupt step {step!r:.40}")
    if type(seconds) not in (int, float) or not math.isfinite(seconds) or seconds < 0:
        raise ParameterError("resume", f"{path} has a corrupt training time {seconds!r:.40}")
    return step, float(seconds)


def _load_optimizer_state(path, optimizer: torch.optim.Optimizer, state) -> None:
    """Adam's state from a checkpoint, checked: moments shaped like their parameters, finite step counts."""
    try:
        optimizer.load_state_dict(state)
        for parameter in optimizer.param_groups[0]["params"]:
            entry = optimizer.state.get(parameter, {})
            for name in ("exp_avg", "exp_avg_sq"):
                if name in entry and (not isinstance(entry[name], torch.Tensor) or entry[name].shape != parameter.shape):
                    raise ValueError(f"{name} does not match its parameter")
            if "step" in entry and not math.isfinite(float(entry["step"])):
                raise ValueError("non-finite step count")
    except (ValueError, KeyError, TypeError, IndexError, RuntimeError, AttributeError) as error:
        raise ParameterError("resume", f"{path} has a corrupt optimizer state ({str(error).splitlines()[0][:120]})") from None


def _load_generator_state(path, generator: torch.Generator, state) -> None:
    try:
        if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8:
            raise TypeError("not a uint8 tensor")
        generator.set_state(state)
    except (TypeError, RuntimeError, ValueError) as error:
        raise ParameterError("resume", f"{path} has a corrupt random state ({str(error).splitlines()[0][:120]})") from None


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
