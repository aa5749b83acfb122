"""CT data: HU → LoDoPaB scale, resizing, low-dose simulation, DICOM/cranium loaders, LoDoPaB parsing."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from patchnr.operators.ct import lodopab as ct_data
from patchnr.errors import PatchNRError
from patchnr.physics.noise import LODOPAB_MU_MAX, LODOPAB_PHOTONS

pytest.importorskip("odl")
pytest.importorskip("astra")
from patchnr.operators.ct import ray_transform as ct

SCRIPTS = Path(__file__).resolve().parents[1] / "data_scripts"
GEOMETRY = ct.small_geometry(size=24, num_angles=20, num_detectors=35)


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATCHNR_CACHE", str(tmp_path_factory.mktemp("ct_cache")))
        return ct.RayTransform(GEOMETRY, backend="sparse")


def _disc(size: int = 24, value: float = 0.3) -> torch.Tensor:
    grid = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return ((xx**2 + yy**2 < 0.5).float() * value)[None, None]


# --- HU scale -------------------------------------------------------------------------------------


def test_hu_to_lodopab_values():
    hu = np.array([-3000, -1024, 0, 1000, 3071, 5000], dtype=np.int16)
    mu = ct_data.hu_to_lodopab(hu)
    assert mu.dtype == np.float32
    np.testing.assert_allclose(mu[[0, 1]], 0.0)  # air (and below) → 0: μ(−1024) ≈ −0.46 1/m is clipped
    np.testing.assert_allclose(mu[2], 20 / LODOPAB_MU_MAX, rtol=1e-6)  # water
    np.testing.assert_allclose(mu[3], (20 + 19.98) / LODOPAB_MU_MAX, rtol=1e-6)
    np.testing.assert_allclose(mu[[4, 5]], 1.0, rtol=1e-6)
    assert np.isclose(LODOPAB_MU_MAX, 3071 * (20 - 0.02) / 1000 + 20)


def test_resize_slice():
    image = np.full((100, 100), 0.25, dtype=np.float32)
    resized = ct_data.resize_slice(image, 362)
    assert resized.shape == (362, 362) and resized.dtype == np.float32
    np.testing.assert_allclose(resized, 0.25, rtol=1e-5)
    wide = np.ones((40, 80), dtype=np.float32)
    wide[0, 0] = 0.0
    padded = ct_data.resize_slice(wide, 20)
    assert padded.shape == (20, 20) and padded[0].max() < 0.5 and padded[10].min() > 0.5  # padded top/bottom
    with pytest.raises(PatchNRError):
        ct_data.resize_slice(np.zeros((2, 3, 4)))


def test_hu_slice_is_in_unit_range():
    hu = np.random.default_rng(0).uniform(-2000, 4000, (64, 64))
    image = ct_data.hu_to_lodopab_slice(hu, 50)
    assert image.shape == (50, 50) and image.min() >= 0 and image.max() <= 1


# --- low-dose simulation ------------------------------------------------------------------------


def test_simulation_is_deterministic_per_seed(operator):
    image = _disc()
    first = ct_data.simulate_lowdose(image, operator, seed=3)
    assert first.shape == (1, 1, 20, 35) and first.dtype == torch.float32
    torch.testing.assert_close(ct_data.simulate_lowdose(image, operator, seed=3), first, rtol=0, atol=0)
    assert not torch.equal(ct_data.simulate_lowdose(image, operator, seed=4), first)


def test_zero_counts_are_replaced(operator):
    dense = torch.ones(1, 1, 24, 24)  # ≈ 0.2 m of HU 3071: e^{−μ_max·Ax} ≈ 1e−7, expected counts ≪ 1
    y = ct_data.simulate_lowdose(dense, operator, photons=100.0, seed=0)
    ceiling = -np.log(0.1 / 100.0) / LODOPAB_MU_MAX
    centre = y[0, 0, :, 12:23]
    torch.testing.assert_close(centre, torch.full_like(centre, ceiling))
    assert torch.isfinite(y).all()


def test_noise_level(operator):
    image = _disc(value=0.2)
    clean = operator(image)
    near_exact = ct_data.simulate_lowdose(image, operator, photons=1e9, seed=0)
    torch.testing.assert_close(near_exact, clean, rtol=0, atol=3e-4)
    draws = ct_data.simulate_lowdose(image.expand(400, 1, -1, -1), operator, seed=0)  # 400 independent draws
    expected_counts = LODOPAB_PHOTONS * torch.exp(-LODOPAB_MU_MAX * clean[0, 0])
    predicted_std = 1 / (LODOPAB_MU_MAX * expected_counts.sqrt())  # delta method: Var log N ≈ 1/E N
    ratio = draws[:, 0].std(dim=0) / predicted_std
    assert 0.9 < float(ratio.mean()) < 1.1
    assert float((draws[:, 0].mean(dim=0) - clean[0, 0]).abs().max()) < 4 * float(predicted_std.max()) / 20 + 1e-4


def test_simulation_on_a_finer_grid(operator):
    image = _disc()
    clean = operator(image)
    upsampled = ct_data.simulate_lowdose(image, operator, photons=1e9, upsample=2)
    assert upsampled.shape == clean.shape
    assert float((upsampled - clean).norm() / clean.norm()) < 0.03
    fine = torch.nn.functional.interpolate(image, scale_factor=3, mode="nearest")  # a finer image given directly
    direct = ct_data.simulate_lowdose(fine, operator, photons=1e9)
    assert float((direct - clean).norm() / clean.norm()) < 0.03
    fine_geometry = ct_data._fine_ray_transform(GEOMETRY, 3, "cpu").geometry.odl_geometry
    np.testing.assert_allclose(fine_geometry.det_partition.min_pt, GEOMETRY.odl_geometry.det_partition.min_pt)
    np.testing.assert_allclose(fine_geometry.angles, GEOMETRY.odl_geometry.angles)
    with pytest.raises(PatchNRError):
        ct_data.simulate_lowdose(torch.zeros(1, 1, 30, 30), operator)


# --- loaders ---------------------------------------------------------------------------------------


def test_pydicom_slices():
    slices = ct_data.pydicom_slices()
    assert {"693_UNCR.dcm", "CT_small.dcm"} <= set(slices)  # no decoder plugin needed for these
    for name, hu in slices.items():
        assert hu.ndim == 2 and hu.dtype == np.float32, name
        assert hu.min() < -500 and 100 < hu.max() < 5000, name  # air and soft tissue or bone
    if "eCT_Supplemental.dcm#0" in slices:  # rescale taken from the enhanced CT's shared functional groups
        assert slices["eCT_Supplemental.dcm#0"].min() == -1024


def test_cranium_slices(tmp_path):
    volume = np.arange(5 * 4 * 4, dtype=np.int16).reshape(5, 4, 4)
    path = tmp_path / "cranium_hu.npz"
    np.savez(path, hu=volume, spacing_mm=np.array([1.5, 1, 1]))
    slices = ct_data.cranium_slices(path, [0, 3])
    assert list(slices) == [0, 3] and slices[3].dtype == np.float32
    np.testing.assert_array_equal(slices[3], volume[3])
    with pytest.raises(PatchNRError):
        ct_data.cranium_slices(path, [5])
    with pytest.raises(PatchNRError):
        ct_data.cranium_slices(tmp_path / "missing.npz", [0])


def test_prepare_split_rules():
    prepare = _script("prepare_ct")
    prepare._check_split()
    chosen = sorted(prepare.VAL_CRANIUM + prepare.TEST_CRANIUM)
    assert len(prepare.TEST_CRANIUM) >= 10 and min(np.diff(chosen)) >= 8 and max(chosen) < 96
    assert not set(prepare.EXTRA_VAL_CRANIUM) & set(chosen) and max(prepare.EXTRA_VAL_CRANIUM) < 96
    assert prepare.EXAMPLE_MIT not in prepare.TRAIN_MIT and len(prepare.TRAIN_MIT) >= 4


# --- LoDoPaB HDF5 parsing ---------------------------------------------------------------------------


def _write_hdf5(path: Path, data: np.ndarray) -> None:
    import h5py

    with h5py.File(path, "w") as handle:
        handle.create_dataset("data", data=data)


def test_lodopab_hdf5_parsing(tmp_path):
    download = _script("download_lodopab")
    data = np.random.default_rng(0).random((6, 5, 7)).astype(np.float32)
    _write_hdf5(tmp_path / "tiny.hdf5", data)
    samples = download.read_hdf5_samples(tmp_path / "tiny.hdf5", [4, 1])
    assert samples.shape == (2, 5, 7) and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, data[[4, 1]])
    with pytest.raises(IndexError):
        download.read_hdf5_samples(tmp_path / "tiny.hdf5", [6])
    assert download.sample_location(130) == (1, 2) and download.sample_location(127) == (0, 127)
    assert download.parse_indices("0-2,7") == [0, 1, 2, 7]


def test_lodopab_zip_extraction(tmp_path):
    download = _script("download_lodopab")
    files = {n: np.full((download.SAMPLES_PER_FILE, 3, 4), n, dtype=np.float32) for n in (0, 1)}
    archive = tmp_path / "observation_test.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for number, data in files.items():
            _write_hdf5(tmp_path / "member.hdf5", data + np.arange(len(data))[:, None, None] / 1000)
            handle.write(tmp_path / "member.hdf5", download.member_name("observation", "test", number))
    written = download.extract_samples(archive, "observation", "test", [1, 129], tmp_path / "out")
    assert [p.name for p in written] == ["observation_test_00001.npy", "observation_test_00129.npy"]
    np.testing.assert_allclose(np.load(written[0]), 0.001)
    np.testing.assert_allclose(np.load(written[1]), 1.001)
