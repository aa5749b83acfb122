"""Parallel-beam CT: the ray transform A, its adjoint Aᵀ and filtered back-projection, as torch modules.

Every backend follows ODL's convention (``odl.applications.tomo.RayTransform``): an image is a
size×size array of attenuation values on the square [−extent, extent]² (metres), the first array
axis is ODL's x axis; a sinogram is num_angles×num_detectors, angles in [0, π), and (A x)_i is the
line integral of the image along ray i in metres (so for LoDoPaB images μ/μ_max the sinogram is in
units of μ_max·m). ``adjoint`` is the Euclidean transpose Aᵀ (the gradient autograd uses), not ODL's
weighted ``RayTransform.adjoint``, which is Aᵀ multiplied by the ratio of the cell volumes.

Backends:
- ``'sparse'``: ASTRA's 'linear' system matrix, taken from the projector ODL itself sets up for the
  geometry, as torch CSR tensors (float32 values, int32 indices) for A and Aᵀ, stored as
  ``ANGLE_BLOCKS`` interleaved angle blocks so that ``measurement_blocks`` (ordered subsets) costs
  no extra memory; works on any device. Built once per geometry and cached on disk (``cache_dir``);
  processes that need a matrix at the same time build it once (the cache lock).
- ``'astra_cpu'`` / ``'astra_cuda'``: ODL's RayTransform with that implementation, one image at a time
  through NumPy (CUDA only with a GPU and an ASTRA build that sees it), so data leave the device.
- ``'auto'``: ``'sparse'`` on every device: on a GPU the CSR products keep image, sinogram and
  gradient on the device, which ``'astra_cuda'`` (a host round trip per call) does not.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, replace
from contextlib import ExitStack, contextmanager
from functools import cached_property, partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from patchnr.errors import PatchNRError
from patchnr.io.images import atomic_path
from patchnr.io.locks import LockBusy, exclusive_lock
from patchnr.operators.base import Operator, Shape

FBP_FILTER = "Hann"
FBP_FREQUENCY_SCALING = 0.641025641025641
ASTRA_PROJECTOR = "linear"  # ODL's default ASTRA projector for 2-D parallel beam
BACKENDS = ("auto", "sparse", "astra_cpu", "astra_cuda")
_CACHE_FORMAT = 2  # 2: the matrix stored as interleaved angle blocks
ANGLE_BLOCKS = 10  # the sparse backend's measurement blocks (ordered subsets); fewer with fewer angles
CACHE_LOCK_TIMEOUT = 3600.0  # seconds a process waits for another one building the same matrix
_BUILD_CHUNK_NONZEROS = 2**24  # rows of the system matrix are built in angle chunks of about this many entries

Tensor = torch.Tensor


@dataclass(frozen=True)
class CTGeometry:
    """A 2-D parallel-beam geometry on ODL's conventions.

    size: image pixels per side; extent: half-width of the square field of view in metres;
    num_angles: angles evenly spaced in [0, π); num_detectors: bins of a flat detector covering the
    field of view's diagonal (``tomo.parallel_beam_geometry``); angle_indices: keep the angles
    [a, b) of the full set (limited angle), None keeps all.
    """

    size: int
    num_angles: int
    num_detectors: int
    extent: float = 0.13
    angle_indices: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if min(self.size, self.num_angles, self.num_detectors) < 1 or not self.extent > 0:
            raise PatchNRError(f"invalid CT geometry {self}: sizes and extent must be positive")
        if self.angle_indices is not None:
            start, stop = self.angle_indices
            if not 0 <= start < stop <= self.num_angles:
                raise PatchNRError(f"angle_indices {self.angle_indices} outside [0, {self.num_angles}]")
            object.__setattr__(self, "angle_indices", (int(start), int(stop)))

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of an image."""
        return (self.size, self.size)

    @property
    def sinogram_shape(self) -> tuple[int, int]:
        """(angles kept, detectors) of a sinogram."""
        rows = self.kept_rows
        return (rows.stop - rows.start, self.num_detectors)

    @property
    def full_sinogram_shape(self) -> tuple[int, int]:
        """(all angles, detectors): the sinogram before ``angle_indices`` keeps some of its rows."""
        return (self.num_angles, self.num_detectors)

    def range_shape(self, image_shape: Shape) -> Shape:
        """The sinogram's size (A, D); ``ValueError`` unless ``image_shape`` is the geometry's."""
        if tuple(image_shape) != tuple(self.image_shape):
            raise ValueError(f"expects an image of shape {tuple(self.image_shape)}")
        return tuple(self.sinogram_shape)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        """The image's size (H, W); ``ValueError`` unless ``observation_shape`` is the sinogram's."""
        if tuple(observation_shape) != tuple(self.sinogram_shape):
            accepted = str(self.sinogram_shape)
            if self.full_sinogram_shape != self.sinogram_shape:
                accepted += f", or a full {self.full_sinogram_shape} one"
            raise ValueError(f"expects a sinogram of shape {accepted}")
        return tuple(self.image_shape)

    @property
    def full_geometry(self) -> "CTGeometry":
        """This geometry with every angle kept: a limited-angle geometry reuses its system matrix."""
        return replace(self, angle_indices=None)

    @property
    def kept_rows(self) -> slice:
        """The rows (angles) of a full sinogram that this geometry keeps."""
        return slice(*(self.angle_indices or (0, self.num_angles)))

    def key(self) -> str:
        """A short hash naming this geometry (and the projector) in the matrix cache."""
        text = json.dumps({**asdict(self), "projector": ASTRA_PROJECTOR, "format": _CACHE_FORMAT}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @cached_property
    def odl_space(self):
        """The ODL image space: ``uniform_discr([−e, −e], [e, e], (n, n), dtype='float32')``."""
        import odl

        e = self.extent
        return odl.uniform_discr([-e, -e], [e, e], self.image_shape, dtype="float32")

    @cached_property
    def odl_geometry(self):
        """The ODL ``Parallel2dGeometry``, with only the kept angles."""
        from odl.applications import tomo

        full = tomo.parallel_beam_geometry(self.odl_space, num_angles=self.num_angles, det_shape=self.num_detectors)
        if self.angle_indices is None:
            return full
        return full[self.angle_indices[0] : self.angle_indices[1]]

    def odl_ray_transform(self, impl: str = "astra_cpu"):
        """ODL's ``RayTransform`` for this geometry (the reference every backend is tested against).

        ODL's warning that 'astra_cpu' may be slow for large images is silenced: 'astra_cpu' serves here
        to set up the projector and as the CPU reference, where its speed is the expected one.
        """
        from odl.applications import tomo

        with _quiet_odl():
            return tomo.RayTransform(self.odl_space, self.odl_geometry, impl=impl)


@contextmanager
def _quiet_odl() -> Iterator[None]:
    """Silence ODL's warning that 'astra_cpu' may be slow for large images (raised when ODL sets up
    its backend): 'astra_cpu' serves here to set up the projector, to simulate on a finer grid and
    as the CPU reference, where its speed is the expected one."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The 'astra_cpu' backend may be too slow", RuntimeWarning)
        yield


def lodopab_geometry() -> CTGeometry:
    """LoDoPaB-CT: 362×362 pixels on [−0.13, 0.13]² m, 1000 angles in [0, π), 513 bins."""
    return CTGeometry(size=362, num_angles=1000, num_detectors=513)


def limited_angle_geometry() -> CTGeometry:
    """LoDoPaB with angles 100..899 of 1000 kept: a 144° arc, 36° missing."""
    return CTGeometry(size=362, num_angles=1000, num_detectors=513, angle_indices=(100, 900))


def small_geometry(size: int = 32, num_angles: int = 30, num_detectors: int = 47) -> CTGeometry:
    """A small geometry for tests and examples, on the LoDoPaB field of view."""
    return CTGeometry(size=size, num_angles=num_angles, num_detectors=num_detectors)


# ---------------------------------------------------------------------------------------------------
# The system matrix


def cache_dir() -> Path:
    """``$PATCHNR_CACHE``, else ``$XDG_CACHE_HOME/patchnr``, else ``~/.cache/patchnr``."""
    if os.environ.get("PATCHNR_CACHE"):
        return Path(os.environ["PATCHNR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "patchnr"


def matrix_cache_path(geometry: CTGeometry) -> Path:
    """Where the system matrix of ``geometry`` is cached."""
    return cache_dir() / f"ct_matrix_{geometry.key()}.npz"


def matrix_lock_path(geometry: CTGeometry) -> Path:
    """The lock file held while the system matrix of ``geometry`` is checked, built and cached (removed after)."""
    return cache_dir() / f"ct_matrix_{geometry.key()}.lock"


@dataclass
class CSRArrays:
    """A CSR matrix as NumPy arrays: ``indptr`` (rows+1, int32), ``indices`` (nnz, int32), ``data`` (nnz, float32)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    def validate(self) -> None:
        """Raise ``ValueError`` unless the arrays form a well-formed CSR matrix of ``shape``."""
        rows, cols = self.shape
        nnz = self.indices.shape[0]
        if self.indptr.shape != (rows + 1,) or self.data.shape != (nnz,):
            raise ValueError("inconsistent CSR array lengths")
        if self.indptr[0] != 0 or self.indptr[-1] != nnz or np.any(np.diff(self.indptr) < 0):
            raise ValueError("invalid CSR row pointers")
        if nnz and (self.indices.min() < 0 or self.indices.max() >= cols):
            raise ValueError("CSR column index out of range")
        if not np.isfinite(self.data).all():
            raise ValueError("non-finite CSR values")

    @classmethod
    def from_scipy(cls, matrix) -> CSRArrays:
        """The arrays of a scipy CSR matrix as int32 indices and float32 values."""
        return cls(matrix.indptr.astype(np.int32, copy=False), matrix.indices.astype(np.int32, copy=False),
                   matrix.data.astype(np.float32, copy=False), matrix.shape)

    def transpose(self) -> CSRArrays:
        """The CSR arrays of the transpose (same dtypes)."""
        import scipy.sparse

        matrix = scipy.sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape, copy=False)
        return CSRArrays.from_scipy(matrix.T.tocsr())

    def to_torch(self) -> Tensor:
        """A torch sparse CSR tensor sharing these arrays' memory."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(
                torch.from_numpy(self.indptr),
                torch.from_numpy(self.indices),
                torch.from_numpy(self.data),
                size=self.shape,
                check_invariants=False,
            )


def build_system_matrix(geometry: CTGeometry) -> CSRArrays:
    """ASTRA's system matrix of ODL's ray transform: rows angle·D + detector, columns row·W + column.

    The ASTRA volume and projection geometries and the projector are the ones ODL's 'astra_cpu'
    RayTransform creates, so A x equals ODL's forward projection. Built in chunks of angles to keep
    the peak memory near the size of the result (LoDoPaB: 236 M entries, 1.9 GB, about a minute);
    a progress bar over the angles is shown on stderr when it is a terminal.
    """
    from tqdm.auto import tqdm
    from odl.applications.tomo.backends.astra_setup import astra_projection_geometry, astra_volume_geometry

    vol_geom = astra_volume_geometry(geometry.odl_space, "cpu")
    proj_geom = astra_projection_geometry(geometry.odl_geometry, "cpu")
    angles = np.asarray(proj_geom["ProjectionAngles"])
    nnz_per_angle = 2 * geometry.size * geometry.num_detectors  # generous: the linear projector's ~2 pixels per row
    chunk = max(1, _BUILD_CHUNK_NONZEROS // nnz_per_angle)
    pieces = []
    with tqdm(total=len(angles), desc="CT system matrix (built once, then cached)", unit="angle", disable=None) as bar:
        for i in range(0, len(angles), chunk):
            pieces.append(_astra_matrix(vol_geom, {**proj_geom, "ProjectionAngles": angles[i : i + chunk]}))
            bar.update(len(angles[i : i + chunk]))
    rows = sum(p.shape[0] for p in pieces)
    return _stack_rows(pieces, (rows, geometry.size**2))


def _astra_matrix(vol_geom: dict, proj_geom: dict):
    """The scipy CSR matrix of one ASTRA projector (float32 values, int32 indices)."""
    import astra
    from odl.applications.tomo.backends.astra_setup import astra_projector

    projector = astra_projector(ASTRA_PROJECTOR, vol_geom, proj_geom, 2)
    matrix_id = astra.projector.matrix(projector)
    try:
        matrix = astra.matrix.get(matrix_id)
    finally:
        astra.matrix.delete(matrix_id)
        astra.projector.delete(projector)
    matrix.data = matrix.data.astype(np.float32)
    return matrix


def _stack_rows(pieces: list, shape: tuple[int, int]) -> CSRArrays:
    """Concatenate scipy CSR row blocks into one set of int32/float32 CSR arrays, freeing the blocks."""
    nnz = sum(p.nnz for p in pieces)
    if nnz >= 2**31:
        raise PatchNRError(f"system matrix with {nnz} entries exceeds int32 indexing")
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    indices = np.empty(nnz, dtype=np.int32)
    data = np.empty(nnz, dtype=np.float32)
    row = offset = 0
    while pieces:
        piece = pieces.pop(0)
        indptr[row + 1 : row + piece.shape[0] + 1] = piece.indptr[1:] + offset
        indices[offset : offset + piece.nnz] = piece.indices
        data[offset : offset + piece.nnz] = piece.data
        row, offset = row + piece.shape[0], offset + piece.nnz
    return CSRArrays(indptr.astype(np.int32), indices, data, shape)


def angle_blocks(num_angles: int) -> list[slice]:
    """Sinogram rows of the interleaved angle blocks: block j holds angles j, j + n, j + 2n, … (n blocks)."""
    count = min(ANGLE_BLOCKS, num_angles)
    return [slice(j, None, count) for j in range(count)]


def kept_block_rows(geometry: CTGeometry, count: int) -> tuple[list[slice], list[slice | None]]:
    """For each of the ``count`` angle blocks of the full geometry (``angle_blocks``): the rows of
    ``geometry``'s sinogram that the block covers, and the block's own rows (angles) that ``geometry``
    keeps (None: all of them). Raises ``ValueError`` for a kept range that leaves a block empty."""
    kept = geometry.kept_rows
    sinogram_rows, block_rows = [], []
    for j in range(count):
        angles = range(j, geometry.num_angles, count)
        inside = [k for k, angle in enumerate(angles) if kept.start <= angle < kept.stop]
        if not inside:
            raise ValueError(f"angle block {j} keeps no angle of {kept.start}..{kept.stop - 1}")
        sinogram_rows.append(slice(angles[inside[0]] - kept.start, kept.stop - kept.start, count))
        block_rows.append(None if len(inside) == len(angles) else slice(inside[0], inside[-1] + 1))
    return sinogram_rows, block_rows


def split_angle_blocks(matrix: CSRArrays, num_angles: int, num_detectors: int) -> list[tuple[CSRArrays, CSRArrays]]:
    """(A_j, A_jᵀ) for each angle block j of A (rows angle·D + detector), in ``angle_blocks`` order."""
    import scipy.sparse

    full = scipy.sparse.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape, copy=False)
    pairs = []
    for rows in angle_blocks(num_angles):
        angles = np.arange(num_angles)[rows]
        block = CSRArrays.from_scipy(full[(angles[:, None] * num_detectors + np.arange(num_detectors)).reshape(-1)])
        pairs.append((block, block.transpose()))
    return pairs


def load_system_blocks(geometry: CTGeometry) -> list[tuple[CSRArrays, CSRArrays]]:
    """(A_j, A_jᵀ) per angle block of ``geometry`` from the cache, building and caching them when missing
    or corrupt. The transposes are cached too (LoDoPaB: 2 × 1.8 GB): reading is faster than transposing.

    Building holds the cache's lock (``matrix_lock_path``): a second process that needs the same
    matrix waits for the first (up to ``CACHE_LOCK_TIMEOUT`` seconds) and then reads its file. Where
    no lock file can be made (a read-only cache folder, say) the matrix is built without the lock.
    """
    path = matrix_cache_path(geometry)
    num_angles, num_detectors = geometry.sinogram_shape
    shapes = [(len(range(num_angles)[rows]) * num_detectors, geometry.size**2) for rows in angle_blocks(num_angles)]
    blocks = _read_cached(path, shapes, warn=False)
    if blocks is not None:
        return blocks
    with ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(matrix_lock_path(geometry), CACHE_LOCK_TIMEOUT, remove=True))
        except LockBusy:
            raise PatchNRError(f"another process has been building the CT matrix for {CACHE_LOCK_TIMEOUT:.0f} s "
                               f"(lock {matrix_lock_path(geometry)}); try again when it has finished") from None
        except OSError:  # no lock file can be made where no cache file can be written either (warned below)
            pass
        blocks = _read_cached(path, shapes, warn=True)  # another process may have written it meanwhile
        if blocks is None:
            blocks = split_angle_blocks(build_system_matrix(geometry), num_angles, num_detectors)
            _write_blocks(path, blocks)
        return blocks


def _read_cached(path: Path, shapes: list[tuple[int, int]], warn: bool) -> list[tuple[CSRArrays, CSRArrays]] | None:
    """The cached blocks at ``path``, or None when the file is missing or unreadable (with a warning
    about the corrupt file when ``warn``)."""
    if not path.is_file():
        return None
    try:
        return _read_blocks(path, shapes)
    except Exception as error:  # a truncated or foreign file: rebuild it
        if warn:
            warnings.warn(f"{path}: corrupt CT matrix cache ({type(error).__name__}: {error}); rebuilding", stacklevel=3)
        return None


_PARTS = ("indptr", "indices", "data")


def _read_blocks(path: Path, shapes: list[tuple[int, int]]) -> list[tuple[CSRArrays, CSRArrays]]:
    blocks = []
    with np.load(path, allow_pickle=False) as archive:
        if len(archive.files) != 2 * len(_PARTS) * len(shapes):
            raise ValueError(f"{len(archive.files)} arrays where {len(shapes)} angle blocks need {2 * len(_PARTS) * len(shapes)}")
        for j, shape in enumerate(shapes):
            pair = tuple(_read_csr(archive, f"{prefix}{j}", expected) for prefix, expected in (("a", shape), ("at", shape[::-1])))
            blocks.append(pair)
    return blocks


def _read_csr(archive, prefix: str, shape: tuple[int, int]) -> CSRArrays:
    matrix = CSRArrays(*(archive[f"{prefix}_{part}"] for part in _PARTS), shape)
    if (matrix.indptr.dtype, matrix.indices.dtype, matrix.data.dtype) != (np.int32, np.int32, np.float32):
        raise ValueError("unexpected dtypes")
    matrix.validate()
    return matrix


def _write_blocks(path: Path, blocks: list[tuple[CSRArrays, CSRArrays]]) -> None:
    """Write atomically (temporary file + rename); a failure to write only costs a rebuild next time."""
    arrays = {
        f"{prefix}{j}_{part}": getattr(matrix, part)
        for j, pair in enumerate(blocks)
        for prefix, matrix in zip(("a", "at"), pair)
        for part in _PARTS
    }
    try:
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    except OSError as error:
        warnings.warn(f"could not cache the CT matrix at {path}: {error}", stacklevel=3)


# ---------------------------------------------------------------------------------------------------
# The torch module


class _LinearMap(torch.autograd.Function):
    """y = apply(x) with gradient apply_t(ḡ) (apply_t the transpose of the linear map apply)."""

    @staticmethod
    def forward(ctx, x: Tensor, apply: Callable[[Tensor], Tensor], apply_t: Callable[[Tensor], Tensor]) -> Tensor:
        ctx.maps = (apply, apply_t)
        return apply(x)

    @staticmethod
    def backward(ctx, grad: Tensor):
        apply, apply_t = ctx.maps
        return _LinearMap.apply(grad, apply_t, apply), None, None


def cuda_backend_available() -> bool:
    """Whether torch sees a GPU and ODL's ASTRA has CUDA."""
    if not torch.cuda.is_available():
        return False
    from odl.applications import tomo

    return bool(tomo.ASTRA_CUDA_AVAILABLE)


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend for a requested name and device; ``PatchNRError`` when unusable."""
    if backend not in BACKENDS:
        raise PatchNRError(f"unknown CT backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "sparse"
    if backend == "astra_cuda" and not cuda_backend_available():
        raise PatchNRError("CT backend 'astra_cuda' needs a CUDA GPU visible to torch and ASTRA; use 'sparse' or 'astra_cpu'")
    return backend


class RayTransform(Operator):
    """x (B×C×H×W) ↦ A x (B×C×A×D), differentiable; ``adjoint`` is Aᵀ; ``fbp`` is ODL's Hann FBP.

    Args:
        geometry: the ``CTGeometry``.
        backend: 'auto', 'sparse', 'astra_cpu' or 'astra_cuda' (module docstring).
        device: where the sparse matrices and the FBP filter live (``.to(device)`` moves them too).
    Attributes: ``geometry``, ``backend`` (the resolved name), ``input_shape`` (H, W),
    ``output_shape`` (A, D).
    """

    def __init__(self, geometry: CTGeometry, backend: str = "auto", device: str | torch.device = "cpu"):
        super().__init__()
        device = torch.device(device)
        self.geometry = geometry
        self.backend = resolve_backend(backend, device)
        self.input_shape = geometry.image_shape
        self.output_shape = geometry.sinogram_shape
        odl_impl = "astra_cuda" if self.backend == "astra_cuda" else "astra_cpu"
        self._odl = geometry.odl_ray_transform(odl_impl)
        # ODL's weighted adjoint is Aᵀ · (sinogram cell volume / image cell volume)
        self._odl_adjoint_scale = float(self._odl.range.cell_volume / self._odl.domain.cell_volume)
        if self.backend == "sparse":  # a limited-angle geometry uses the full geometry's matrix, less the rows it drops
            blocks = load_system_blocks(geometry.full_geometry)
            self._angle_blocks, self._block_rows = kept_block_rows(geometry, len(blocks))
            for j, (block, block_t) in enumerate(blocks):
                self.register_buffer(_block_name(j, transposed=False), block.to_torch(), persistent=False)
                self.register_buffer(_block_name(j, transposed=True), block_t.to_torch(), persistent=False)
        self.register_buffer("fbp_filter", torch.from_numpy(fbp_filter_matrix(self._odl)), persistent=False)
        self.to(device)

    def range_shape(self, image_shape: Shape) -> Shape:
        return self.geometry.range_shape(image_shape)

    def domain_shape(self, observation_shape: Shape) -> Shape:
        return self.geometry.domain_shape(observation_shape)

    def forward(self, x: Tensor) -> Tensor:
        """A x: B×C×H×W → B×C×A×D (line integrals in metres), differentiable (gradient Aᵀ)."""
        return _LinearMap.apply(x, self._project, self._backproject)

    def adjoint(self, y: Tensor) -> Tensor:
        """Aᵀ y: B×C×A×D → B×C×H×W (Euclidean transpose; differentiable, gradient A)."""
        return _LinearMap.apply(y, self._backproject, self._project)

    def fbp(self, y: Tensor) -> Tensor:
        """Filtered back-projection (Hann, frequency scaling 0.641…) as ODL's ``fbp_op``: B×C×A×D → B×C×H×W."""
        filtered = torch.matmul(y, self.fbp_filter.to(y.dtype).T)
        return self.adjoint(filtered) * self._odl_adjoint_scale

    pseudo_inverse = fbp

    @property
    def stored_entries(self) -> int | None:
        """Entries stored for the system matrix A, ASTRA's few explicit zeros included (sparse backend; None otherwise)."""
        if self.backend != "sparse":
            return None
        return sum(self._system_block(j).values().numel() for j in range(len(self._angle_blocks)))

    def measurement_blocks(self, y: Tensor) -> list[tuple[Callable[[Tensor], Tensor], Tensor]]:
        """Pairs (x ↦ A_j x, y_j) over the interleaved angle blocks j of a sinogram y (B×C×A×D), for
        ordered subsets: each A_j costs 1/n of A. The sparse backend only; otherwise [(A, y)]."""
        if self.backend != "sparse":
            return [(self, y)]
        return [(partial(self._apply_block, j), y[..., rows, :]) for j, rows in enumerate(self._angle_blocks)]

    def _apply_block(self, j: int, x: Tensor) -> Tensor:
        return _LinearMap.apply(x, partial(self._project_block, j), partial(self._backproject_block, j))

    def _system_block(self, j: int, transposed: bool = False) -> Tensor:
        """The sparse rows of A for angle block j (angles of the block × detector bins, flattened), or Aᵀ's."""
        return getattr(self, _block_name(j, transposed))

    def _project_block(self, j: int, x: Tensor) -> Tensor:
        """A_j x: the full geometry's block j, less the angles this geometry drops."""
        self._check(x, self.input_shape, "image")
        block = self._system_block(j)
        full = _sparse_apply(block, x, (block.shape[0] // self.output_shape[1], self.output_shape[1]))
        return full if self._block_rows[j] is None else full[..., self._block_rows[j], :]

    def _backproject_block(self, j: int, y: Tensor) -> Tensor:
        """A_jᵀ y: the dropped angles of block j count as zeros."""
        block_t = self._system_block(j, transposed=True)
        if self._block_rows[j] is not None:
            padded = y.new_zeros(*y.shape[:-2], block_t.shape[1] // self.output_shape[1], self.output_shape[1])
            padded[..., self._block_rows[j], :] = y
            y = padded
        return _sparse_apply(block_t, y, self.input_shape)

    def _project(self, x: Tensor) -> Tensor:
        self._check(x, self.input_shape, "image")
        if self.backend != "sparse":
            return self._odl_apply(x, self._odl, self.output_shape, 1.0)
        out = x.new_empty(*x.shape[:-2], *self.output_shape)
        for j, rows in enumerate(self._angle_blocks):
            out[..., rows, :] = self._project_block(j, x)
        return out

    def _backproject(self, y: Tensor) -> Tensor:
        self._check(y, self.output_shape, "sinogram")
        if self.backend != "sparse":
            return self._odl_apply(y, self._odl.adjoint, self.input_shape, 1.0 / self._odl_adjoint_scale)
        return sum(self._backproject_block(j, y[..., rows, :]) for j, rows in enumerate(self._angle_blocks))

    @staticmethod
    def _odl_apply(x: Tensor, operator, out_shape: tuple[int, int], scale: float) -> Tensor:
        """Apply an ODL operator to each 2-D slice of x through NumPy (float32), times ``scale``."""
        slices = x.detach().reshape(-1, *x.shape[-2:]).to("cpu", torch.float32).numpy()
        with _quiet_odl():  # ODL builds its ASTRA backend on the first call
            out = np.stack([operator(operator.domain.element(s)).data for s in slices]) * np.float32(scale)
        return torch.from_numpy(out).to(x.device, x.dtype).reshape(*x.shape[:-2], *out_shape)

    @staticmethod
    def _check(x: Tensor, shape: tuple[int, int], what: str) -> None:
        if x.dim() < 3 or tuple(x.shape[-2:]) != shape:
            raise PatchNRError(f"CT {what} must be B×C×{shape[0]}×{shape[1]}, got {tuple(x.shape)}")

    def extra_repr(self) -> str:
        return f"geometry={self.geometry}, backend={self.backend!r}"


def _block_name(j: int, transposed: bool) -> str:
    """Buffer name of the sparse system block j (``block3``) or of its transpose (``block3_t``)."""
    return f"block{j}_t" if transposed else f"block{j}"


def _sparse_apply(matrix: Tensor, x: Tensor, out_shape: tuple[int, int]) -> Tensor:
    """matrix @ each flattened slice of x (computed in the matrix's dtype, returned in x's)."""
    flat = x.reshape(-1, x.shape[-2] * x.shape[-1]).to(matrix.dtype)
    if flat.shape[0] == 1:  # a matrix-vector product is twice as fast as a one-column product
        out = torch.mv(matrix, flat[0])[None]
    else:
        out = torch.sparse.mm(matrix, flat.T.contiguous()).T
    return out.to(x.dtype).reshape(*x.shape[:-2], *out_shape)


def fbp_filter_matrix(odl_ray_transform) -> np.ndarray:
    """ODL's FBP detector filter (Hann, frequency scaling 0.641…, zero padding) as a D×D float32 matrix F.

    ODL filters every angle's row of the sinogram the same way, so its filter is linear in the
    detector values alone: ``filtered = y @ F.T``; read off column by column from impulses.
    """
    from odl.applications import tomo

    operator = tomo.fbp_filter_op(odl_ray_transform, padding=True, filter_type=FBP_FILTER, frequency_scaling=FBP_FREQUENCY_SCALING)
    angles, detectors = odl_ray_transform.range.shape
    columns = np.empty((detectors, detectors), dtype=np.float64)
    for start in range(0, detectors, angles):
        count = min(angles, detectors - start)
        impulses = np.zeros((angles, detectors), dtype=np.float32)
        impulses[np.arange(count), start + np.arange(count)] = 1.0
        columns[start : start + count] = operator(operator.domain.element(impulses)).data[:count]
    return columns.T.astype(np.float32)


__all__ = [
    "CTGeometry",
    "RayTransform",
    "lodopab_geometry",
    "limited_angle_geometry",
    "small_geometry",
    "build_system_matrix",
    "angle_blocks",
    "load_system_blocks",
    "matrix_cache_path",
    "matrix_lock_path",
    "cache_dir",
    "fbp_filter_matrix",
    "resolve_backend",
    "FBP_FREQUENCY_SCALING",
]
