"""The options that state a problem (shared by ``reconstruct`` and ``sample``) and their translation
into ``patchnr.solve``'s arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from patchnr.cli.arguments import AUTO, image_shape, lam_or_auto, positive_float, positive_int, seed
from patchnr.errors import PatchNRError
from patchnr.io.images import load_image
from patchnr.physics.noise import LODOPAB_MU_MAX
from patchnr.tasks import TASK_NAMES

TASK_OPTIONS = ("kernel", "mask", "missing", "degradation", "backend")


def add_problem_options(parser: argparse.ArgumentParser) -> None:
    """The problem (--op or --operator), its data, prior and solver settings."""
    problem = parser.add_mutually_exclusive_group(required=True)
    problem.add_argument("--op", help=f"a bundled task: {', '.join(TASK_NAMES)}")
    problem.add_argument("--operator", metavar="FILE.py:NAME",
                         help="your own forward operator: NAME() in FILE.py returns a differentiable callable x ↦ Ax on "
                              "B×C×H×W tensors, or an object following patchnr.operators.Operator (this runs FILE.py)")
    parser.add_argument("--noise", metavar="MODEL", help="with --operator: gaussian:SIGMA (a bare gaussian: σ estimated from the "
                                                         f"observation), or poisson:PHOTONS[:MU_MAX] (post-log CT data; MU_MAX default {LODOPAB_MU_MAX})")
    parser.add_argument("--image-shape", metavar="H,W", type=image_shape, help="with --operator: the image size, where the operator cannot tell")
    parser.add_argument("--init", metavar="adjoint|zeros|FILE.npy", help="starting image (default: the operator's pseudo-inverse, else its adjoint)")
    parser.add_argument("--observation", type=Path, help="observation (.npy/.png/.tif); omitted with --op: the embedded example")
    parser.add_argument("--ground-truth", type=Path, help="reference image: prints PSNR/SSIM")
    parser.add_argument("--weights", type=Path, help="prior checkpoint (default: the bundled prior of the task, or with "
                                                     "--operator of sr-x4 for Gaussian and ct-lowdose for Poisson noise)")
    parser.add_argument("--recipe", choices=("fast", "paper"), default="fast", help="solver settings")
    parser.add_argument("--lam", type=lam_or_auto, help="regularization weight λ, in units of the noise model's negative log-likelihood "
                                                        "(default: the recipe's; with --operator the fast λ of sr-x4 for Gaussian and of "
                                                        "ct-lowdose for Poisson noise), or 'auto': the discrepancy principle")
    parser.add_argument("--noise-std", type=positive_float, metavar="SIGMA",
                        help="Gaussian noise σ of the observation (its units): simulation and data term use it (sr-x4, --noise gaussian); "
                             "with --lam auto and none stated, σ is estimated from the observation")
    parser.add_argument("--photons", type=positive_float, metavar="N",
                        help="photons per detector bin of Poisson (CT) data: simulation and data term use it")
    parser.add_argument("--tau", type=positive_float, help="with --lam auto: the target misfit per measurement (default for Gaussian "
                                                         "noise: 0.45–1.1, growing with σ / std of the observation; 1 for Poisson counts)")
    parser.add_argument("--iterations", type=positive_int, help="solver iterations (default: the recipe's)")
    parser.add_argument("--patches", type=positive_int, help="patches per iteration (default: the recipe's)")
    parser.add_argument("--lr", type=positive_float, help="the solver's step size (default: the recipe's)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the patch draws and of the simulated noise")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--backend", help="CT ray transform (CT tasks only): auto (the default), astra_cuda, astra_cpu, sparse")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--kernel", metavar="NAME|FILE.npy", help="deblur: gaussian:SIGMA, motion:LENGTH:ANGLE (degrees) or a 2-D kernel "
                                                                  "in a .npy file (normalised); default gaussian:2")
    parser.add_argument("--mask", metavar="FILE.png|FILE.npy", help="inpaint: the image-sized mask, nonzero = known pixel")
    parser.add_argument("--missing", type=float, metavar="FRACTION", help="inpaint: a random mask (seeded) with this fraction of unknown "
                                                                          "pixels (default 0.5 without --mask)")
    parser.add_argument("--degradation", metavar="gaussian|bicubic", help="sr-x4: how the low-resolution image was made: the paper's "
                                                                          "Gaussian blur (default) or an anti-aliased bicubic resize")


def check_problem_options(args: argparse.Namespace) -> None:
    """Which options go together; cheap, before any work."""
    required = ("--noise", "--observation", "--out") if args.operator is not None else ()
    for flag in required:
        if getattr(args, flag[2:]) is None:
            raise PatchNRError(f"{flag} is required with --operator")
    if args.operator is None:
        if args.op not in TASK_NAMES:
            raise PatchNRError(f"unknown --op {args.op!r} (choose from {', '.join(TASK_NAMES)})")
        for flag in ("--noise", "--image-shape"):
            if getattr(args, flag[2:].replace("-", "_")) is not None:
                raise PatchNRError(f"{flag} goes with --operator, not with --op")
    elif args.backend is not None:
        raise PatchNRError("--backend applies to the CT tasks (--op ct-lowdose, ct-limited), not to --operator")
    if args.tau is not None and args.lam != AUTO:
        raise PatchNRError("--tau goes with --lam auto")


def input_files(args: argparse.Namespace) -> dict:
    """The files a run reads (for the output checks): option → path or None."""
    init = Path(args.init) if args.init not in (None, "adjoint", "zeros") else None
    operator = Path(args.operator.rpartition(":")[0]) if args.operator else None
    return {"--observation": args.observation, "--ground-truth": args.ground_truth, "--weights": args.weights, "--init": init,
            "--operator": operator}


def task_options(args: argparse.Namespace) -> dict:
    """The bundled tasks' options that were given (``TASK_OPTIONS``)."""
    return {name: getattr(args, name) for name in TASK_OPTIONS if getattr(args, name) is not None}


def solve_arguments(args: argparse.Namespace) -> dict:
    """``patchnr.solve``'s keyword arguments for the parsed options (the observation apart)."""
    from patchnr.tasks.custom import build_operator, load_factory

    init = args.init if args.init in (None, "adjoint", "zeros") else load_image(Path(args.init))
    operator = build_operator(load_factory(args.operator), args.image_shape) if args.operator else None
    return {"task": args.op, "operator": operator, "noise": args.noise,
            "prior": args.weights, "image_shape": args.image_shape, "lam": args.lam, "recipe": args.recipe, "init": init,
            "device": args.device, "noise_std": args.noise_std, "photons": args.photons, "tau": args.tau,
            "iterations": args.iterations, "n_patches": args.patches, "lr": args.lr, "seed": args.seed, **task_options(args)}
