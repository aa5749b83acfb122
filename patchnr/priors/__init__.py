"""Priors: nn.Modules mapping images B×C×H×W to one value per image, shape (B,).

- ``PatchPrior(density, sampler)``: the mean negative log-likelihood of an image's patches under
  any patch density; ``PatchNR`` (the flow) and ``EPLL`` (a Gaussian mixture) are two densities.
- ``TotalVariation``: smoothed isotropic TV.
"""

from patchnr.priors.flow_density import FlowDensity, PatchNR
from patchnr.priors.gmm import EPLL, GaussianMixtureDensity
from patchnr.priors.patch_prior import PatchPrior, PatchSampler
from patchnr.priors.tv import TotalVariation

__all__ = ["EPLL", "FlowDensity", "GaussianMixtureDensity", "PatchNR", "PatchPrior", "PatchSampler", "TotalVariation"]
