"""Samplers: posterior samples of an ``Objective`` (its exp(−J)), for uncertainty maps."""

from patchnr.sampling.langevin import LangevinSettings, PosteriorSamples, langevin, step_size

__all__ = ["LangevinSettings", "PosteriorSamples", "langevin", "step_size"]
