"""Reading images and writing outputs atomically (nothing partial is ever left behind)."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import PatchNRError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """A 2-D float32 image from PNG, TIFF or NPY.

    Integer images are scaled by their dtype's maximum to [0, 1]; float images are kept as they
    are. Raises ``PatchNRError`` for a missing or unreadable file, a non-2-D array or NaN/Inf.
    """
    path = Path(path)
    if not path.is_file():
        raise PatchNRError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise PatchNRError(f"{path}: unsupported format '{suffix}' (use {', '.join(IMAGE_SUFFIXES)})")
    try:
        array = _read(path, suffix)
    except Exception as error:  # any decoder failure is a corrupt or unreadable file
        raise PatchNRError(f"{path}: cannot read image ({type(error).__name__}: {error})") from None
    if array.ndim != 2:
        raise PatchNRError(f"{path}: expected a 2-D grayscale image, got shape {array.shape}")
    if np.issubdtype(array.dtype, np.integer):
        array = array.astype(np.float32) / np.iinfo(array.dtype).max
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
    else:
        raise PatchNRError(f"{path}: unsupported dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise PatchNRError(f"{path}: image contains NaN or Inf")
    return array


def _read(path: Path, suffix: str) -> np.ndarray:
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix in (".tif", ".tiff"):
        import tifffile

        return tifffile.imread(path)
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp makes 0600; use the usual mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_array(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save a float32 array as .npy, atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.save(handle, np.asarray(array, dtype=np.float32))
