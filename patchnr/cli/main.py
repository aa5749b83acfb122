"""Command line: ``patchnr train``, ``patchnr reconstruct``, ``patchnr sample``, ``patchnr benchmark``, ``patchnr ct-slice``.

A thin layer over the Python API. User errors print one line on stderr and exit with code 2;
outputs are written only after success, atomically.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from patchnr import __version__
from patchnr.cli.arguments import AUTO, image_shape, lam_or_auto, non_negative_float, non_negative_int, positive_float, positive_int, seed
from patchnr.errors import ParameterError, PatchNRError
from patchnr.physics.noise import LODOPAB_MU_MAX
from patchnr.tasks import TASK_NAMES
from patchnr.flows.train import FAST_WIDTH


class _DefaultsFormatter(argparse.HelpFormatter):
    """Appends '(default: X)' to an option's help where X says something (not None or False) and the
    help does not state its default already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        silent = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if silent or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps; help shows the defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="patchnr", description="Patch normalizing-flow regularization for imaging inverse problems.")
    parser.add_argument("--version", action="version", version=f"patchnr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(commands.add_parser("train", help="train a patch flow prior on a few clean images"))
    _add_reconstruct(commands.add_parser("reconstruct", help="reconstruct an image from an observation"))
    _add_sample(commands.add_parser("sample", conflict_handler="resolve",
                                    help="posterior samples (Langevin): mean, std and 90 % interval maps"))
    _add_benchmark(commands.add_parser("benchmark", help="score baselines and patchNR on simulated observations of test images"))
    _add_ct_slice(commands.add_parser("ct-slice", help="a native 512² CT slice (DICOM or HU .npy) → a LoDoPaB ground truth, as LoDoPaB-CT made them"))
    return parser


def _add_train(parser: argparse.ArgumentParser) -> None:
    from patchnr.flows.flow import FlowConfig
    from patchnr.flows.train import TrainConfig

    flow, train = FlowConfig(), TrainConfig()
    parser.add_argument("images", nargs="+", type=Path, help="training images (PNG/TIFF/NPY, 2-D, values in [0, 1])")
    parser.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt); also the periodic checkpoint")
    parser.add_argument("--validation", type=Path, help="held-out image: its patch NLL is logged")
    parser.add_argument("--log", type=Path, help="CSV of step, train NLL, validation NLL (default: OUT with .csv)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="fast, or the paper's 750k-step recipe")
    parser.add_argument("--patch-size", type=positive_int, default=flow.patch_size, help="patch side in pixels")
    parser.add_argument("--layers", type=positive_int, default=flow.num_layers, help="GLOW coupling layers of the flow")
    parser.add_argument("--width", type=positive_int, help=f"subnet width (fast: {FAST_WIDTH}, paper: {flow.hidden_width})")
    parser.add_argument("--steps", type=positive_int, help=f"Adam steps (fast: {train.steps})")
    parser.add_argument("--batch", type=positive_int, help=f"patches per step (fast: {train.batch_size})")
    parser.add_argument("--lr", type=positive_float, help=f"learning rate (fast: {train.lr}, cosine-decayed)")
    parser.add_argument("--minutes", type=positive_float, help="wall-clock budget: the run ends, annealed, after this long (or after --steps)")
    parser.add_argument("--fp32", action="store_true", help="train the flow in fp32 (fast: bf16 autocast; the paper recipe is always fp32)")
    parser.add_argument("--checkpoint-every", type=positive_int, help=f"steps between checkpoints (fast: {train.checkpoint_every})")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the patch draws and the initial weights")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the checkpoint at --out: its step and its training time carry on, so the lr schedule and a --minutes budget continue where it stopped")
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
    parser.add_argument("--image-shape", metavar="H,W", type=image_shape, help="with --operator: the image size, where the operator cannot tell")
    parser.add_argument("--init", metavar="adjoint|zeros|FILE.npy",
                        help="starting image (default: the operator's pseudo-inverse, else its adjoint)")
    parser.add_argument("--observation", type=Path, help="observation (.npy/.png/.tif); omitted with --op: the embedded example")
    parser.add_argument("--ground-truth", type=Path, help="reference image: prints PSNR/SSIM")
    parser.add_argument("--weights", type=Path, help="prior checkpoint (default: the bundled prior of the task, or with "
                                                     "--operator of sr-x4 for Gaussian and ct-lowdose for Poisson noise)")
    parser.add_argument("--out", type=Path, help="reconstruction (.npy, float32); default with the example: patchnr-example-OP.npy")
    parser.add_argument("--png", type=Path, help="comparison figure (.png)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="solver settings")
    parser.add_argument("--lam", type=lam_or_auto, help="regularization weight λ, in units of the noise model's negative "
                                                        "log-likelihood (default: the recipe's; with --operator the fast λ of "
                                                        "sr-x4 for Gaussian and of ct-lowdose for Poisson noise), or 'auto': "
                                                        "the discrepancy principle")
    _add_noise_level(parser)
    parser.add_argument("--iterations", type=positive_int, help="solver iterations (default: the recipe's)")
    parser.add_argument("--patches", type=positive_int, help="patches per iteration (default: the recipe's)")
    parser.add_argument("--lr", type=positive_float, help="Adam step size (default: the recipe's)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the patch draws and of the simulated noise")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--backend", help="CT ray transform (CT tasks only): auto (the default), astra_cuda, astra_cpu, sparse")
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


def _add_benchmark(parser: argparse.ArgumentParser) -> None:
    from patchnr.benchmark.methods import methods_help

    parser.add_argument("--task", required=True, help=f"one of {', '.join(TASK_NAMES)}")
    parser.add_argument("--images", nargs="+", type=Path, required=True, help="ground-truth images (files or folders)")
    parser.add_argument("--methods", required=True, help=f"comma list ({methods_help()})")
    parser.add_argument("--out", type=Path, required=True, help="results folder (cases.csv, summary.md/csv, figures, config.json)")
    parser.add_argument("--seed", type=seed, default=0, help="base seed; each image's noise seed derives from it and the file name")
    parser.add_argument("--scheduler", default="local", help="'local' (in-process Dask threads) or tcp://host:port")
    parser.add_argument("--workers", type=positive_int, default=1, help="cases run at once with --scheduler local")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="patchNR/EPLL solver settings")
    parser.add_argument("--weights", type=Path, help="patchNR prior (default: the task's bundled prior)")
    parser.add_argument("--iterations", type=positive_int, help="override the iterations of tv, epll and patchnr")
    parser.add_argument("--epll-gmm", type=Path, help="GMM file for epll (default: fit-or-load on the task's training images)")
    parser.add_argument("--figures", type=non_negative_int, default=1, help="figure grids for the first K images")
    parser.add_argument("--limit", type=positive_int, help="only the first N images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_benchmark)


def _benchmark(args: argparse.Namespace) -> None:
    from patchnr.benchmark import BenchmarkConfig, run_benchmark

    config = BenchmarkConfig(
        task=args.task, images=args.images, methods=[m.strip() for m in args.methods.split(",") if m.strip()], out=args.out,
        seed=args.seed, scheduler=args.scheduler, workers=args.workers, recipe=args.recipe, weights=args.weights,
        iterations=args.iterations, epll_gmm=args.epll_gmm, figures=args.figures, limit=args.limit, progress=not args.quiet,
    )
    print(f"wrote {run_benchmark(config)}")


def _add_ct_slice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slice", type=Path, help="a 512×512 DICOM slice, or a .npy array of Hounsfield units")
    parser.add_argument("--out", type=Path, required=True, help="the 362×362 ground truth in μ/μ_max (.npy, float32)")
    parser.add_argument("--observation", type=Path,
                        help="also simulate LoDoPaB's low-dose observation of it (.npy, 1000×513 sinogram for --op ct-lowdose)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the U(0, 1) HU dequantisation noise and of the Poisson counts")
    parser.set_defaults(run=_ct_slice)


def _ct_slice(args: argparse.Namespace) -> None:
    from patchnr.operators.ct.lodopab import lodopab_slice, read_native_slice, simulate_lodopab
    from patchnr.io.images import save_array
    from patchnr.operators.ct.ray_transform import lodopab_geometry
    from patchnr.io.outputs import check_outputs, write_all

    _require_suffix(args.out, ".npy", "--out")
    _require_suffix(args.observation, ".npy", "--observation")
    check_outputs({"--out": args.out, "--observation": args.observation}, {"slice": args.slice})
    image = lodopab_slice(read_native_slice(args.slice), args.seed)
    writers = {args.out: partial(save_array, array=image)}
    if args.observation is not None:
        sinogram = simulate_lodopab(torch.from_numpy(image)[None, None], lodopab_geometry(), args.seed)[0, 0].numpy()
        writers[args.observation] = partial(save_array, array=sinogram)
    write_all(writers)
    for path in writers:
        print(f"wrote {path.resolve()}")


def _require_suffix(path: Path | None, suffix: str, option: str) -> None:
    if path is not None and path.suffix.lower() != suffix:
        raise PatchNRError(f"{option} must end in {suffix}, got {path}")


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
    from patchnr.flows.checkpoint import load_flow
    from patchnr.flows.flow import FlowConfig
    from patchnr.io.images import load_image
    from patchnr.io.outputs import check_outputs
    from patchnr.flows.train import TrainConfig, train_flow

    _require_suffix(args.out, ".pt", "--out")
    log = args.log or args.out.with_suffix(".csv")
    inputs = {f"training image {path}": path for path in args.images} | {"--validation": args.validation}
    check_outputs({"--out": args.out, "--log": log}, inputs)
    base = TrainConfig.paper() if args.recipe == "paper" else TrainConfig()
    overrides = {"steps": args.steps, "batch_size": args.batch, "lr": args.lr, "checkpoint_every": args.checkpoint_every,
                 "max_seconds": 60 * args.minutes if args.minutes else None, "bf16": False if args.fp32 else None}
    config = replace(base, seed=args.seed, **{k: v for k, v in overrides.items() if v is not None})
    images = [torch.from_numpy(load_image(path))[None] for path in args.images]
    validation = torch.from_numpy(load_image(args.validation))[None] if args.validation else None
    width = args.width or (FlowConfig().hidden_width if args.recipe == "paper" else FAST_WIDTH)
    flow_config = FlowConfig(patch_size=args.patch_size, num_layers=args.layers, hidden_width=width)
    named = list(zip(args.images, images)) + ([(args.validation, validation)] if validation is not None else [])
    for path, image in named:
        if min(image.shape[1:]) < args.patch_size:
            raise PatchNRError(f"{path}: image {tuple(image.shape[1:])} is smaller than the patch size {args.patch_size}")
    start = time.perf_counter()
    train_flow(images, flow_config, config, validation, checkpoint=args.out, log_csv=log, resume=args.resume)
    _, metadata = load_flow(args.out)
    print(f"saved {args.out} ({metadata['step']} steps, {time.perf_counter() - start:.0f} s)")


def _reconstruct(args: argparse.Namespace) -> None:
    _require_suffix(args.out, ".npy", "--out")
    problem = _map_estimate(args)
    image = problem.result.image[0, 0].cpu().numpy()
    _report_and_save(args, problem.task, problem.init[0, 0].cpu().numpy(), image, problem.ground_truth)


def _map_estimate(args: argparse.Namespace) -> argparse.Namespace:
    """Checks, loads and solves what ``reconstruct`` (and ``sample``, for its start) needs: the task
    (at the stated or estimated noise level), observation y, ground truth, flow, recipe, init, result."""
    from patchnr.flows.checkpoint import load_flow
    from patchnr.io.images import load_image
    from patchnr.tasks import bundled_file

    _check_reconstruct_options(args)
    if args.tau is not None and args.lam != AUTO:
        raise PatchNRError("--tau goes with --lam auto")
    device = resolve_device(args.device)
    task = _with_stated_noise(args, _problem(args, device))
    observation, ground_truth = _observation(args, task, device, load_image)
    task = _with_estimated_noise(args, task, observation)
    lam = None if args.lam == AUTO else args.lam
    recipe = task.recipes[args.recipe].with_overrides(lam=lam, iterations=args.iterations, n_patches=args.patches, lr=args.lr)
    y = _as_batch(observation, device)
    flow = _prior_flow(args, task, y, load_flow, bundled_file)
    init = _initial_image(args, task, y)
    start = time.perf_counter()
    result, recipe = _solve(args, task, y, flow.to(device), recipe, init)
    elapsed = time.perf_counter() - start
    print(f"patchNR ({args.recipe} recipe: λ={recipe.lam:g}, {recipe.iterations} iterations, {recipe.n_patches} patches) took {elapsed:.1f} s")
    _warn_if_mismatched(task, result.image, y)
    return argparse.Namespace(task=task, y=y, ground_truth=ground_truth, flow=flow.to(device), recipe=recipe, init=init, result=result)


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
    from patchnr.physics.mismatch import operator_mismatch

    warning = operator_mismatch(task.measurement, image, observation)
    if warning is not None:
        print(f"patchnr: warning: {warning}", file=sys.stderr)


def _check_reconstruct_options(args: argparse.Namespace) -> None:
    """Option checks that need no heavy work: suffixes, which options go together, output locations."""
    from patchnr.io.outputs import check_outputs

    _require_suffix(args.png, ".png", "--png")
    if args.operator is not None:
        for flag, value in (("--noise", args.noise), ("--observation", args.observation), ("--out", args.out)):
            if value is None:
                raise PatchNRError(f"{flag} is required with --operator")
    else:
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
    init_file = Path(args.init) if args.init not in (None, "adjoint", "zeros") else None
    operator_file = Path(args.operator.rpartition(":")[0]) if args.operator else None
    check_outputs(_output_files(args),
                  {"--observation": args.observation, "--ground-truth": args.ground_truth, "--weights": args.weights,
                   "--init": init_file, "--operator": operator_file})


def _output_files(args: argparse.Namespace) -> dict:
    """The files a run will write: reconstruct's --out and --png, or the files of sample's --out folder."""
    if args.command != "sample":
        return {"--out": args.out, "--png": args.png}
    from patchnr.io.posterior import check_posterior_folder, posterior_files

    check_posterior_folder(args.out)
    return {f"--out file {path.name}": path for path in posterior_files(args.out)}


def _problem(args: argparse.Namespace, device: torch.device):
    """The task of --op, or the user's problem of --operator/--noise as a task."""
    from patchnr.tasks import get_task
    from patchnr.tasks.custom import build_operator, custom_task, load_factory

    if args.operator is None:
        return get_task(args.op, device=device, backend=args.backend, **_task_options(args))
    if args.backend is not None:
        raise PatchNRError("--backend applies to the CT tasks (--op ct-lowdose, ct-limited), not to --operator")
    if _task_options(args):
        raise PatchNRError(f"{', '.join('--' + name for name in _task_options(args))}: an option of --op tasks, not of --operator")
    noise = parse_noise(UNSTATED_GAUSSIAN if args.noise == "gaussian" else args.noise)
    operator = build_operator(load_factory(args.operator), args.image_shape)
    return custom_task(operator.to(device), noise)


def _task_options(args: argparse.Namespace) -> dict:
    """The single tasks' options that were given (``_add_problem_options``)."""
    given = {"kernel": args.kernel, "mask": args.mask, "missing": args.missing, "degradation": args.degradation}
    return {name: value for name, value in given.items() if value is not None}


def parse_noise(spec: str):
    """'gaussian:SIGMA' or 'poisson:PHOTONS[:MU_MAX]' → the noise model."""
    from patchnr.physics.noise import GaussianNoise, PoissonNoise

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
    from patchnr.tasks import bundled_file
    from patchnr.tasks.custom import check_operator_fits

    if args.observation is None:
        ground_truth = load_image(args.ground_truth or bundled_file(task.example_file))
        task.check_image(ground_truth, "--ground-truth")
        observation = task.simulate(_as_batch(ground_truth, device), args.seed)[0, 0].cpu().numpy()
        print(f"embedded example: {args.op} on the bundled {task.example_file} (simulated observation, seed {args.seed})")
        return observation, ground_truth
    observation, note = task.prepare_observation(load_image(args.observation, role="observation"))
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
    from patchnr.io.images import load_image

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
UNSTATED_GAUSSIAN = "gaussian:1"  # --noise gaussian without σ: a placeholder until σ is estimated from the observation


def _add_noise_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--noise-std", type=positive_float, metavar="SIGMA",
                        help="Gaussian noise σ of the observation (its units): simulation and data term use it (sr-x4, "
                             "--noise gaussian); with --lam auto and none stated, σ is estimated from the observation")
    parser.add_argument("--photons", type=positive_float, metavar="N",
                        help="photons per detector bin of Poisson (CT) data: simulation and data term use it")
    parser.add_argument("--tau", type=positive_float, help="with --lam auto: the target misfit per measurement "
                                                         "(the discrepancy principle's safety factor; default for Gaussian noise: "
                                                         "0.45–1.1, growing with σ / std of the observation; 1 for Poisson counts)")


