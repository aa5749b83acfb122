"""One-off check of the CT operator on a full geometry (default LoDoPaB): matrix build time and
memory, cache size, sparse vs ODL astra_cpu agreement, per-application times. Not a test (minutes, GBs).

Usage: python data_scripts/check_ct_operator.py [--limited] [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from patchnr.operators.ct.ray_transform import RayTransform, lodopab_geometry, limited_angle_geometry, matrix_cache_path


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _time(fn, repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limited", action="store_true", help="the limited-angle geometry")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    geometry = limited_angle_geometry() if args.limited else lodopab_geometry()
    path = matrix_cache_path(geometry)
    print(f"geometry {geometry}\ncache {path} (exists: {path.is_file()})")
    start = time.perf_counter()
    sparse = RayTransform(geometry, backend="sparse")
    print(f"sparse init (build or load + transpose): {time.perf_counter() - start:.1f} s, peak RSS {_peak_rss_gb():.2f} GB")
    print(f"cache size {path.stat().st_size / 2**30:.2f} GiB (A and Aᵀ), nnz {sparse.stored_entries:,}")
    del sparse
    start = time.perf_counter()
    sparse = RayTransform(geometry, backend="sparse")
    print(f"second construction (cache load): {time.perf_counter() - start:.1f} s")
    astra = RayTransform(geometry, backend="astra_cpu")
    generator = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, geometry.size), torch.linspace(-1, 1, geometry.size), indexing="ij")
    phantom = ((xx**2 / 0.6 + yy**2 / 0.8) < 1).float() * 0.3 + 0.1 * torch.rand(geometry.size, geometry.size, generator=generator)
    x = phantom[None, None]
    y = torch.rand(1, 1, *geometry.sinogram_shape, generator=generator)
    print(f"forward  sparse vs ODL astra_cpu: relative difference {_relative(sparse(x), astra(x)):.2e}")
    print(f"adjoint  sparse vs astra_cpu Euclidean adjoint: {_relative(sparse.adjoint(y), astra.adjoint(y)):.2e}")
    print(f"fbp      sparse vs astra_cpu: {_relative(sparse.fbp(sparse(x)), astra.fbp(astra(x))):.2e}")
    print(f"fbp(Ax) vs x: {_relative(sparse.fbp(sparse(x)), x):.3f}")
    for name, op in (("sparse", sparse), ("astra_cpu", astra)):
        with torch.no_grad():
            times = [_time(lambda: op(x), args.repeats), _time(lambda: op.adjoint(y), args.repeats), _time(lambda: op.fbp(y), args.repeats)]
        xg = x.clone().requires_grad_()
        both = _time(lambda: op(xg).sum().backward(), args.repeats)
        print(f"{name:9s} forward {times[0]:.3f} s, adjoint {times[1]:.3f} s, fbp {times[2]:.3f} s, forward+backward {both:.3f} s (threads {torch.get_num_threads()})")
    print(f"peak RSS {_peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
