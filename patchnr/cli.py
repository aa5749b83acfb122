"""Command line: ``patchnr train``, ``patchnr reconstruct``, ``patchnr benchmark``.

A thin layer over the Python API. User errors print one line on stderr and exit with code 2;
outputs are written only after success, atomically.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .errors import ParameterError, PatchNRError
from .noise import LODOPAB_MU_MAX
from .tasks import TASK_NAMES
from .train import FAST_WIDTH


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="patchnr", description="Patch normalizing-flow regularization for imaging inverse problems.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(commands.add_parser("train", help="train a patch flow prior on a few clean images"))
    _add_reconstruct(commands.add_parser("reconstruct", help="reconstruct an image from an observation"))
    _add_benchmark(commands.add_parser("benchmark", help="score baselines and patchNR on simulated observations of test images"))
    return parser


def _add_train(parser: argparse.ArgumentParser) -> None:
    from .flow import FlowConfig
    from .train import TrainConfig

    flow, train = FlowConfig(), TrainConfig()
    parser.add_argument("images", nargs="+", type=Path, help="training images (PNG/TIFF/NPY, 2-D, values in [0, 1])")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt); also the periodic checkpoint")
    parser.add_argument("--validation", type=Path, help="held-out image: its patch NLL is logged")
    parser.add_argument("--log", type=Path, help="CSV of step, train NLL, validation NLL (default: OUT with .csv)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="fast (default) or the paper's 750k-step recipe")
    parser.add_argument("--patch-size", type=int, default=flow.patch_size)
    parser.add_argument("--layers", type=int, default=flow.num_layers)
    parser.add_argument("--width", type=int, help=f"subnet width (fast: {FAST_WIDTH}, paper: {flow.hidden_width})")
    parser.add_argument("--steps", type=int, help=f"Adam steps (fast: {train.steps})")
    parser.add_argument("--batch", type=int, help=f"patches per step (fast: {train.batch_size})")
    parser.add_argument("--lr", type=float, help=f"learning rate (fast: {train.lr}, cosine-decayed)")
    parser.add_argument("--minutes", type=float, help="wall-clock budget: the run ends, annealed, after this long (or after --steps)")
    parser.add_argument("--fp32", action="store_true", help="train the flow in fp32 (fast: bf16 autocast; the paper recipe is always fp32)")
    parser.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    parser.set_defaults(run=_train)


def _add_reconstruct(parser: argparse.ArgumentParser) -> None:
    problem = parser.add_mutually_exclusive_group(required=True)
    problem.add_argument("--op", help=f"a bundled task: {', '.join(TASK_NAMES)}")
    problem.add_argument("--operator", metavar="FILE.py:NAME",
                         help="your own forward operator: NAME() in FILE.py returns a differentiable callable x ↦ Ax on "
                              "B×C×H×W tensors, or an object following patchnr.operators.Operator (this runs FILE.py)")
    parser.add_argument("--noise", metavar="MODEL",
                        help="with --operator: gaussian:SIGMA, or poisson:PHOTONS[:MU_MAX] (post-log CT data; "
                             f"MU_MAX default {LODOPAB_MU_MAX})")
    parser.add_argument("--image-shape", metavar="H,W", type=_shape, help="with --operator: the image size, where the operator cannot tell")
    parser.add_argument("--init", metavar="adjoint|zeros|FILE.npy",
                        help="starting image (default: the operator's pseudo-inverse, else its adjoint)")
    parser.add_argument("--observation", type=Path, help="observation (.npy/.png/.tif); omitted with --op: the embedded example")
    parser.add_argument("--ground-truth", type=Path, help="reference image: prints PSNR/SSIM")
    parser.add_argument("--weights", type=Path, help="prior checkpoint (default: the bundled prior of the task, or with "
                                                     "--operator of sr-x4 for Gaussian and ct-lowdose for Poisson noise)")
    parser.add_argument("--out", type=Path, help="reconstruction (.npy, float32); default with the example: patchnr-example-OP.npy")
    parser.add_argument("--png", type=Path, help="comparison figure (.png)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="solver settings (default fast)")
    parser.add_argument("--lam", type=float, help="regularization weight λ, in units of the noise model's negative log-likelihood "
                                                  "(default: the recipe's; with --operator the fast λ of sr-x4 for Gaussian "
                                                  "and of ct-lowdose for Poisson noise)")
    parser.add_argument("--iterations", type=int, help="Adam iterations (default: the recipe's)")
    parser.add_argument("--patches", type=int, help="patches per iteration (default: the recipe's)")
    parser.add_argument("--lr", type=float, help="Adam step size (default: the recipe's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the patch draws and of the simulated noise")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--backend", help="CT ray transform: auto (default), astra_cuda, astra_cpu, sparse")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_problem_options(parser)
    parser.set_defaults(run=_reconstruct)


def _add_problem_options(parser: argparse.ArgumentParser) -> None:
    """The options of single tasks (deblur, inpaint, sr-x4)."""
    parser.add_argument("--kernel", metavar="NAME|FILE.npy", help="deblur: gaussian:SIGMA, motion:LENGTH:ANGLE (degrees) or a "
                                                                  "2-D kernel in a .npy file (normalised); default gaussian:2")
    parser.add_argument("--mask", metavar="FILE.png|FILE.npy", help="inpaint: the image-sized mask, nonzero = known pixel")
    parser.add_argument("--missing", type=float, metavar="FRACTION", help="inpaint: a random mask (seeded) with this fraction of "
                                                                          "unknown pixels (default 0.5 without --mask)")
    parser.add_argument("--degradation", metavar="gaussian|bicubic", help="sr-x4: how the low-resolution image was made: the "
                                                                          "paper's Gaussian blur (default) or an anti-aliased bicubic resize")


def _shape(text: str) -> tuple[int, int]:
    """'H,W' → (H, W), both positive."""
    try:
        height, width = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W (two positive integers), got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"expected H,W (two positive integers), got {text!r}")
    return height, width


def _add_benchmark(parser: argparse.ArgumentParser) -> None:
    from .benchmark import TASK_METHODS

    methods = "; ".join(f"{task}: {','.join(names)}" for task, names in TASK_METHODS.items())
    parser.add_argument("--task", required=True, help=f"one of {', '.join(TASK_METHODS)}")
    parser.add_argument("--images", nargs="+", type=Path, required=True, help="ground-truth images (files or folders)")
    parser.add_argument("--methods", required=True, help=f"comma list ({methods})")
    parser.add_argument("--out", type=Path, required=True, help="results folder (cases.csv, summary.md/csv, figures, config.json)")
    parser.add_argument("--seed", type=int, default=0, help="base seed; each image's noise seed derives from it and the file name")
    parser.add_argument("--scheduler", default="local", help="'local' (in-process Dask threads) or tcp://host:port")
    parser.add_argument("--workers", type=int, default=1, help="cases run at once with --scheduler local")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="patchNR/EPLL solver settings")
    parser.add_argument("--weights", type=Path, help="patchNR prior (default: the task's bundled prior)")
    parser.add_argument("--iterations", type=int, help="override the iterations of tv, epll and patchnr")
    parser.add_argument("--epll-gmm", type=Path, help="GMM file for epll (default: fit-or-load on the task's training images)")
    parser.add_argument("--figures", type=int, default=1, help="figure grids for the first K images (default 1)")
    parser.add_argument("--limit", type=int, help="only the first N images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_benchmark)


def _benchmark(args: argparse.Namespace) -> None:
    from .benchmark import BenchmarkConfig, run_benchmark

    _require_positive(iterations=args.iterations, workers=args.workers, limit=args.limit)
    config = BenchmarkConfig(
        task=args.task, images=args.images, methods=[m.strip() for m in args.methods.split(",") if m.strip()], out=args.out,
        seed=args.seed, scheduler=args.scheduler, workers=args.workers, recipe=args.recipe, weights=args.weights,
        iterations=args.iterations, epll_gmm=args.epll_gmm, figures=args.figures, limit=args.limit, progress=not args.quiet,
    )
    print(f"wrote {run_benchmark(config)}")


def _require_suffix(path: Path | None, suffix: str, option: str) -> None:
    if path is not None and path.suffix.lower() != suffix:
        raise PatchNRError(f"{option} must end in {suffix}, got {path}")


def _require_positive(**values) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            raise PatchNRError(f"--{name.replace('_', '-')} must be positive, got {value}")


def resolve_device(name: str) -> torch.device:
    """``torch.device`` for a --device string; CUDA without a GPU is a user error."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise PatchNRError(f"unknown --device {name!r} (use cpu, cuda or cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PatchNRError("--device cuda requested but no CUDA GPU is available (use --device cpu)")
    if device.type not in ("cpu", "cuda"):
        raise PatchNRError(f"unsupported --device {name!r} (use cpu, cuda or cuda:N)")
    return device


def _train(args: argparse.Namespace) -> None:
    from .checkpoint import load_flow
    from .flow import FlowConfig
    from .io import load_image
    from .train import TrainConfig, train_flow

    _require_suffix(args.out, ".pt", "--out")
    _require_positive(steps=args.steps, batch=args.batch, lr=args.lr, patch_size=args.patch_size, layers=args.layers, width=args.width,
                      checkpoint_every=args.checkpoint_every, minutes=args.minutes)
    base = TrainConfig.paper() if args.recipe == "paper" else TrainConfig()
    overrides = {"steps": args.steps, "batch_size": args.batch, "lr": args.lr, "checkpoint_every": args.checkpoint_every,
                 "max_seconds": 60 * args.minutes if args.minutes else None, "bf16": False if args.fp32 else None}
    config = replace(base, seed=args.seed, **{k: v for k, v in overrides.items() if v is not None})
    images = [torch.from_numpy(load_image(path))[None] for path in args.images]
    validation = torch.from_numpy(load_image(args.validation))[None] if args.validation else None
    width = args.width or (FlowConfig().hidden_width if args.recipe == "paper" else FAST_WIDTH)
    flow_config = FlowConfig(patch_size=args.patch_size, num_layers=args.layers, hidden_width=width)
    for path, image in zip(args.images, images):
        if min(image.shape[1:]) < args.patch_size:
            raise PatchNRError(f"{path}: image {tuple(image.shape[1:])} is smaller than the patch size {args.patch_size}")
    start = time.perf_counter()
    train_flow(images, flow_config, config, validation, checkpoint=args.out, log_csv=args.log or args.out.with_suffix(".csv"), resume=args.resume)
    _, metadata = load_flow(args.out)
    print(f"saved {args.out} ({metadata['step']} steps, {time.perf_counter() - start:.0f} s)")


def _reconstruct(args: argparse.Namespace) -> None:
    from .checkpoint import load_flow
    from .io import load_image
    from .tasks import bundled_file

    _check_reconstruct_options(args)
    device = resolve_device(args.device)
    task = _problem(args, device)
    observation, ground_truth = _observation(args, task, device, load_image)
    recipe = task.recipes[args.recipe].with_overrides(lam=args.lam, iterations=args.iterations, n_patches=args.patches, lr=args.lr)
    y = _as_batch(observation, device)
    flow = _prior_flow(args, task, y, load_flow, bundled_file)
    init = _initial_image(args, task, y)
    start = time.perf_counter()
    result = task.solve(y, flow.to(device), recipe, seed=args.seed, init=init, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    image = result.image[0, 0].cpu().numpy()
    print(f"patchNR ({args.recipe} recipe: λ={recipe.lam:g}, {recipe.iterations} iterations, {recipe.n_patches} patches) took {elapsed:.1f} s")
    _warn_if_mismatched(task, result.image, y)
    _report_and_save(args, task, init[0, 0].cpu().numpy(), image, ground_truth)


def _prior_flow(args: argparse.Namespace, task, observation: torch.Tensor, load_flow, bundled_file):
    """The --weights flow, the task's bundled one, or for a zero-shot task one trained on the observation now."""
    if task.prior_trainer is None:
        flow, _ = load_flow(args.weights or bundled_file(task.prior_file), patch_size=task.patch_size, channels=1)
        return flow
    if args.weights is not None:
        raise PatchNRError(f"--weights does not apply to {task.name}: its prior is trained on the observation")
    start = time.perf_counter()
    flow = task.prior_trainer(observation, not args.quiet)
    print(f"zero-shot prior trained on the observation's 8 rotations/flips in {time.perf_counter() - start:.1f} s")
    return flow


def _warn_if_mismatched(task, image: torch.Tensor, observation: torch.Tensor) -> None:
    """One line on stderr when the solution's data misfit stays far above the noise level."""
    from .mismatch import operator_mismatch

    warning = operator_mismatch(task.measurement, image, observation)
    if warning is not None:
        print(f"patchnr: warning: {warning}", file=sys.stderr)


def _check_reconstruct_options(args: argparse.Namespace) -> None:
    """Option checks that need no file: suffixes, ranges, which options go together."""
    _require_suffix(args.out, ".npy", "--out")
    _require_suffix(args.png, ".png", "--png")
    _require_positive(iterations=args.iterations, patches=args.patches, lr=args.lr)
    if args.lam is not None and (args.lam < 0 or not np.isfinite(args.lam)):
        raise PatchNRError(f"--lam must be a finite non-negative number, got {args.lam}")
    if args.operator is not None:
        for flag, value in (("--noise", args.noise), ("--observation", args.observation), ("--out", args.out)):
            if value is None:
                raise PatchNRError(f"{flag} is required with --operator")
        return
    if args.op not in TASK_NAMES:
        raise PatchNRError(f"unknown --op {args.op!r} (choose from {', '.join(TASK_NAMES)})")
    for flag, value in (("--noise", args.noise), ("--image-shape", args.image_shape)):
        if value is not None:
            raise PatchNRError(f"{flag} goes with --operator, not with --op")
    if args.observation is None and args.out is None:
        args.out = Path(f"patchnr-example-{args.op}.npy")
        args.png = args.png or args.out.with_suffix(".png")
    if args.out is None:
        raise PatchNRError("--out is required with --observation")


def _problem(args: argparse.Namespace, device: torch.device):
    """The task of --op, or the user's problem of --operator/--noise as a task."""
    from .tasks import get_task
    from .tasks.custom import build_operator, custom_task, load_factory

    if args.operator is None:
        return get_task(args.op, device=device, backend=args.backend, **_task_options(args))
    if args.backend is not None:
        raise PatchNRError("--backend applies to the CT tasks (--op ct-lowdose, ct-limited) only")
    if _task_options(args):
        raise PatchNRError(f"{', '.join('--' + name for name in _task_options(args))}: an option of --op tasks, not of --operator")
    noise = parse_noise(args.noise)
    operator = build_operator(load_factory(args.operator), args.image_shape)
    return custom_task(operator.to(device), noise)


def _task_options(args: argparse.Namespace) -> dict:
    """The single tasks' options that were given (``_add_problem_options``)."""
    given = {"kernel": args.kernel, "mask": args.mask, "missing": args.missing, "degradation": args.degradation}
    return {name: value for name, value in given.items() if value is not None}


def parse_noise(spec: str):
    """'gaussian:SIGMA' or 'poisson:PHOTONS[:MU_MAX]' → the noise model."""
    from .noise import GaussianNoise, PoissonNoise

    kind, _, rest = spec.partition(":")
    try:
        values = [float(part) for part in rest.split(":")] if rest else []
        if kind == "gaussian" and len(values) == 1:
            return GaussianNoise(values[0])
        if kind == "poisson" and len(values) in (1, 2):
            return PoissonNoise(*values)
    except ValueError as error:
        raise PatchNRError(f"--noise {spec!r}: {error}") from None
    raise PatchNRError(f"--noise must be gaussian:SIGMA or poisson:PHOTONS[:MU_MAX], got {spec!r}")


def _observation(args: argparse.Namespace, task, device: torch.device, load_image) -> tuple[np.ndarray, np.ndarray | None]:
    """(observation, ground truth or None) as 2-D arrays: loaded and checked, or the embedded example simulated."""
    from .tasks import bundled_file
    from .tasks.custom import check_operator_fits

    if args.observation is None:
        ground_truth = load_image(args.ground_truth or bundled_file(task.example_file))
        observation = task.simulate(_as_batch(ground_truth, device), args.seed)[0, 0].cpu().numpy()
        print(f"embedded example: {args.op} on the bundled {task.example_file} (simulated observation, seed {args.seed})")
        return observation, ground_truth
    observation, note = task.prepare_observation(load_image(args.observation))
    if note:
        print(f"patchnr: {note}", file=sys.stderr)
    if args.operator is not None:
        check_operator_fits(task.operator, observation.shape)
    task.check_observation(observation)
    ground_truth = load_image(args.ground_truth) if args.ground_truth else None
    if ground_truth is not None:
        task.check_ground_truth(ground_truth, observation.shape)
    return observation, ground_truth


def _initial_image(args: argparse.Namespace, task, observation: torch.Tensor) -> torch.Tensor:
    """The starting image of --init: the task's initialisation, the adjoint, zeros, or a file."""
    from .io import load_image

    if args.init is None:
        return task.initialise(observation)
    shape = task.image_shape(tuple(observation.shape[-2:]))
    if args.init == "adjoint":
        with torch.no_grad():
            return task.operator.adjoint(observation)
    if args.init == "zeros":
        return observation.new_zeros(1, 1, *shape)
    image = load_image(Path(args.init))
    if tuple(image.shape) != tuple(shape):
        raise PatchNRError(f"--init {args.init}: shape {image.shape} is not the image shape {tuple(shape)}")
    return _as_batch(image, observation.device)


def _as_batch(image: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None].to(device)


BASELINE_LABELS = {"fbp": "FBP", "wiener": "Wiener"}


def _report_and_save(args, task, init: np.ndarray, image: np.ndarray, ground_truth: np.ndarray | None) -> None:
    from .figures import comparison_figure
    from .io import save_array
    from .metrics import psnr, ssim

    baseline = BASELINE_LABELS.get(task.baseline, task.baseline)
    if ground_truth is not None:
        for name, result in ((baseline, init), ("patchNR", image)):
            print(f"{name:>8}: PSNR {psnr(result, ground_truth):6.2f} dB  SSIM {ssim(result, ground_truth):.4f}")
    save_array(args.out, image)
    print(f"wrote {args.out}")
    if args.png is not None:
        comparison_figure(args.png, {baseline: init, "patchNR": image}, ground_truth, title=args.op or task.name)
        print(f"wrote {args.png}")


FLAGS = {"image_shape": "--image-shape", "operator": "--operator", "lam": "--lam", "noise": "--noise", "backend": "--backend",
         "kernel": "--kernel", "mask": "--mask", "missing": "--missing", "degradation": "--degradation"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except ParameterError as error:
        print(f"patchnr: error: {FLAGS.get(error.parameter, error.parameter)}: {error.message}", file=sys.stderr)
        return 2
    except PatchNRError as error:
        print(f"patchnr: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("patchnr: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
