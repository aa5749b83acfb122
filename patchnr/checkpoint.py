"""Self-describing flow checkpoints, loadable with ``torch.load(..., weights_only=True)``.

A file holds ``{'format': 'patchnr-flow', 'format_version': 1, 'config': FlowConfig as a dict,
'state_dict': tensors, 'metadata': plain values}``. Files of the reference code
(``{'net_state_dict': ...}`` from a FrEIA ``ReversibleGraphNet``) load too; their architecture is
read off the tensor shapes.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import warnings
import zipfile
from pathlib import Path

import torch

from .errors import CheckpointError
from .flow import FlowConfig, PatchFlow
from .io import atomic_path

FORMAT = "patchnr-flow"
FORMAT_VERSION = 1


def save_flow(path: str | os.PathLike, flow: PatchFlow, metadata: dict | None = None, **extra) -> None:
    """Write ``flow`` (and optional plain ``metadata``/``extra`` entries, e.g. optimizer state) atomically."""
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": flow.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in flow.state_dict().items()},
        "metadata": metadata or {},
        **extra,
    }
    with atomic_path(path) as temporary:
        torch.save(payload, temporary)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint's raw dict safely; every failure becomes a one-line ``CheckpointError``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such weights file")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols; we report one line
            warnings.simplefilter("ignore")
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"{path}: refused: the file holds pickled objects, not plain tensors") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({reason})") from None
    if not isinstance(payload, dict):
        raise CheckpointError(f"{path}: not a patchnr checkpoint (top level is {type(payload).__name__})")
    return payload


def load_flow(
    path: str | os.PathLike, patch_size: int | None = None, channels: int | None = None
) -> tuple[PatchFlow, dict]:
    """Build the flow stored in ``path``; return it (in eval mode) with its metadata.

    ``patch_size``/``channels``, when given, must match the file's architecture.
    """
    payload = read_checkpoint(path)
    if "net_state_dict" in payload:
        config, state = _reference_config(payload["net_state_dict"], path), _reference_state(payload["net_state_dict"])
        metadata = {"source": "reference patchNR code"}
    elif payload.get("format") == FORMAT:
        if payload.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path}: unsupported format version {payload.get('format_version')}")
        try:
            config = FlowConfig(**payload["config"])
        except TypeError as error:
            raise CheckpointError(f"{path}: bad architecture record ({error})") from None
        state, metadata = payload["state_dict"], payload.get("metadata", {})
    else:
        raise CheckpointError(f"{path}: not a patchnr checkpoint (no 'format' or 'net_state_dict' entry)")
    _check_expected(path, config, patch_size, channels)
    flow = PatchFlow(config)
    try:
        flow.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not fit the stored architecture ({str(error).splitlines()[0]})") from None
    return flow.eval(), metadata


def _check_expected(path, config: FlowConfig, patch_size: int | None, channels: int | None) -> None:
    if patch_size is not None and config.patch_size != patch_size:
        raise CheckpointError(f"{path}: weights are for {config.patch_size}×{config.patch_size} patches, expected {patch_size}×{patch_size}")
    if channels is not None and config.channels != channels:
        raise CheckpointError(f"{path}: weights are for {config.channels} channel(s), expected {channels}")


_REFERENCE_KEY = re.compile(r"module_list\.(\d+)\.(.+)")


def _reference_state(state: dict) -> dict:
    """Map FrEIA ReversibleGraphNet keys (``module_list.i.*``) to ``layers.i.*``."""
    mapped = {}
    for key, value in state.items():
        match = _REFERENCE_KEY.fullmatch(key)
        mapped[f"layers.{match.group(1)}.{match.group(2)}" if match else key] = value
    return mapped


def _reference_config(state: dict, path) -> FlowConfig:
    try:
        dimension = state["module_list.1.perm"].numel()
        width = state["module_list.0.subnet1.0.weight"].shape[0]
    except (KeyError, AttributeError):
        raise CheckpointError(f"{path}: 'net_state_dict' is not a patchNR GLOW flow") from None
    num_layers = sum(1 for key in state if key.endswith(".perm"))
    patch_size = math.isqrt(dimension)
    if patch_size**2 != dimension:
        raise CheckpointError(f"{path}: patch dimension {dimension} is not a square (multi-channel reference weights are not supported)")
    return FlowConfig(patch_size=patch_size, channels=1, num_layers=num_layers, hidden_width=width, clamp=1.6)


def export_flow(source: str | os.PathLike, destination: str | os.PathLike, **metadata) -> None:
    """Copy a training checkpoint without optimizer/RNG state (a slim file to ship), adding ``metadata``."""
    flow, stored = load_flow(source)
    save_flow(destination, flow, {**stored, **metadata})
