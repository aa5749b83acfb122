"""``patchnr``: the parser of every subcommand and the error handling around them.

User errors print one line on stderr and exit with code 2; outputs are written only after success,
atomically. Each subcommand is one module of this package.
"""

from __future__ import annotations

import argparse
import sys

from patchnr import __version__
from patchnr.cli.arguments import Parser
from patchnr.cli.benchmark import add_benchmark
from patchnr.cli.ct_slice import add_ct_slice
from patchnr.cli.reconstruct import add_reconstruct
from patchnr.cli.sample import add_sample
from patchnr.cli.train import add_train
from patchnr.errors import ParameterError, PatchNRError

SUBCOMMANDS = {
    "train": (add_train, "train a patch flow prior on a few clean images", {}),
    "reconstruct": (add_reconstruct, "reconstruct an image from an observation", {}),
    "sample": (add_sample, "posterior samples (Langevin): mean, std and 90%% interval maps", {"conflict_handler": "resolve"}),
    "benchmark": (add_benchmark, "score baselines and patchNR on simulated observations of test images", {}),
    "ct-slice": (add_ct_slice, "a native 512² CT slice (DICOM or HU .npy) → a LoDoPaB ground truth, as LoDoPaB-CT made them", {}),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="patchnr", description="Patch normalizing-flow regularization for imaging inverse problems.")
    parser.add_argument("--version", action="version", version=f"patchnr {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (add, summary, options) in SUBCOMMANDS.items():
        add(commands.add_parser(name, help=summary, description=summary.replace("%%", "%"), **options))
    return parser


def flag(parameter: str) -> str:
    """The option of a library parameter name: image_shape → --image-shape."""
    return {"prior": "--weights", "n_patches": "--patches", "task": "--op"}.get(parameter, "--" + parameter.replace("_", "-"))


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit code (argparse's errors, --help and --version included)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        args.run(args)
    except ParameterError as error:
        print(f"patchnr: error: {flag(error.parameter)}: {error.message}", file=sys.stderr)
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
