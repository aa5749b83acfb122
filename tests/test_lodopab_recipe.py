"""LoDoPaB-CT's own recipe: a ground truth cut from a native 512² slice, and the 1000²-style simulation."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from patchnr.operators.ct import lodopab as ct_data
from patchnr.cli.main import main
from patchnr.errors import PatchNRError
from patchnr.physics.noise import LODOPAB_MU_MAX

pytest.importorskip("odl")
pytest.importorskip("astra")
from patchnr.operators.ct import ray_transform as ct

SLOPE, INTERCEPT = 1.0, -1024.0  # a typical CT rescale: stored 0 is air (HU −1024), stored 1024 is water
MARKER = (100, 200)  # a native (row, column) outside the water disc, inside the crop
GEOMETRY = ct.small_geometry(size=36, num_angles=40, num_detectors=53)  # LoDoPaB's field of view, ≈ 1/10 of its pixels
SIMULATION_SIZE = 100  # 1000 / 10: the same ratio of simulation to reconstruction pixels as LoDoPaB's 1000 / 362


def _stored_slice() -> np.ndarray:
    """A DICOM-like int16 512² slice (stored values): air, a water disc at the centre, one bone marker pixel."""
    rows, cols = np.mgrid[:512, :512]
    stored = np.zeros((512, 512), dtype=np.int16)
    stored[(rows - 256) ** 2 + (cols - 256) ** 2 < 120**2] = 1024
    stored[MARKER] = 3071 + 1024
    return stored


def _hu(stored: np.ndarray) -> np.ndarray:
    return stored.astype(np.float32) * SLOPE + INTERCEPT


def _to_hu(image: np.ndarray) -> np.ndarray:
    """LoDoPaB units back to HU (inverse of μ = 20 + HU·19.98/1000, μ/μ_max)."""
    return (image.astype(np.float64) * LODOPAB_MU_MAX - 20.0) * 1000.0 / 19.98


def test_crop_transpose_and_units():
    image = ct_data.lodopab_slice(_hu(_stored_slice()), seed=0)
    assert image.shape == (362, 362) and image.dtype == np.float32
    row, col = MARKER[0] - 75, MARKER[1] - 75
    assert image[col, row] == 1.0  # the marker lands transposed in the crop
    assert image[row, col] < 0.5
    assert np.count_nonzero(image == 1.0) == 1
    assert image[0, 0] == 0.0 and image[-1, -1] == 0.0  # air → 0
    water = image[181 - 50 : 181 + 50, 181 - 50 : 181 + 50]
    np.testing.assert_allclose(water, 20.0 / LODOPAB_MU_MAX, atol=3e-4)  # water → 0.246
    added = _to_hu(water)  # the dequantisation noise, in HU
    assert added.min() >= -1e-3 and added.max() < 1.0 + 1e-3
    assert 0.4 < added.mean() < 0.6 and added.std() > 0.25  # U(0, 1): mean ½, std 0.29


def test_crop_position_matches_lodopab_indexing():
    rng = np.random.default_rng(1)
    hu = rng.uniform(-200, 1500, size=(512, 512)).round()
    image = ct_data.lodopab_slice(hu, seed=3)
    expected_hu = hu[75:-75, 75:-75].T + np.random.default_rng(3).uniform(0, 1, size=(362, 362))
    np.testing.assert_allclose(image, ct_data.hu_to_lodopab(expected_hu), rtol=0, atol=1e-6)


def test_seeded_noise():
    hu = _hu(_stored_slice())
    np.testing.assert_array_equal(ct_data.lodopab_slice(hu, seed=5), ct_data.lodopab_slice(hu, seed=5))
    assert not np.array_equal(ct_data.lodopab_slice(hu, seed=5), ct_data.lodopab_slice(hu, seed=6))


@pytest.mark.parametrize("shape", [(256, 256), (512, 510), (2, 512, 512)])
def test_refuses_other_sizes(shape):
    with pytest.raises(PatchNRError, match="512×512"):
        ct_data.lodopab_slice(np.zeros(shape, dtype=np.float32))


def test_reads_dicom_with_rescale(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"  # CT image storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset = pydicom.Dataset()
    dataset.file_meta = meta
    stored = _stored_slice()
    dataset.Rows, dataset.Columns = stored.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 16, 15, 1
    dataset.RescaleSlope, dataset.RescaleIntercept = SLOPE, INTERCEPT
    dataset.PixelData = stored.tobytes()
    path = tmp_path / "slice.dcm"
    dataset.save_as(path, enforce_file_format=True)
    np.testing.assert_array_equal(ct_data.read_native_slice(path), _hu(stored))


def test_cli_ct_slice(tmp_path, capsys):
    native = tmp_path / "native.npy"
    np.save(native, _hu(_stored_slice()))
    out = tmp_path / "slice.npy"
    assert main(["ct-slice", str(native), "--out", str(out), "--seed", "2"]) == 0
    np.testing.assert_array_equal(np.load(out), ct_data.lodopab_slice(_hu(_stored_slice()), seed=2))
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((256, 256), dtype=np.float32))
    assert main(["ct-slice", str(small), "--out", str(tmp_path / "other.npy")]) == 2
    error = capsys.readouterr().err.strip()
    assert "512×512" in error and "\n" not in error
    assert not (tmp_path / "other.npy").exists()


# --- the observation, simulated on a finer grid as LoDoPaB did -------------------------------------


def _smooth_image(size: int = GEOMETRY.size) -> torch.Tensor:
    grid = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return (0.3 * torch.exp(-3 * ((xx - 0.2) ** 2 + yy**2)) * (xx**2 + yy**2 < 0.8))[None, None]


def test_fine_simulation_conserves_mass_and_matches_the_coarse_projection(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    image = _smooth_image()
    clean = ct_data.lodopab_clean_sinogram(image, GEOMETRY, SIMULATION_SIZE)
    assert clean.shape == (1, 1, GEOMETRY.num_angles, GEOMETRY.num_detectors) and clean.dtype == torch.float32
    pixel_area = (2 * GEOMETRY.extent / GEOMETRY.size) ** 2
    detector_width = 2 * GEOMETRY.extent * np.sqrt(2) / GEOMETRY.num_detectors
    mass_per_angle = clean[0, 0].sum(dim=1).double() * detector_width
    np.testing.assert_allclose(mass_per_angle.numpy(), image.sum().item() * pixel_area, rtol=0.02)  # every angle sees the whole image
    coarse = ct.RayTransform(GEOMETRY, backend="astra_cpu")(image)
    assert (clean - coarse).abs().max() < 0.05 * coarse.abs().max()


def test_simulation_is_seeded_and_poisson(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    image = _smooth_image()
    first = ct_data.simulate_lodopab(image, GEOMETRY, seed=1, size=SIMULATION_SIZE)
    torch.testing.assert_close(ct_data.simulate_lodopab(image, GEOMETRY, seed=1, size=SIMULATION_SIZE), first, rtol=0, atol=0)
    assert not torch.equal(ct_data.simulate_lodopab(image, GEOMETRY, seed=2, size=SIMULATION_SIZE), first)
    clean = ct_data.lodopab_clean_sinogram(image, GEOMETRY, SIMULATION_SIZE)
    near_exact = ct_data.simulate_lodopab(image, GEOMETRY, seed=1, photons=1e9, size=SIMULATION_SIZE)
    torch.testing.assert_close(near_exact, clean, rtol=0, atol=1e-3)
    assert (first - clean).abs().mean() > 1e-4  # 4096 photons: visibly noisy


def test_limited_angle_keeps_rows_of_the_full_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    limited = replace(GEOMETRY, angle_indices=(4, 36))
    image = _smooth_image()
    full = ct_data.lodopab_clean_sinogram(image, GEOMETRY, SIMULATION_SIZE)
    kept = ct_data.lodopab_clean_sinogram(image, limited, SIMULATION_SIZE)
    torch.testing.assert_close(kept, full[..., 4:36, :], rtol=1e-5, atol=1e-6)


def test_simulation_refuses_a_multichannel_image():
    with pytest.raises(PatchNRError, match="B×1×H×W"):
        ct_data.lodopab_clean_sinogram(torch.zeros(1, 2, 36, 36), GEOMETRY, SIMULATION_SIZE)


def test_prepare_script_writes_lodopab_crops(tmp_path):
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "data_scripts" / "prepare_lodopab_ct.py"
    spec = importlib.util.spec_from_file_location("prepare_lodopab_ct", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_training_crops(tmp_path, seed=0)
    if not written:
        pytest.skip("no pydicom training slice readable here")
    for path in written:
        image = np.load(path)
        assert image.shape == (362, 362) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.3  # tissue, not an empty crop
