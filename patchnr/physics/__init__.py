"""Physics: noise models, the measurement (operator and noise), the noise level and the mismatch check.

The operators themselves are ``patchnr.operators`` (the repository's top-level ``operators/`` folder).
"""

from patchnr.physics.known_pixels import KnownPixelsMeasurement
from patchnr.physics.measurement import Measurement
from patchnr.physics.mismatch import operator_mismatch
from patchnr.physics.noise import GaussianNoise, PoissonNoise
from patchnr.physics.noise_level import estimate_gaussian_sigma, restated_noise

__all__ = ["GaussianNoise", "KnownPixelsMeasurement", "Measurement", "PoissonNoise", "estimate_gaussian_sigma",
           "operator_mismatch", "restated_noise"]