def _with_stated_noise(args: argparse.Namespace, task):
    """The task at the noise level of --noise-std / --photons (unchanged when neither is given)."""
    from patchnr.physics.noise_level import restated_noise
    from patchnr.tasks.noise_level import with_noise

    if args.noise_std is None and args.photons is None:
        return task
    try:
        return with_noise(task, restated_noise(task.measurement.noise, args.noise_std, args.photons))
    except ValueError as error:
        raise PatchNRError(f"{'--noise-std' if args.noise_std is not None else '--photons'}: {error}") from None


def _with_estimated_noise(args: argparse.Namespace, task, observation: np.ndarray):
    """The task with Gaussian σ estimated from the observation, where σ matters and nobody stated it:
    with --lam auto, or with --operator and a bare --noise gaussian."""
    from patchnr.physics.noise import GaussianNoise
    from patchnr.physics.noise_level import estimate_gaussian_sigma
    from patchnr.tasks.noise_level import with_noise

    unstated = args.noise == "gaussian" if args.operator is not None else args.lam == AUTO
    if args.noise_std is not None or not unstated or not isinstance(task.measurement.noise, GaussianNoise):
        return task
    sigma = estimate_gaussian_sigma(observation)
    if not sigma > 0:
        raise PatchNRError("cannot estimate the noise level: the observation's finest wavelet coefficients are all zero; give --noise-std")
    print(f"noise σ estimated from the observation (MAD of its finest diagonal wavelet coefficients): {sigma:.4g}")
    return with_noise(task, GaussianNoise(sigma))


