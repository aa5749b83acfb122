"""Reading images and writing outputs atomically (nothing partial is ever left behind)."""

from __future__ import annotations

import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np

from patchnr.errors import PatchNRError

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


CLEAN_RANGE = (-0.5, 1.5)  # values a clean image (documented range [0, 1]) may take: beyond them it was misread or mis-scaled
ROLES = ("image", "observation")


def load_image(path: str | os.PathLike, role: str = "image") -> np.ndarray:
    """A 2-D float32 image (H, W) from PNG, TIFF or NPY.

    Conversion: 8-bit PNG/TIFF are divided by 255 and 16-bit ones by 65535 (their bit depth);
    1-bit images become 0/1; palette PNGs are converted to grey luminance; float data are kept as
    they are. Integer or boolean ``.npy`` arrays are refused (their scale is ambiguous: save
    float32 in [0, 1]), and so are colour images and other pixel types.

    ``role`` says what the array is: ``'image'`` (a clean image: values must lie in
    ``CLEAN_RANGE``, i.e. near the documented [0, 1]) or ``'observation'`` (any finite values, e.g.
    a sinogram). Every problem raises ``PatchNRError`` with a one-line message naming the role.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    path = Path(path)
    if not path.is_file():
        raise PatchNRError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise PatchNRError(f"{path}: unsupported format '{suffix}' (use {', '.join(IMAGE_SUFFIXES)})")
    try:
        with warnings.catch_warnings():  # decoder warnings (e.g. PIL's "Corrupt EXIF data"): a failure is reported once, below
            warnings.simplefilter("ignore")
            array = _read(path, suffix)
    except Exception as error:  # any decoder failure is a corrupt or unreadable file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PatchNRError(f"{path}: cannot read image ({type(error).__name__}: {reason})") from None
    if array.ndim != 2 or array.size == 0:
        raise PatchNRError(f"{path}: expected a non-empty 2-D grayscale {role}, got shape {array.shape}")
    array = _as_float32(path, suffix, array)
    _check_values(path, role, array)
    return array


def _as_float32(path: Path, suffix: str, array: np.ndarray) -> np.ndarray:
    """Scale 1/8/16-bit PNG/TIFF data to [0, 1]; keep floats; refuse everything else."""
    if array.dtype == np.bool_ and suffix != ".npy":
        return array.astype(np.float32)
    if array.dtype.kind == "u" and array.dtype.itemsize <= 2 and suffix != ".npy":
        return array.astype(np.float32) / np.iinfo(array.dtype).max
    if np.issubdtype(array.dtype, np.floating):
        if np.isfinite(array).all() and np.abs(array).max() > np.finfo(np.float32).max:
            raise PatchNRError(f"{path}: values beyond the float32 range")
        return array.astype(np.float32)
    if suffix == ".npy" and (np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_):
        raise PatchNRError(f"{path}: {array.dtype} array has no unambiguous scale; save it as float32 in [0, 1]")
    raise PatchNRError(f"{path}: unsupported pixel type {array.dtype} (use 8/16-bit grey PNG/TIFF or a float array)")


def _check_values(path: Path, role: str, array: np.ndarray) -> None:
    if not np.isfinite(array).all():
        raise PatchNRError(f"{path}: {role} contains NaN or Inf")
    low, high = float(array.min()), float(array.max())
    if role == "image" and (low < CLEAN_RANGE[0] or high > CLEAN_RANGE[1]):
        raise PatchNRError(f"{path}: image values span [{low:.4g}, {high:.4g}]; clean images must be scaled to [0, 1]")


def _read(path: Path, suffix: str) -> np.ndarray:
    if suffix == ".npy":
        with open(path, "rb") as handle:
            array = np.load(handle, allow_pickle=False)
            if not isinstance(array, np.ndarray):
                raise ValueError("an .npz archive, not a single array")
            return array
    if suffix in (".tif", ".tiff"):
        return _read_tiff(path)
    from PIL import Image

    with Image.open(path) as image:
        if image.mode == "P":
            image = image.convert("LA" if "transparency" in image.info else "L")
            image = image.getchannel("L")
        array = np.asarray(image)
        if image.mode.startswith("I") and array.dtype.kind != "u":  # PIL reads 16-bit PNGs as int32
            if array.min() < 0 or array.max() > 65535:
                raise ValueError(f"{image.mode} pixels outside the 16-bit range")
            array = array.astype(np.uint16)
        return array


def _read_tiff(path: Path) -> np.ndarray:
    """tifffile's reader, its log messages silenced (a failure is reported once, by the caller)."""
    import logging

    import tifffile

    logger = logging.getLogger("tifffile")
    disabled, logger.disabled = logger.disabled, True
    try:
        array = tifffile.imread(path)
    finally:
        logger.disabled = disabled
    if array.size == 0:  # tifffile returns an empty array for a file without a readable page
        raise ValueError("no image data in the file")
    return array


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~current_umask())  # mkstemp makes 0600; use the usual mode
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def current_umask() -> int:
    """The process's umask (permission bits, e.g. 0o022), read without changing it."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_array(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save a float32 array as .npy, atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        np.save(handle, np.asarray(array, dtype=np.float32))
