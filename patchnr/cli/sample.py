"""``patchnr sample``: posterior samples (Langevin) → mean, std and 90 % interval maps in a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from patchnr.cli.arguments import non_negative_int, positive_float, positive_int
from patchnr.cli.problem import check_problem_options, input_files
from patchnr.cli.reconstruct import add_reconstruct, map_estimate
from patchnr.errors import PatchNRError
from patchnr.io.outputs import check_outputs
from patchnr.pipeline.posterior import SAMPLE_PATCHES, langevin_settings, sample_around
from patchnr.sampling import LangevinSettings


def add_sample(parser: argparse.ArgumentParser) -> None:
    defaults = LangevinSettings()
    add_reconstruct(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder to write: mean.npy, std.npy, q05.npy, q95.npy (float32, "
                                                                "the image's shape) and figure.png (replaced whole)")
    parser.add_argument("--png", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=positive_int, default=defaults.samples, help="samples kept over all chains")
    parser.add_argument("--chains", type=positive_int, default=defaults.chains, help="chains run as one batch")
    parser.add_argument("--burn-in", type=non_negative_int, default=defaults.burn_in, help="Langevin steps discarded first")
    parser.add_argument("--thin", type=positive_int, default=defaults.thin, help="steps between kept samples")
    parser.add_argument("--step", type=positive_float, help="Langevin step δ (default: --step-fraction / the Lipschitz estimate of ∇J)")
    parser.add_argument("--step-fraction", type=positive_float, default=defaults.step_fraction,
                        help="δ times the Lipschitz estimate of ∇J")
    parser.add_argument("--sample-patches", type=non_negative_int, default=SAMPLE_PATCHES,
                        help="patches per chain and step of the prior's gradient (0: all)")
    parser.set_defaults(run=run_sample)


def run_sample(args: argparse.Namespace) -> None:
    from patchnr.io.posterior import check_posterior_folder, posterior_files, write_posterior
    from patchnr.sampling.calibration import calibration

    if args.png is not None:
        raise PatchNRError("--png goes with reconstruct; sample writes OUT/figure.png")
    check_problem_options(args)
    settings = langevin_settings(args.samples, args.chains, args.burn_in, args.thin, args.step, args.step_fraction)
    check_posterior_folder(args.out)
    check_outputs({f"--out file {path.name}": path for path in posterior_files(args.out)}, input_files(args))
    estimate, ground_truth = map_estimate(args)
    posterior = sample_around(estimate, settings, args.sample_patches or None, args.seed, progress=not args.quiet)
    print(f"Langevin: {settings.chains} chains × {settings.steps} steps (burn-in {settings.burn_in}, thin {settings.thin}), δ={posterior.step:.3g}, "
          f"{len(posterior.samples)} samples, {posterior.seconds:.1f} s; "
          f"std of the later half / the earlier half of the samples: {posterior.spread_ratio:.3f}")
    summary = {name: getattr(posterior, name) for name in ("mean", "std", "q05", "q95")}
    title = f"{args.op or estimate.setups[0].task.name}: {len(posterior.samples)} samples, λ={estimate.lam:.4g}"
    if ground_truth is not None:
        scores = calibration(summary, ground_truth)
        print(f"90 % interval coverage {scores['coverage_90']:.3f}, Spearman(std, |error|) {scores['spearman_std_error']:.3f}, "
              f"mean std {scores['mean_std']:.4g}, RMSE of the mean {scores['rmse']:.4g}")
        title += f", coverage {scores['coverage_90']:.2f}, Spearman {scores['spearman_std_error']:.2f}"
    print(f"wrote {write_posterior(args.out, summary, ground_truth, title)}")