def _solve(args: argparse.Namespace, task, y: torch.Tensor, flow, recipe, init: torch.Tensor):
    """(reconstruction, the recipe used): at the recipe's λ, or with --lam auto at the λ of the discrepancy principle."""
    from patchnr.optim.lambda_search import search_task_lambda
    from patchnr.priors import FlowDensity
    from patchnr.optim import Reconstruction

    if args.lam != AUTO:
        return task.solve(y, flow, recipe, seed=args.seed, init=init, progress=not args.quiet), recipe
    density = FlowDensity(flow, recipe.bf16)
    search = search_task_lambda(task, y, density, recipe, init, args.tau, args.seed, progress=not args.quiet)
    steps = ", ".join(f"λ={lam:.4g}: {misfit:.3f}" for lam, misfit in search.trials)
    print(f"--lam auto: misfit per measurement along the search (target τ={search.target:.3g}): {steps}")
    print(f"--lam auto: chose λ={search.lam:.4g}, final misfit/m = {search.misfit:.4f}")
    return Reconstruction(image=search.image), recipe.with_overrides(lam=search.lam)


def _report_and_save(args, task, init: np.ndarray, image: np.ndarray, ground_truth: np.ndarray | None) -> None:
    from patchnr.io.figures import comparison_figure
    from patchnr.io.images import save_array
    from patchnr.metrics import quality_summary
    from patchnr.io.outputs import write_all

    baseline = BASELINE_LABELS.get(task.baseline, task.baseline)
    if ground_truth is not None:
        for name, result in ((baseline, init), ("patchNR", image)):
            print(f"{name:>8}: {quality_summary(result, ground_truth)}")
    writers = {args.out: partial(save_array, array=image)}
    if args.png is not None:
        writers[args.png] = partial(comparison_figure, images={baseline: init, "patchNR": image},
                                    ground_truth=ground_truth, title=args.op or task.name)
    write_all(writers)
    for path in writers:
        print(f"wrote {path.resolve()}")


