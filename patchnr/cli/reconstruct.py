"""``patchnr reconstruct``: parse, one ``patchnr.solve`` call, write the outputs and report."""

from __future__ import annotations

import argparse
import sys
import warnings
from functools import partial
from pathlib import Path

from patchnr.cli.arguments import require_suffix
from patchnr.cli.problem import TASK_OPTIONS, add_problem_options, check_problem_options, input_files, solve_arguments, task_options
from patchnr.errors import PatchNRError
from patchnr.io.images import load_image, save_array
from patchnr.io.outputs import check_outputs, write_all
from patchnr.optim.callbacks import ProgressBar
from patchnr.pipeline import PatchNRWarning, SolveResult, simulate_example, solve
from patchnr.tasks import get_task

BASELINE_LABELS = {"fbp": "FBP", "wiener": "Wiener"}


def add_reconstruct(parser: argparse.ArgumentParser) -> None:
    add_problem_options(parser)
    parser.add_argument("--out", type=Path, help="reconstruction (.npy, float32); default with the example: patchnr-example-OP.npy")
    parser.add_argument("--png", type=Path, help="comparison figure (.png)")
    parser.set_defaults(run=run_reconstruct)


def run_reconstruct(args: argparse.Namespace) -> None:
    if args.op is not None and args.observation is None and args.out is None:
        args.out = Path(f"patchnr-example-{args.op}.npy")
        args.png = args.png or args.out.with_suffix(".png")
    if args.out is None and args.operator is None:
        raise PatchNRError("--out is required with --observation")
    check_problem_options(args)
    require_suffix(args.out, ".npy", "--out")
    require_suffix(args.png, ".png", "--png")
    check_outputs({"--out": args.out, "--png": args.png}, input_files(args))
    result, ground_truth = map_estimate(args)
    report_and_save(args, result, ground_truth)


def map_estimate(args: argparse.Namespace) -> tuple[SolveResult, object]:
    """The reconstruction of the parsed problem (the embedded example's simulated observation without
    --observation), with its ground truth or None; prints what was done."""
    arguments = solve_arguments(args)
    if args.observation is None:
        task = get_task(args.op, device=args.device, **task_options(args))
        arguments = {name: value for name, value in arguments.items() if name not in TASK_OPTIONS}
        truth = load_image(args.ground_truth) if args.ground_truth else None
        observation, ground_truth = simulate_example(task, truth, args.seed, args.device, args.noise_std, args.photons)
        arguments["task"] = task
        print(f"embedded example: {args.op} on the bundled {task.example_file} (simulated observation, seed {args.seed})")
    else:
        observation = load_image(args.observation, role="observation")
        ground_truth = load_image(args.ground_truth) if args.ground_truth else None
    callbacks = [] if args.quiet else [ProgressBar()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PatchNRWarning)  # printed below as one line each
        result = solve(observation, ground_truth=ground_truth, callbacks=callbacks, **arguments)
    report_solve(args, result)
    return result, ground_truth


def report_solve(args: argparse.Namespace, result: SolveResult) -> None:
    """The solve's λ search, settings and time on stdout; its notes and warnings on stderr."""
    for note in result.notes:
        print(f"patchnr: {note}", file=sys.stderr)
    if result.tau is not None:
        steps = ", ".join(f"λ={lam:.4g}: {misfit:.3f}" for lam, misfit in result.lam_trials[0])
        print(f"--lam auto: misfit per measurement along the search (target τ={result.tau:.3g}): {steps}")
        print(f"--lam auto: chose λ={result.lam:.4g}, final misfit/m = {result.misfit:.4f}")
    recipe = result.recipe
    print(f"patchNR ({args.recipe} recipe: λ={recipe.lam:g}, {recipe.iterations} iterations, {recipe.n_patches} patches) "
          f"took {result.seconds:.1f} s")
    for warning in result.warnings:
        print(f"patchnr: warning: {warning}", file=sys.stderr)


def report_and_save(args: argparse.Namespace, result: SolveResult, ground_truth) -> None:
    from patchnr.io.figures import comparison_figure
    from patchnr.metrics import quality_summary

    task = result.setups[0].task
    baseline = BASELINE_LABELS.get(task.baseline, task.baseline)
    if ground_truth is not None:
        for name, image in ((baseline, result.init), ("patchNR", result.image)):
            print(f"{name:>8}: {quality_summary(image, ground_truth)}")
    writers = {args.out: partial(save_array, array=result.image)}
    if args.png is not None:
        writers[args.png] = partial(comparison_figure, images={baseline: result.init, "patchNR": result.image},
                                    ground_truth=ground_truth, title=args.op or task.name)
    write_all(writers)
    for path in writers:
        print(f"wrote {path.resolve()}")
