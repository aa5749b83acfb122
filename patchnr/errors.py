"""Errors that reach the user as a one-line message (the CLI maps them to exit code 2)."""


class PatchNRError(Exception):
    """A user-facing error: bad input, a missing or corrupt file, mismatched weights."""


class CheckpointError(PatchNRError):
    """A weights file that is missing, truncated, unsafe or incompatible."""


class DivergenceError(PatchNRError):
    """The solver produced a non-finite objective or image."""
