"""Parallel-beam CT: geometry, the system-matrix cache, the ray transform with FBP, and LoDoPaB's data preparation."""

from patchnr.operators.ct.ray_transform import (
    BACKENDS,
    CTGeometry,
    RayTransform,
    cache_dir,
    limited_angle_geometry,
    lodopab_geometry,
    matrix_cache_path,
    resolve_backend,
    small_geometry,
)

__all__ = ["BACKENDS", "CTGeometry", "RayTransform", "cache_dir", "limited_angle_geometry", "lodopab_geometry",
           "matrix_cache_path", "resolve_backend", "small_geometry"]
