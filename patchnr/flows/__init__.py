"""Flows: the patch flow (patch → latent, with its log-determinant), its checkpoints and its training."""

from patchnr.flows.checkpoint import load_flow, save_flow
from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.flows.train import TrainConfig, train_flow
from patchnr.flows.zero_shot import train_on_observation

__all__ = ["FlowConfig", "PatchFlow", "TrainConfig", "load_flow", "save_flow", "train_flow", "train_on_observation"]
