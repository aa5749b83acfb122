"""``patchnr benchmark``: baselines and patchNR on simulated observations of test images (Dask cases)."""

from __future__ import annotations

import argparse
from pathlib import Path

from patchnr.cli.arguments import non_negative_int, positive_int, seed


def add_benchmark(parser: argparse.ArgumentParser) -> None:
    from patchnr.benchmark.methods import methods_help
    from patchnr.tasks import TASK_NAMES

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
    parser.add_argument("--epll-gmm", type=Path, help="GMM file for epll (default: the task's bundled mixture)")
    parser.add_argument("--figures", type=non_negative_int, default=1, help="figure grids for the first K images")
    parser.add_argument("--limit", type=positive_int, help="only the first N images")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run_benchmark)


def run_benchmark(args: argparse.Namespace) -> None:
    from patchnr.benchmark import BenchmarkConfig, run_benchmark as run

    config = BenchmarkConfig(
        task=args.task, images=args.images, methods=[m.strip() for m in args.methods.split(",") if m.strip()], out=args.out,
        seed=args.seed, scheduler=args.scheduler, workers=args.workers, recipe=args.recipe, weights=args.weights,
        iterations=args.iterations, epll_gmm=args.epll_gmm, figures=args.figures, limit=args.limit, progress=not args.quiet,
    )
    print(f"wrote {run(config)}")
