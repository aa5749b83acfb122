"""The Python API: one call per capability.

``solve`` (a reconstruction, λ fixed or from the data, a task's or a user's operator, a stored or
zero-shot prior), ``sample`` (posterior samples and uncertainty maps) and ``simulate_example`` (a
task's embedded example).
"""

from patchnr.pipeline.example import simulate_example
from patchnr.pipeline.results import PosteriorResult, SolveResult
from patchnr.pipeline.posterior import sample
from patchnr.pipeline.map_estimate import PatchNRWarning, solve

__all__ = ["PatchNRWarning", "PosteriorResult", "SolveResult", "sample", "simulate_example", "solve"]
