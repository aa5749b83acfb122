"""``patchnr train``: fit a patch flow to a few clean images, with checkpoints and a resumable schedule."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from patchnr.cli.arguments import positive_float, positive_int, require_suffix, seed
from patchnr.errors import PatchNRError
from patchnr.flows.flow import FlowConfig
from patchnr.flows.train import TrainConfig


def add_train(parser: argparse.ArgumentParser) -> None:
    flow, paper_flow, train = FlowConfig(), FlowConfig.paper(), TrainConfig()
    parser.add_argument("images", nargs="+", type=Path, help="training images (PNG/TIFF/NPY, 2-D, values in [0, 1])")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt); also the periodic checkpoint")
    parser.add_argument("--validation", type=Path, help="held-out image: its patch NLL is logged")
    parser.add_argument("--log", type=Path, help="CSV of step, train NLL, validation NLL (default: OUT with .csv)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="fast, or the paper's 750k-step recipe")
    parser.add_argument("--patch-size", type=positive_int, default=flow.patch_size, help="patch side in pixels")
    parser.add_argument("--layers", type=positive_int, default=flow.num_layers, help="GLOW coupling layers of the flow")
    parser.add_argument("--width", type=positive_int, help=f"subnet width (fast: {flow.hidden_width}, paper: {paper_flow.hidden_width})")
    parser.add_argument("--steps", type=positive_int, help=f"training steps (fast: {train.steps})")
    parser.add_argument("--batch", type=positive_int, help=f"patches per step (fast: {train.batch_size})")
    parser.add_argument("--lr", type=positive_float, help=f"learning rate (fast: {train.lr}, cosine-decayed)")
    parser.add_argument("--minutes", type=positive_float, help="wall-clock budget: the run ends, annealed, after this long (or after --steps)")
    parser.add_argument("--fp32", action="store_true", help="train the flow in fp32 (fast: bf16 autocast; the paper recipe is always fp32)")
    parser.add_argument("--checkpoint-every", type=positive_int, help=f"steps between checkpoints (fast: {train.checkpoint_every})")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the patch draws and the initial weights")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint at --out: its step and its training time carry on, so the lr schedule "
                             "and a --minutes budget continue where it stopped")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> None:
    from patchnr.flows.checkpoint import load_flow
    from patchnr.flows.train import train_flow
    from patchnr.io.images import load_image
    from patchnr.io.outputs import check_outputs

    require_suffix(args.out, ".pt", "--out")
    log = args.log or args.out.with_suffix(".csv")
    inputs = {f"training image {path}": path for path in args.images} | {"--validation": args.validation}
    check_outputs({"--out": args.out, "--log": log}, inputs)
    config = training_config(args)
    images = [torch.from_numpy(load_image(path))[None] for path in args.images]
    validation = torch.from_numpy(load_image(args.validation))[None] if args.validation else None
    base = FlowConfig.paper() if args.recipe == "paper" else FlowConfig()
    flow_config = FlowConfig(patch_size=args.patch_size, num_layers=args.layers, hidden_width=args.width or base.hidden_width)
    named = list(zip(args.images, images)) + ([(args.validation, validation)] if validation is not None else [])
    for path, image in named:
        if min(image.shape[1:]) < args.patch_size:
            raise PatchNRError(f"{path}: image {tuple(image.shape[1:])} is smaller than the patch size {args.patch_size}")
    start = time.perf_counter()
    try:
        train_flow(images, flow_config, config, validation, checkpoint=args.out, log_csv=log, resume=args.resume,
                   progress=not args.quiet)
    except KeyboardInterrupt:
        print(interrupted_message(args.out), file=sys.stderr)
        raise
    _, metadata = load_flow(args.out)
    print(f"saved {args.out} ({metadata['step']} steps, {time.perf_counter() - start:.0f} s)")


def training_config(args: argparse.Namespace) -> TrainConfig:
    """The recipe's ``TrainConfig`` with the options given."""
    base = TrainConfig.paper() if args.recipe == "paper" else TrainConfig()
    overrides = {"steps": args.steps, "batch_size": args.batch, "lr": args.lr, "checkpoint_every": args.checkpoint_every,
                 "max_seconds": 60 * args.minutes if args.minutes else None, "bf16": False if args.fp32 else None}
    return replace(base, seed=args.seed, **{k: v for k, v in overrides.items() if v is not None})


def interrupted_message(checkpoint: Path) -> str:
    """One line after Ctrl-C: where the last checkpoint is and how to go on."""
    from patchnr.flows.checkpoint import read_checkpoint

    try:
        step = read_checkpoint(checkpoint).get("metadata", {}).get("step")
    except PatchNRError:
        step = None
    if step is None:
        return f"patchnr: interrupted before the first checkpoint; nothing was saved at {checkpoint}"
    return (f"patchnr: interrupted; {checkpoint} holds the checkpoint of step {step}: "
            f"run the same command with --resume to continue from it")
