"""The patch flow T⁻¹: patch → latent, with log|det J|.

Small invertible modules in the style of FrEIA: each takes ``x`` of shape (N, D) and a ``rev``
flag and returns ``(y, log_jac_det)`` with ``log_jac_det`` of shape (N,). The reference
architecture (Altekrüger et al. 2023) is the default: 5 GLOW couplings (soft clamp 1.6), each
followed by a fixed random permutation with seed k+1, subnets 512 wide, 6×6 patches, one channel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

_ATAN_SCALE = 0.636  # FrEIA's ATAN soft clamp: clamp · 0.636 · atan(s), |·| < clamp


@dataclass(frozen=True)
class FlowConfig:
    """Architecture hyperparameters; stored inside every checkpoint."""

    patch_size: int = 6
    channels: int = 1
    num_layers: int = 5
    hidden_width: int = 512
    clamp: float = 1.6

    @staticmethod
    def paper() -> "FlowConfig":
        return FlowConfig(hidden_width=512)

    @property
    def dimension(self) -> int:
        return self.channels * self.patch_size**2

    def to_dict(self) -> dict:
        return asdict(self)


def _subnet(d_in: int, d_out: int, width: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, d_out)
    )


class GlowCoupling(nn.Module):
    """GLOW affine coupling: both halves are transformed in turn (FrEIA ``GLOWCouplingBlock``)."""

    def __init__(self, dimension: int, width: int, clamp: float):
        super().__init__()
        self.len1 = dimension // 2
        self.len2 = dimension - self.len1
        self.clamp = clamp
        self.subnet1 = _subnet(self.len1, 2 * self.len2, width)  # conditions half 2 on half 1
        self.subnet2 = _subnet(self.len2, 2 * self.len1, width)  # conditions half 1 on half 2

    def _scale_shift(self, subnet: nn.Module, u: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = subnet(u)
        return self.clamp * _ATAN_SCALE * torch.atan(a[:, :n]), a[:, n:]

    def forward(self, x: torch.Tensor, rev: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        x1, x2 = x[:, : self.len1], x[:, self.len1 :]
        if not rev:
            s2, t2 = self._scale_shift(self.subnet2, x2, self.len1)
            y1 = torch.exp(s2) * x1 + t2
            s1, t1 = self._scale_shift(self.subnet1, y1, self.len2)
            y2 = torch.exp(s1) * x2 + t1
            return torch.cat([y1, y2], 1), s1.sum(1) + s2.sum(1)
        s1, t1 = self._scale_shift(self.subnet1, x1, self.len2)
        y2 = (x2 - t1) * torch.exp(-s1)
        s2, t2 = self._scale_shift(self.subnet2, y2, self.len1)
        y1 = (x1 - t2) * torch.exp(-s2)
        return torch.cat([y1, y2], 1), -(s1.sum(1) + s2.sum(1))


class FixedPermutation(nn.Module):
    """A fixed random permutation of the D coordinates, drawn like FrEIA's ``PermuteRandom(seed)``."""

    def __init__(self, dimension: int, seed: int):
        super().__init__()
        perm = torch.from_numpy(np.random.RandomState(seed).permutation(dimension))
        self.register_buffer("perm", perm)
        self.register_buffer("perm_inv", torch.argsort(perm))

    def forward(self, x: torch.Tensor, rev: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        index = self.perm_inv if rev else self.perm
        return x[:, index], x.new_zeros(x.shape[0])


class PatchFlow(nn.Module):
    """Invertible map between flattened patches (N, C·s·s) and latents (N, C·s·s).

    ``flow(x)`` maps patches to latents and ``flow(z, rev=True)`` maps back; both return
    ``(output, log|det J|)`` of the direction taken, the log-determinant of shape (N,).
    """

    def __init__(self, config: FlowConfig | None = None):
        super().__init__()
        self.config = config or FlowConfig()
        d = self.config.dimension
        layers: list[nn.Module] = []
        for k in range(self.config.num_layers):
            layers.append(GlowCoupling(d, self.config.hidden_width, self.config.clamp))
            layers.append(FixedPermutation(d, seed=k + 1))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, rev: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 2 or x.shape[1] != self.config.dimension:
            raise ValueError(f"expected patches of shape (N, {self.config.dimension}), got {tuple(x.shape)}")
        log_det = x.new_zeros(x.shape[0])
        for layer in reversed(self.layers) if rev else self.layers:
            x, layer_log_det = layer(x, rev=rev)
            log_det = log_det + layer_log_det
        return x, log_det

    def nll(self, patches: torch.Tensor) -> torch.Tensor:
        """Per-patch negative log-likelihood ½‖T⁻¹(p)‖² − log|det ∇T⁻¹(p)| (no constant), shape (N,)."""
        z, log_det = self(patches)
        return 0.5 * z.pow(2).sum(1) - log_det
