"""argparse ``type=`` functions: a value out of range is refused at parsing, with one line.

Each raises ``argparse.ArgumentTypeError``, which argparse reports as
``patchnr <command>: error: argument --x: <message>`` (exit code 2).
"""

from __future__ import annotations

import argparse
import math

MAX_SEED = 2**32 - 1  # NumPy's legacy seeding, torch.manual_seed and the derived case seeds all accept it
MAX_COUNT = 2**31 - 1  # steps, iterations, patches, widths: beyond int32 nothing fits in memory or time


def _number(text: str, kind: type) -> float | int:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, budgets)."""
    value = _number(text, float)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number ≥ 0 (regularization weights)."""
    value = _number(text, float)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text!r}")
    return value


def _integer_in(text: str, low: int, high: int, what: str) -> int:
    """``text`` as an integer in [low, high]; else one line naming ``what`` was expected."""
    value = _number(text, int)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what} from {low} to {high}, got {text!r}")
    return value


AUTO = "auto"


def lam_or_auto(text: str) -> float | str:
    """--lam: a finite number ≥ 0, or 'auto' (chosen from the data)."""
    return AUTO if text == AUTO else non_negative_float(text)


def positive_int(text: str) -> int:
    """An integer in [1, 2³¹ − 1] (counts and sizes)."""
    return _integer_in(text, 1, MAX_COUNT, "an integer")


def non_negative_int(text: str) -> int:
    """An integer in [0, 2³¹ − 1] (e.g. a number of figures)."""
    return _integer_in(text, 0, MAX_COUNT, "an integer")


def seed(text: str) -> int:
    """A random seed in [0, 2³² − 1]."""
    return _integer_in(text, 0, MAX_SEED, "a seed")


def image_shape(text: str) -> tuple[int, int]:
    """'H,W' → (H, W), two integers in [1, 2³¹ − 1]."""
    try:
        height, width = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W (two positive integers), got {text!r}") from None
    if not (1 <= height <= MAX_COUNT and 1 <= width <= MAX_COUNT):
        raise argparse.ArgumentTypeError(f"expected H,W (two positive integers), got {text!r}")
    return height, width


class DefaultsFormatter(argparse.HelpFormatter):
    """Appends '(default: X)' to an option's help where X says something (not None or False) and the
    help does not state its default already."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        silent = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if silent or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps; help shows the defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def require_suffix(path, suffix: str, option: str) -> None:
    """A ``PatchNRError`` unless ``path`` (when given) ends in ``suffix``."""
    from patchnr.errors import PatchNRError

    if path is not None and path.suffix.lower() != suffix:
        raise PatchNRError(f"{option} must end in {suffix}, got {path}")
