"""CT data on the LoDoPaB-CT scale: HU conversion, resizing, low-dose simulation and real slices.

LoDoPaB images are μ/μ_max in [0, 1] (μ in 1/m; μ_max = 81.35858 1/m, the attenuation of HU 3071),
362×362 pixels on a 26 cm field of view; observations are post-log sinograms
y = −log(counts/N0)/μ_max of Poisson counts with N0 = 4096 photons per detector bin.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from patchnr.errors import PatchNRError
from patchnr.extras import require
from patchnr.physics.noise import LODOPAB_MU_MAX, LODOPAB_PHOTONS, PoissonNoise

HU_RANGE = (-1024.0, 3071.0)
MU_WATER = 20.0  # 1/m
MU_AIR = 0.02  # 1/m
LODOPAB_SIZE = 362

# CT slices bundled with pydicom / pydicom-data (MIT): file name → frames used
PYDICOM_CT_FILES = {
    "693_UNCR.dcm": None,  # head
    "explicit_VR-UN.dcm": None,  # abdomen (JPEG 2000)
    "bad_sequence.dcm": None,  # neck (JPEG lossless: needs pylibjpeg + pylibjpeg-libjpeg)
    "eCT_Supplemental.dcm": (0, 1),  # brain, two frames
    "CT_small.dcm": None,  # 128×128
    "J2K_pixelrep_mismatch.dcm": None,  # head (JPEG 2000)
}


def hu_to_lodopab(hu: np.ndarray) -> np.ndarray:
    """Hounsfield units → LoDoPaB's μ/μ_max (float32 in [0, 1]), as LoDoPaB-CT was made.

    HU are clipped to [−1024, 3071]; μ = 20 + HU·(20 − 0.02)/1000 [1/m]; the result μ/μ_max is
    clipped to [0, 1]. Air (HU −1024) gives μ ≈ −0.46 1/m before the clip, so it maps to 0;
    water (HU 0) maps to 20/81.35858 ≈ 0.246; HU 3071 maps to 1.
    """
    clipped = np.clip(np.asarray(hu, dtype=np.float64), *HU_RANGE)
    mu = MU_WATER + clipped * (MU_WATER - MU_AIR) / 1000.0
    return np.clip(mu / LODOPAB_MU_MAX, 0.0, 1.0).astype(np.float32)


def resize_slice(image: np.ndarray, size: int = LODOPAB_SIZE) -> np.ndarray:
    """A 2-D slice resampled to size×size (bilinear, Gaussian anti-aliasing), float32.

    Physical assumption: the slice's whole (square) field of view becomes LoDoPaB's 26 cm one,
    whatever the scanner's pixel spacing, so anatomy is rescaled by 26 cm / (original field of view).
    A non-square slice is first padded to a square with its minimum value (background).
    """
    from skimage.transform import resize

    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise PatchNRError(f"expected a 2-D slice, got shape {image.shape}")
    height, width = image.shape
    side = max(height, width)
    top, left = (side - height) // 2, (side - width) // 2
    padded = np.pad(image, ((top, side - height - top), (left, side - width - left)), constant_values=image.min())
    resized = resize(padded, (size, size), order=1, anti_aliasing=side > size, preserve_range=True)
    return resized.astype(np.float32)


def hu_to_lodopab_slice(hu: np.ndarray, size: int = LODOPAB_SIZE) -> np.ndarray:
    """A HU slice → a size×size LoDoPaB-scale image in [0, 1] (``hu_to_lodopab`` then ``resize_slice``)."""
    return np.clip(resize_slice(hu_to_lodopab(hu), size), 0.0, 1.0)


# --- simulation: a ground truth upsampled onto a finer grid, projected, Poisson noise ---------------

LODOPAB_SIMULATION_SIZE = 1000  # LoDoPaB-CT projected its ground truths upsampled to 1000²


class Upsampling(Protocol):
    """Maps a B×1×h×h ground truth onto a finer grid of the same field of view: B×1×s×s."""

    def __call__(self, image: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class BilinearUpsampling:
    """``torch.nn.functional.interpolate`` (bilinear, half-pixel centres) by an integer ``factor``, in the
    image's dtype; factor 1 leaves the image as it is. The CT tasks simulate with factor 2."""

    factor: int = 1

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        if self.factor == 1:
            return image
        return F.interpolate(image, scale_factor=self.factor, mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class LodopabResize:
    """LoDoPaB-CT's upsampling (its create_dataset.py): ``skimage.transform.resize(order=1)`` to
    size×size (bilinear, mode 'reflect', no anti-aliasing, float64), so edge pixels match its data."""

    size: int = LODOPAB_SIMULATION_SIZE

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        from skimage.transform import resize

        fine = np.stack([resize(picture, (self.size, self.size), order=1, mode="reflect", anti_aliasing=False, preserve_range=True)
                         for picture in image[:, 0].detach().cpu().double().numpy()])
        return torch.from_numpy(fine[:, None]).to(image.device)


@lru_cache(maxsize=4)
def _sized_ray_transform(geometry, size: int, device: str):
    """ODL's ASTRA ray transform of ``geometry`` on size×size pixels: same field of view, angles and
    detectors; 'astra_cpu', or 'astra_cuda' on a CUDA device. No system matrix is built or loaded."""
    from dataclasses import replace

    from patchnr.operators.ct.ray_transform import RayTransform

    resized = replace(geometry, size=size)
    return RayTransform(resized, backend="astra_cuda" if device.startswith("cuda") else "astra_cpu", device=device)


def _fine_ray_transform(geometry, factor: int, device: str):
    """A ray transform with ``factor``× the pixels per side and the same field of view, angles and detectors."""
    return _sized_ray_transform(geometry, geometry.size * factor, device)


def clean_sinogram(image: torch.Tensor, measured_by, upsample: int | Upsampling = 1) -> torch.Tensor:
    """Noise-free line integrals of ``image`` in the geometry of ``measured_by``: B×1×A×D, float32.

    Args:
        image: B×1×h×h in LoDoPaB units (μ/μ_max), h = k·H for an integer k ≥ 1 (H: the geometry's size).
        measured_by: an ``operators.ct.RayTransform``, or a ``CTGeometry``. An image that reaches the
            projection at H×H is projected by that ray transform itself (an inverse crime for
            reconstructions with the same operator); any other size s by ODL's ASTRA transform of the
            geometry on s×s pixels (same field of view, angles and detectors).
        upsample: how the image is brought onto the finer grid first: an integer factor of
            ``BilinearUpsampling``, or an ``Upsampling`` (``LodopabResize``: LoDoPaB-CT's own).
    """
    from patchnr.operators.ct.ray_transform import RayTransform

    operator = measured_by if isinstance(measured_by, RayTransform) else None
    geometry = measured_by.geometry if operator is not None else measured_by
    size = geometry.size
    if image.ndim != 4 or image.shape[1] != 1:
        raise PatchNRError(f"expected a B×1×H×W image, got shape {tuple(image.shape)}")
    factor, remainder = divmod(image.shape[-1], size)
    if remainder or factor < 1 or image.shape[-2] != image.shape[-1]:
        raise PatchNRError(f"image of shape {tuple(image.shape)} is not a multiple of the geometry's {size}×{size}")
    fine = (BilinearUpsampling(upsample) if isinstance(upsample, int) else upsample)(image)
    if operator is None or fine.shape[-1] != size:
        operator = _sized_ray_transform(geometry, fine.shape[-1], str(image.device))
    with torch.no_grad():  # the operator silences ODL's warning about astra_cpu's speed
        return operator(fine.float())


def simulate_lowdose(
    image: torch.Tensor,
    measured_by,
    photons: float = LODOPAB_PHOTONS,
    mu_max: float = LODOPAB_MU_MAX,
    seed: int = 0,
    upsample: int | Upsampling = 1,
) -> torch.Tensor:
    """A LoDoPaB-style noisy post-log sinogram of ``image``: B×1×A×D, float32.

    ``clean_sinogram`` (its ``image``, ``measured_by`` and ``upsample``), then
    ``PoissonNoise(photons, mu_max).simulate`` with ``seed``: counts ~ Poisson(photons ·
    exp(−mu_max · A x)), zero counts → 0.1, y = −log(counts/photons)/mu_max. The CT tasks simulate
    with ``upsample=2`` (no inverse crime); ``simulate_lodopab`` with ``LodopabResize()``.
    """
    return PoissonNoise(photons, mu_max).simulate(clean_sinogram(image, measured_by, upsample), seed)


def lodopab_clean_sinogram(image: torch.Tensor, geometry, size: int = LODOPAB_SIMULATION_SIZE) -> torch.Tensor:
    """LoDoPaB's noise-free line integrals of a B×1×H×W ground truth (μ/μ_max): B×1×A×D, float32:
    ``clean_sinogram`` on ``geometry`` (a ``CTGeometry``) with ``LodopabResize(size)``."""
    return clean_sinogram(image, geometry, LodopabResize(size))


def simulate_lodopab(image: torch.Tensor, geometry, seed: int = 0, photons: float = LODOPAB_PHOTONS,
                     size: int = LODOPAB_SIMULATION_SIZE) -> torch.Tensor:
    """An observation made as LoDoPaB-CT made its own: B×1×A×D post-log sinogram (units of μ_max·m):
    ``simulate_lowdose`` on ``geometry`` with ``LodopabResize(size)``. A limited-angle geometry gives
    its kept rows of the full scan."""
    return simulate_lowdose(image, geometry, photons, seed=seed, upsample=LodopabResize(size))


# --- LoDoPaB-CT's own recipe (its create_dataset.py) ---------------------------------------------

LODOPAB_NATIVE_SIZE = 512  # LIDC-IDRI slices: 512×512
LODOPAB_CROP = 75  # pixels cut on every side: the central 362² of 512², the largest square in the centred circle


def lodopab_slice(native_hu: np.ndarray, seed: int | None = 0) -> np.ndarray:
    """A native 512×512 HU slice → a LoDoPaB ground truth: 362×362 float32 μ/μ_max in [0, 1].

    As LoDoPaB-CT made its images: the central crop ``[75:-75, 75:-75]`` (native pixels, no
    resampling), transposed, plus U(0, 1) HU noise that undoes the integer quantisation (drawn by
    ``numpy.random.default_rng(seed)``; ``None`` draws fresh entropy), then ``hu_to_lodopab``.
    A slice that is not 512×512 raises ``PatchNRError`` (its pixels would not be LoDoPaB's size).
    """
    native = np.asarray(native_hu, dtype=np.float64)
    if native.shape != (LODOPAB_NATIVE_SIZE, LODOPAB_NATIVE_SIZE):
        raise PatchNRError(f"a LoDoPaB slice is cut from a 512×512 native slice, got shape {native.shape}")
    crop = native[LODOPAB_CROP:-LODOPAB_CROP, LODOPAB_CROP:-LODOPAB_CROP].T
    noisy = crop + np.random.default_rng(seed).uniform(0.0, 1.0, size=crop.shape)
    return hu_to_lodopab(noisy)


def read_native_slice(path: str | Path) -> np.ndarray:
    """A 2-D HU slice from a DICOM file (slope and intercept applied) or a .npy array (taken as HU), float32."""
    path = Path(path)
    if not path.is_file():
        raise PatchNRError(f"{path}: no such file")
    if path.suffix.lower() == ".npy":
        hu = np.load(path, allow_pickle=False).astype(np.float32)
    else:
        require("pydicom")  # a missing extra is named, not reported as an unreadable file
        try:
            hu = read_dicom_hu(path)
        except Exception as error:  # pydicom raises many kinds on a file that is not DICOM
            raise PatchNRError(f"{path}: not a readable DICOM file ({type(error).__name__})") from None
    hu = np.squeeze(hu)
    if hu.ndim != 2:
        raise PatchNRError(f"{path}: expected one 2-D slice, got shape {hu.shape}")
    return hu


def _rescale(dataset) -> tuple[float, float]:
    """(slope, intercept) of a DICOM dataset, also from an enhanced multi-frame's shared groups."""
    if "RescaleSlope" in dataset:
        return float(dataset.RescaleSlope), float(dataset.RescaleIntercept)
    try:
        item = dataset.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
        return float(item.RescaleSlope), float(item.RescaleIntercept)
    except (AttributeError, IndexError):
        return 1.0, 0.0


def read_dicom_hu(path: str | Path) -> np.ndarray:
    """HU = pixel_array · RescaleSlope + RescaleIntercept, float32, 2-D (one frame) or F×H×W.

    Needs pydicom (the ``patchnr[data]`` extra); without it a one-line ``PatchNRError`` names the extra.
    """
    pydicom = require("pydicom")
    dataset = pydicom.dcmread(path)
    slope, intercept = _rescale(dataset)
    return (dataset.pixel_array.astype(np.float32) * slope + intercept).astype(np.float32)


def pydicom_slices() -> dict[str, np.ndarray]:
    """The MIT-licensed CT slices of pydicom / pydicom-data: name → HU slice (float32, 2-D).

    Multi-frame files give one entry per frame ('eCT_Supplemental.dcm#0', …). Files that fail to
    load (a missing decoder plugin, say) are skipped. Needs the ``patchnr[data]`` extra.
    """
    get_testdata_file = require("pydicom.data").get_testdata_file

    slices: dict[str, np.ndarray] = {}
    for name, frames in PYDICOM_CT_FILES.items():
        try:
            hu = read_dicom_hu(get_testdata_file(name, download=False))
        except Exception:  # missing file or decoder: skip it
            continue
        if frames is None:
            slices[name] = hu
        else:
            slices.update({f"{name}#{frame}": hu[frame] for frame in frames})
    return slices


def cranium_slices(path: str | Path, indices) -> dict[int, np.ndarray]:
    """Axial slices of the cranium volume (``hu``: int16, 108×256×256): index → HU slice (float32)."""
    path = Path(path)
    if not path.is_file():
        raise PatchNRError(f"{path}: no such file")
    with np.load(path, allow_pickle=False) as archive:
        volume = archive["hu"]
    indices = [int(i) for i in indices]
    if any(not 0 <= i < volume.shape[0] for i in indices):
        raise PatchNRError(f"cranium slice indices {indices} outside [0, {volume.shape[0]})")
    return {i: volume[i].astype(np.float32) for i in indices}


__all__ = [
    "hu_to_lodopab",
    "resize_slice",
    "hu_to_lodopab_slice",
    "BilinearUpsampling",
    "LodopabResize",
    "Upsampling",
    "clean_sinogram",
    "simulate_lowdose",
    "lodopab_slice",
    "read_native_slice",
    "lodopab_clean_sinogram",
    "simulate_lodopab",
    "read_dicom_hu",
    "pydicom_slices",
    "cranium_slices",
    "PYDICOM_CT_FILES",
    "LODOPAB_PHOTONS",
    "LODOPAB_MU_MAX",
]
