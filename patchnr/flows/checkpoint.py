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

from patchnr.errors import CheckpointError
from patchnr.flows.flow import FlowConfig, PatchFlow
from patchnr.io.images import atomic_path

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
        if not zipfile.is_zipfile(path):
            raise CheckpointError(f"{path}: not a torch checkpoint ({_file_kind(path)})") from None
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
        reference = _tensor_dict(payload["net_state_dict"], path, "'net_state_dict'")
        config, state = _reference_config(reference, path), _reference_state(reference)
        metadata = {"source": "reference patchNR code"}
    elif payload.get("format") == FORMAT:
        if payload.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path}: unsupported format version {payload.get('format_version')}")
        config = _flow_config(payload.get("config"), path)
        state = _tensor_dict(payload.get("state_dict"), path, "'state_dict'")
        metadata = payload.get("metadata", {})
        if not isinstance(metadata, dict):
            raise CheckpointError(f"{path}: 'metadata' is a {type(metadata).__name__}, not a dict")
    else:
        raise CheckpointError(f"{path}: not a patchnr checkpoint (no 'format' or 'net_state_dict' entry)")
    _check_expected(path, config, patch_size, channels)
    _check_state_shapes(path, config, state)
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


def _file_kind(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(6)
    if head == b"\x93NUMPY":
        return "it is a NumPy .npy array; save flows with patchnr.save_flow"
    return "not the zip file torch.save writes"


MAX_PATCH_DIMENSION = 4096  # channels · patch_size²: a permutation of this many entries is built per layer
_POSITIVE_INT_FIELDS = ("patch_size", "channels", "num_layers", "hidden_width")


def _flow_config(record, path) -> FlowConfig:
    """The ``FlowConfig`` of a checkpoint's 'config' record: known fields, positive integers, finite clamp."""
    if not isinstance(record, dict) or set(record) - set(FlowConfig.__dataclass_fields__):
        raise CheckpointError(f"{path}: bad architecture record {record!r:.80}")
    for name in _POSITIVE_INT_FIELDS:
        value = record.get(name, 1)
        if type(value) is not int or value < 1:
            raise CheckpointError(f"{path}: bad architecture record: {name} must be a positive integer, got {value!r:.40}")
    clamp = record.get("clamp", 1.0)
    if type(clamp) not in (int, float) or not math.isfinite(clamp) or clamp <= 0:
        raise CheckpointError(f"{path}: bad architecture record: clamp must be a positive number, got {clamp!r:.40}")
    config = FlowConfig(**record)
    if config.dimension > MAX_PATCH_DIMENSION:
        raise CheckpointError(f"{path}: bad architecture record: patch dimension {config.dimension} exceeds {MAX_PATCH_DIMENSION}")
    return config


def _tensor_dict(state, path, name: str) -> dict:
    """``state`` if it is a dict of string keys to tensors, else a one-line ``CheckpointError``."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: {name} is a {type(state).__name__}, not a dict of tensors")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: {name} entry {key!r:.40} is a {type(value).__name__}, not a tensor")
    return state


def _check_state_shapes(path, config: FlowConfig, state: dict) -> None:
    """Compare the stored tensors with the architecture's (built on the meta device: nothing allocated)."""
    with torch.device("meta"):
        expected = {key: tuple(value.shape) for key, value in PatchFlow(config).state_dict().items()}
    stored = {key: tuple(value.shape) for key, value in state.items()}
    if stored != expected:
        wrong = sorted(set(stored) ^ set(expected)) or sorted(k for k in stored if stored[k] != expected[k])
        raise CheckpointError(f"{path}: weights do not fit the stored architecture (first mismatch: {wrong[0]})")


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
    except (KeyError, AttributeError, IndexError):
        raise CheckpointError(f"{path}: 'net_state_dict' is not a patchNR GLOW flow") from None
    num_layers = sum(1 for key in state if key.endswith(".perm"))
    patch_size = math.isqrt(dimension)
    if patch_size**2 != dimension:
        raise CheckpointError(f"{path}: patch dimension {dimension} is not a square (multi-channel reference weights are not supported)")
    return _flow_config(dict(patch_size=patch_size, channels=1, num_layers=num_layers, hidden_width=int(width), clamp=1.6), path)


def export_flow(source: str | os.PathLike, destination: str | os.PathLike, **metadata) -> None:
    """Copy a training checkpoint without optimizer/RNG state (a slim file to ship), adding ``metadata``."""
    flow, stored = load_flow(source)
    save_flow(destination, flow, {**stored, **metadata})
