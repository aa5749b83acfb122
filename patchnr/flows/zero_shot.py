"""Zero-shot priors: a patch flow trained on the low-resolution observation itself.

The reference trains on the patches of the observation and of its 4 rotations × 2 flips, 10 000
Adam steps of 128 patches at lr 1e-4. ``ZERO_SHOT_TRAINING`` is the fast recipe of the bundled
priors scaled to one small image: a 256-wide flow, 2 000 steps of 512 patches (about as many
patches as the reference's 1.28 M), lr 2e-3 cosine-decayed, bf16 autocast on the CPU.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.flows.train import FAST_WIDTH, TrainConfig, train_flow

ZERO_SHOT_FLOW = FlowConfig(patch_size=6, channels=1, hidden_width=FAST_WIDTH)
ZERO_SHOT_TRAINING = TrainConfig(steps=2000, batch_size=512, lr=2e-3, lr_schedule="cosine", bf16=True)


def dihedral_views(image: torch.Tensor) -> list[torch.Tensor]:
    """The 8 views of a C×H×W image under the 4 rotations by 90°, each with and without a flip."""
    rotations = [torch.rot90(image, turns, dims=(-2, -1)) for turns in range(4)]
    return rotations + [view.flip(-1) for view in rotations]


def train_on_observation(observation: torch.Tensor, steps: int | None = None, seed: int = 0, progress: bool = True,
                         flow_config: FlowConfig = ZERO_SHOT_FLOW) -> PatchFlow:
    """A flow fitted to the patches of a 1×C×h×w observation's 8 dihedral views (values in [0, 1]).

    ``steps`` overrides ``ZERO_SHOT_TRAINING.steps``; training runs on the CPU-side copy's device
    (the observation's), deterministic for ``seed``.
    """
    views = dihedral_views(observation[0].detach().float().cpu())
    config = replace(ZERO_SHOT_TRAINING, seed=seed, steps=steps or ZERO_SHOT_TRAINING.steps, validate_every=10**9,
                     checkpoint_every=10**9)
    return train_flow(views, flow_config, config, progress=progress)


__all__ = ["ZERO_SHOT_FLOW", "ZERO_SHOT_TRAINING", "dihedral_views", "train_on_observation"]