def _add_sample(parser: argparse.ArgumentParser) -> None:
    from patchnr.sampling import LangevinSettings

    defaults = LangevinSettings()
    _add_reconstruct(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder to write: mean.npy, std.npy, q05.npy, q95.npy (float32, "
                                                                "the image's shape) and figure.png (replaced whole)")
    parser.add_argument("--png", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=positive_int, default=defaults.samples, help=f"samples kept over all chains (default {defaults.samples})")
    parser.add_argument("--chains", type=positive_int, default=defaults.chains, help=f"chains run as one batch (default {defaults.chains})")
    parser.add_argument("--burn-in", type=non_negative_int, default=defaults.burn_in, help=f"Langevin steps discarded first (default {defaults.burn_in})")
    parser.add_argument("--thin", type=positive_int, default=defaults.thin, help=f"steps between kept samples (default {defaults.thin})")
    parser.add_argument("--step", type=positive_float, help="Langevin step δ (default: --step-fraction / the Lipschitz estimate of ∇J)")
    parser.add_argument("--step-fraction", type=positive_float, default=defaults.step_fraction,
                        help=f"δ times the Lipschitz estimate of ∇J (default {defaults.step_fraction})")
    parser.add_argument("--sample-patches", type=non_negative_int, default=SAMPLE_PATCHES,
                        help=f"patches per chain and step of the prior's gradient (default {SAMPLE_PATCHES}; 0: all)")
    parser.set_defaults(run=_sample)


SAMPLE_PATCHES = 4000


def _sample(args: argparse.Namespace) -> None:
    from patchnr.sampling.calibration import calibration
    from patchnr.optim.objective import Objective
    from patchnr.io.posterior import write_posterior
    from patchnr.priors import FlowDensity, PatchPrior, PatchSampler
    from patchnr.sampling import LangevinSettings, langevin

    if args.png is not None:
        raise PatchNRError("--png goes with reconstruct; sample writes OUT/figure.png")
    try:
        settings = LangevinSettings(chains=args.chains, samples=args.samples, burn_in=args.burn_in, thin=args.thin,
                                    step_fraction=args.step_fraction, step=args.step)
    except ValueError as error:
        raise PatchNRError(str(error)) from None
    problem = _map_estimate(args)
    generator = torch.Generator(device=problem.y.device).manual_seed(args.seed)
    sampler = PatchSampler(problem.task.patch_size, args.sample_patches or None, problem.recipe.padding, True, generator)
    prior = PatchPrior(FlowDensity(problem.flow, problem.recipe.bf16), sampler)
    objective = Objective(problem.task.measurement, problem.y, prior, problem.recipe.lam)
    posterior = langevin(objective, problem.result.image, settings, args.seed, progress=not args.quiet)
    print(f"Langevin: {settings.chains} chains × {settings.steps} steps (burn-in {settings.burn_in}, thin {settings.thin}), "
          f"δ={posterior.step:.3g}, {len(posterior.samples)} samples, {posterior.seconds:.1f} s; "
          f"std of the later half / the earlier half of the samples: {posterior.spread_ratio():.3f}")
    summary = {name: value[0] for name, value in posterior.summary().items()}
    title = f"{args.op or problem.task.name}: {len(posterior.samples)} samples, λ={problem.recipe.lam:.4g}"
    if problem.ground_truth is not None:
        scores = calibration(summary, problem.ground_truth)
        print(f"90 % interval coverage {scores['coverage_90']:.3f}, Spearman(std, |error|) {scores['spearman_std_error']:.3f}, "
              f"mean std {scores['mean_std']:.4g}, RMSE of the mean {scores['rmse']:.4g}")
        title += f", coverage {scores['coverage_90']:.2f}, Spearman {scores['spearman_std_error']:.2f}"
    print(f"wrote {write_posterior(args.out, summary, problem.ground_truth, title)}")


FLAGS = {name: "--" + name.replace("_", "-") for name in ("image_shape", "operator", "lam", "noise", "backend", "out", "resume",
                                                        "scheduler", "workers", "kernel", "mask", "missing", "degradation")}


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit code (argparse's errors, --help and --version included)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
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
