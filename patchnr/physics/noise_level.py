"""The noise level of an observation: stated by the user, or estimated from the data.

``estimate_gaussian_sigma`` is Donoho's robust estimator: the median absolute deviation of the
finest diagonal Haar wavelet coefficients (``pywt.dwt2(y, 'db1')``), divided by 0.6745 (the MAD of a
standard normal). Image structure barely reaches those coefficients, white noise fills them.
``restated_noise`` gives a noise model of the same kind at another level.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from patchnr.physics.noise import GaussianNoise, PoissonNoise

MAD_OF_STANDARD_NORMAL = 0.6745


def estimate_gaussian_sigma(observation: np.ndarray) -> float:
    """σ of additive white Gaussian noise in a 2-D observation (its units), from its finest diagonal
    wavelet coefficients; an observation of fewer than 2×2 values raises ``ValueError``."""
    import pywt

    observation = np.asarray(observation, dtype=np.float64)
    if observation.ndim != 2 or min(observation.shape) < 2:
        raise ValueError(f"estimating σ needs a 2-D observation of at least 2×2 values, got shape {observation.shape}")
    _, (_, _, diagonal) = pywt.dwt2(observation, "db1")
    return float(np.median(np.abs(diagonal)) / MAD_OF_STANDARD_NORMAL)


def restated_noise(noise: nn.Module, sigma: float | None = None, photons: float | None = None) -> nn.Module:
    """``noise`` at the stated level: a ``GaussianNoise(sigma)`` for Gaussian noise, a
    ``PoissonNoise(photons, mu_max)`` (same μ_max) for Poisson noise; ``noise`` itself when nothing is
    stated. A level of the other kind (σ for Poisson noise, photons for Gaussian) raises ``ValueError``."""
    if isinstance(noise, GaussianNoise):
        if photons is not None:
            raise ValueError("a photon count states Poisson noise, but this problem's noise is Gaussian (state σ instead)")
        return GaussianNoise(sigma) if sigma is not None else noise
    if isinstance(noise, PoissonNoise):
        if sigma is not None:
            raise ValueError("σ states Gaussian noise, but this problem's noise is Poisson (state the photon count instead)")
        return PoissonNoise(photons, noise.mu_max) if photons is not None else noise
    raise ValueError(f"cannot restate the level of a {type(noise).__name__}")


def parse_noise(spec: str) -> nn.Module | None:
    """A noise model from its text: 'gaussian:SIGMA', 'poisson:PHOTONS' or 'poisson:PHOTONS:MU_MAX';
    a bare 'gaussian' (σ unstated, to be estimated from the observation) gives ``None``.
    Anything else raises ``ValueError``."""
    kind, _, rest = spec.partition(":")
    if kind == "gaussian" and not rest:
        return None
    try:
        values = [float(part) for part in rest.split(":")] if rest else []
    except ValueError as error:
        raise ValueError(f"{spec!r}: {error}") from None
    if kind == "gaussian" and len(values) == 1:
        return GaussianNoise(values[0])
    if kind == "poisson" and len(values) in (1, 2):
        return PoissonNoise(*values)
    raise ValueError(f"expected gaussian[:SIGMA] or poisson:PHOTONS[:MU_MAX], got {spec!r}")
