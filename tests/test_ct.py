"""The CT operator: backends against each other and ODL, adjointness, gradients, FBP, the matrix cache."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from patchnr.operators.ct import ray_transform as ct
from patchnr.operators.base import initial_guess
from patchnr.errors import PatchNRError

pytest.importorskip("odl")
pytest.importorskip("astra")

GEOMETRY = ct.small_geometry(size=32, num_angles=30, num_detectors=47)
LIMITED = ct.CTGeometry(size=32, num_angles=30, num_detectors=47, angle_indices=(3, 27))
CPU_BACKENDS = ["sparse", "astra_cpu"]
ALL_BACKENDS = CPU_BACKENDS + [
    pytest.param("astra_cuda", marks=pytest.mark.skipif(not ct.cuda_backend_available(), reason="needs a GPU"))
]


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    """Every test builds its matrices in a private cache folder (shared within the module)."""
    folder = tmp_path_factory.getbasetemp() / "ct_cache"
    monkeypatch.setenv("PATCHNR_CACHE", str(folder))
    return folder


def _operator(backend: str, geometry: ct.CTGeometry = GEOMETRY) -> ct.RayTransform:
    return ct.RayTransform(geometry, backend=backend, device="cuda" if backend == "astra_cuda" else "cpu")


def _phantom(size: int = 32) -> torch.Tensor:
    """A smooth-edged ellipse with an inner disc, 1×1×size×size in [0, 1]."""
    grid = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    outer = torch.sigmoid(20 * (1 - (xx / 0.7) ** 2 - (yy / 0.5) ** 2)) * 0.4
    inner = torch.sigmoid(20 * (0.04 - (xx - 0.2) ** 2 - yy**2)) * 0.5
    return (outer + inner)[None, None]


def _relative(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _random(shape, seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("geometry", [GEOMETRY, LIMITED], ids=["full", "limited"])
def test_adjointness(backend, geometry):
    op = _operator(backend, geometry)
    x = _random((2, 1, *op.input_shape), 0).to(op.fbp_filter.device)
    y = _random((2, 1, *op.output_shape), 1).to(x.device)
    lhs = (op(x).double() * y.double()).sum()
    rhs = (x.double() * op.adjoint(y).double()).sum()
    assert op(x).shape == (2, 1, *geometry.sinogram_shape)
    assert op.adjoint(y).shape == (2, 1, *geometry.image_shape)
    assert abs(lhs - rhs) / abs(lhs) < 1e-5


@pytest.mark.parametrize("geometry", [GEOMETRY, LIMITED], ids=["full", "limited"])
def test_backends_match_odl(geometry):
    """Forward = ODL's RayTransform; adjoint = ODL's weighted adjoint × (image / sinogram cell volume)."""
    reference = geometry.odl_ray_transform("astra_cpu")
    x, y = _phantom(), _random((1, 1, *geometry.sinogram_shape), 2)
    forward = reference(reference.domain.element(x[0, 0].numpy())).data
    adjoint = reference.adjoint(reference.range.element(y[0, 0].numpy())).data
    adjoint = adjoint * reference.domain.cell_volume / reference.range.cell_volume
    results = {backend: _operator(backend, geometry) for backend in CPU_BACKENDS}
    for backend, op in results.items():
        assert _relative(op(x)[0, 0], forward) < 1e-5, backend
        assert _relative(op.adjoint(y)[0, 0], adjoint) < 1e-5, backend
    sparse, astra = results["sparse"], results["astra_cpu"]
    assert _relative(sparse(x), astra(x)) < 1e-5
    assert _relative(sparse.adjoint(y), astra.adjoint(y)) < 1e-5


def test_limited_angle_keeps_the_angle_range():
    full, limited = GEOMETRY.odl_geometry, LIMITED.odl_geometry
    np.testing.assert_allclose(limited.angles, full.angles[3:27])
    x = _phantom()
    np.testing.assert_allclose(_operator("sparse", LIMITED)(x), _operator("sparse")(x)[:, :, 3:27], rtol=1e-5, atol=1e-7)


def test_limited_task_cuts_a_full_sinogram_to_its_angles():
    from patchnr.tasks import ct_limited, ct_lowdose

    limited, lowdose = ct_limited.make_task("sparse", geometry=LIMITED), ct_lowdose.make_task("sparse", geometry=GEOMETRY)
    full = _operator("sparse")(_phantom())[0, 0].numpy()
    kept, note = limited.prepare_observation(full)
    np.testing.assert_allclose(kept, limited.operator(_phantom())[0, 0], rtol=1e-5, atol=1e-7)
    assert "(30, 47)" in note and "rows 3..26" in note
    limited.check_observation(kept)
    assert limited.prepare_observation(kept) == (kept, None)
    assert lowdose.prepare_observation(full) == (full, None)
    wrong = np.zeros((29, 47), np.float32)
    assert limited.prepare_observation(wrong) == (wrong, None)
    with pytest.raises(PatchNRError, match=r"\(24, 47\), or a full \(30, 47\)"):
        limited.check_observation(wrong)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_gradient_matches_finite_differences(backend):
    """Directional derivative of a Poisson-type scalar of A x against a central difference."""
    op = _operator(backend)
    x = (_phantom() + 0.05 * _random((1, 1, 32, 32), 3)).double().requires_grad_(True)
    direction = _random((1, 1, 32, 32), 4).double() - 0.5
    y = op(_phantom()).double()

    def objective(image):
        projected = op(image)
        return (torch.exp(-3 * projected) + 3 * y * projected).sum() + (op.adjoint(projected) ** 2).sum()

    objective(x).backward()
    analytic = float((x.grad * direction).sum())
    eps = 1e-2
    with torch.no_grad():
        numeric = float((objective(x + eps * direction) - objective(x - eps * direction)) / (2 * eps))
    assert abs(analytic - numeric) < 1e-3 * abs(analytic)


def test_gradient_is_the_euclidean_adjoint():
    op = _operator("sparse")
    x = _phantom().requires_grad_(True)
    r = _random((1, 1, *op.output_shape), 5)
    (op(x) * r).sum().backward()
    torch.testing.assert_close(x.grad, op.adjoint(r), rtol=1e-6, atol=1e-7)
    y = r.clone().requires_grad_(True)
    (op.adjoint(y) * _phantom()).sum().backward()
    torch.testing.assert_close(y.grad, op(_phantom()), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_batches_and_channels(backend):
    op = _operator(backend)
    x = _random((2, 3, 32, 32), 6)
    batched = op(x)
    assert batched.shape == (2, 3, 30, 47) and batched.dtype == torch.float32
    torch.testing.assert_close(batched[1, 2], op(x[1:2, 2:3])[0, 0], rtol=1e-5, atol=1e-6)
    assert op(x.double()).dtype == torch.float64


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("geometry", [GEOMETRY, LIMITED], ids=["full", "limited"])
def test_fbp_matches_odl(backend, geometry):
    from odl.applications import tomo

    op = _operator(backend, geometry)
    reference = tomo.fbp_op(geometry.odl_ray_transform(), filter_type="Hann", frequency_scaling=ct.FBP_FREQUENCY_SCALING)
    y = op(_phantom()) + 0.01 * _random((1, 1, *op.output_shape), 7)
    expected = reference(reference.domain.element(y[0, 0].numpy())).data
    assert _relative(op.fbp(y)[0, 0], expected) < 1e-5
    assert op.pseudo_inverse(y).shape == (1, 1, 32, 32)
    torch.testing.assert_close(initial_guess(op, y), op.fbp(y))


def test_fbp_reconstructs_a_phantom():
    geometry = ct.small_geometry(size=64, num_angles=90, num_detectors=93)
    op = _operator("sparse", geometry)
    x = _phantom(64)
    assert _relative(op.fbp(op(x)), x) < 0.15


def test_geometry_factories():
    lodopab, limited = ct.lodopab_geometry(), ct.limited_angle_geometry()
    assert lodopab.image_shape == (362, 362) and lodopab.sinogram_shape == (1000, 513)
    assert limited.sinogram_shape == (800, 513) and limited.angle_indices == (100, 900)
    assert limited.kept_rows == slice(100, 900) and lodopab.kept_rows == slice(0, 1000)
    assert replace(limited, angle_indices=None) == lodopab  # a full LoDoPaB sinogram holds ct-limited's angles
    assert limited.full_sinogram_shape == lodopab.full_sinogram_shape == lodopab.sinogram_shape
    assert lodopab.extent == 0.13 and lodopab.key() != limited.key()
    assert np.isclose(lodopab.odl_geometry.angles[0], np.pi / 2000)
    with pytest.raises(PatchNRError):
        ct.CTGeometry(size=32, num_angles=30, num_detectors=47, angle_indices=(20, 40))
    with pytest.raises(PatchNRError):
        ct.CTGeometry(size=0, num_angles=30, num_detectors=47)


# --- the sparse matrix cache -----------------------------------------------------------------------


@pytest.fixture
def counted_builds(monkeypatch, tmp_path):
    """A fresh cache folder and a counter of system-matrix builds."""
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    builds = []
    original = ct.build_system_matrix
    monkeypatch.setattr(ct, "build_system_matrix", lambda geometry: builds.append(geometry) or original(geometry))
    return builds


def test_cache_is_built_once_and_reused(counted_builds, tmp_path):
    first = _operator("sparse")
    path = ct.matrix_cache_path(GEOMETRY)
    assert path.parent == tmp_path and path.is_file() and len(counted_builds) == 1
    second = _operator("sparse")
    assert len(counted_builds) == 1
    x = _phantom()
    torch.testing.assert_close(first(x), second(x))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong_geometry"])
def test_corrupt_cache_is_rebuilt(counted_builds, damage):
    path = ct.matrix_cache_path(GEOMETRY)
    reference = _operator("sparse")(_phantom())
    if damage == "garbage":
        path.write_bytes(b"not a matrix")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # a valid file of another geometry under this name
        other = ct.small_geometry(size=32, num_angles=20, num_detectors=47)
        ct.RayTransform(other, backend="sparse")
        ct.matrix_cache_path(other).replace(path)
    with pytest.warns(UserWarning, match="corrupt CT matrix cache"):
        rebuilt = _operator("sparse")
    torch.testing.assert_close(rebuilt(_phantom()), reference)
    builds = len(counted_builds)
    _operator("sparse")  # the rebuilt file is valid again
    assert len(counted_builds) == builds


def test_limited_angle_reuses_the_full_geometrys_matrix(counted_builds, tmp_path):
    """One build and one cache file serve both geometries; the limited operator is the full one's kept rows."""
    full, limited = _operator("sparse"), ct.RayTransform(LIMITED, backend="sparse")
    assert len(counted_builds) == 1 and [p.name for p in tmp_path.iterdir()] == [ct.matrix_cache_path(GEOMETRY).name]
    x, y = _phantom(), torch.rand(1, 1, 24, 47, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(limited(x), full(x)[:, :, 3:27])
    padded = torch.zeros(1, 1, 30, 47)
    padded[:, :, 3:27] = y
    torch.testing.assert_close(limited.adjoint(y), full.adjoint(padded))
    assert sorted(row for rows in limited._angle_blocks for row in range(24)[rows]) == list(range(24))
    for (apply_block, part), rows in zip(limited.measurement_blocks(y), limited._angle_blocks):
        torch.testing.assert_close(part, y[:, :, rows])
        torch.testing.assert_close(apply_block(x), limited(x)[:, :, rows])


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("PATCHNR_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ct.cache_dir() == tmp_path / "patchnr"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ct.cache_dir() == tmp_path / "home" / ".cache" / "patchnr"


def test_cache_write_failure_only_warns(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PATCHNR_CACHE", str(blocker / "sub"))  # a folder below a file cannot be made
    with pytest.warns(UserWarning, match="could not cache"):
        op = _operator("sparse")
    assert op(_phantom()).shape == (1, 1, 30, 47)


# --- backends, devices and errors --------------------------------------------------------------------


def test_unknown_backend():
    with pytest.raises(PatchNRError, match="unknown CT backend"):
        ct.RayTransform(GEOMETRY, backend="fast")


@pytest.mark.skipif(ct.cuda_backend_available(), reason="a GPU is available")
def test_astra_cuda_without_gpu():
    with pytest.raises(PatchNRError, match="astra_cuda"):
        ct.RayTransform(GEOMETRY, backend="astra_cuda")


def test_auto_backend_resolution(monkeypatch):
    """'auto' is the on-device sparse backend everywhere; astra_cuda only when asked for and usable."""
    assert ct.resolve_backend("auto", torch.device("cpu")) == "sparse"
    monkeypatch.setattr(ct, "cuda_backend_available", lambda: True)
    assert ct.resolve_backend("auto", torch.device("cuda")) == "sparse"
    assert ct.resolve_backend("astra_cuda", torch.device("cuda")) == "astra_cuda"
    monkeypatch.setattr(ct, "cuda_backend_available", lambda: False)
    assert ct.resolve_backend("auto", torch.device("cuda")) == "sparse"


def test_wrong_input_shape():
    op = _operator("sparse")
    with pytest.raises(PatchNRError, match="image must be"):
        op(torch.zeros(1, 1, 31, 32))
    with pytest.raises(PatchNRError, match="sinogram must be"):
        op.adjoint(torch.zeros(1, 1, 32, 32))


def _devices():
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", _devices())
def test_sparse_backend_moves_with_the_module(device):
    op = ct.RayTransform(GEOMETRY, backend="sparse", device=device)
    matrices = [buffer for name, buffer in op.named_buffers() if name.startswith("block")]
    assert len(matrices) == 2 * ct.ANGLE_BLOCKS
    for matrix in matrices:
        assert matrix.layout == torch.sparse_csr and matrix.device.type == device
        assert matrix.crow_indices().dtype == torch.int32 and matrix.col_indices().dtype == torch.int32
        assert matrix.values().dtype == torch.float32
    assert op.fbp_filter.device.type == device
    x = _phantom().to(device)
    expected = _operator("sparse")(_phantom())
    torch.testing.assert_close(op(x).cpu(), expected)
    torch.testing.assert_close(op.to("cpu")(_phantom()), expected)
    assert op.state_dict() == {}  # the matrices are not saved with the module


@pytest.mark.parametrize("geometry", [GEOMETRY, LIMITED], ids=["full", "limited"])
def test_measurement_blocks_partition_the_ray_transform(geometry):
    """The interleaved angle blocks are row blocks of A: together they give A x and, via autograd, Aᵀ y."""
    op = _operator("sparse", geometry)
    x = _random((2, 1, *op.input_shape), 0).requires_grad_(True)
    y = _random((2, 1, *op.output_shape), 1)
    row_ids = torch.arange(op.output_shape[0], dtype=torch.float32).view(1, 1, -1, 1).expand(2, 1, -1, op.output_shape[1])
    blocks = op.measurement_blocks(row_ids)
    assert len(blocks) == min(ct.ANGLE_BLOCKS, op.output_shape[0])
    covered = torch.cat([part[0, 0, :, 0] for _, part in blocks]).sort().values
    torch.testing.assert_close(covered, torch.arange(op.output_shape[0], dtype=torch.float32))  # each row once
    full = op(x).detach()
    for (block, _), (_, expected) in zip(op.measurement_blocks(y), op.measurement_blocks(full)):
        torch.testing.assert_close(block(x), expected)
    sum((block(x) * part).sum() for block, part in op.measurement_blocks(y)).backward()
    torch.testing.assert_close(x.grad, op.adjoint(y), rtol=1e-4, atol=1e-5)


def test_odl_backends_keep_one_measurement_block():
    op = _operator("astra_cpu")
    y = _random((1, 1, *op.output_shape), 0)
    (block, part), = op.measurement_blocks(y)
    assert block is op and part is y
    assert op.stored_entries is None


def test_stored_entries_count_the_nonzeros_of_the_dense_matrix():
    op = _operator("sparse")
    columns = torch.eye(op.input_shape[0] * op.input_shape[1]).view(-1, 1, *op.input_shape)
    nonzeros = int((op(columns) != 0).sum())  # one column of A per unit image
    assert nonzeros <= op.stored_entries <= 1.001 * nonzeros  # ASTRA keeps a few explicit zeros


def test_no_astra_cpu_speed_warning_on_large_images(recwarn):
    """ODL warns that astra_cpu is slow from 512² pixels on (raised at the first call): silenced."""
    operator = ct.RayTransform(ct.small_geometry(size=512, num_angles=4, num_detectors=31), backend="astra_cpu")
    operator(torch.zeros(1, 1, 512, 512))
    assert not [w for w in recwarn if "too slow" in str(w.message)]
