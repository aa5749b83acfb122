"""Samplers: posterior samples of an ``Objective`` (its exp(−J)), for uncertainty maps."""

from .langevin import LangevinSettings, PosteriorSamples, langevin, step_size

__all__ = ["LangevinSettings", "PosteriorSamples", "langevin", "step_size"]
