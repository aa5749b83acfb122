"""Errors that reach the user as a one-line message (the CLI maps them to exit code 2)."""


class PatchNRError(Exception):
    """A user-facing error: bad input, a missing or corrupt file, mismatched weights."""


class CheckpointError(PatchNRError):
    """A weights file that is missing, truncated, unsafe or incompatible."""


class DivergenceError(PatchNRError):
    """The solver produced a non-finite objective or image."""


class ParameterError(PatchNRError):
    """A bad value of a named parameter (``parameter``: the library's name, e.g. 'image_shape');
    the CLI shows it as its flag."""

    def __init__(self, parameter: str, message: str):
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
