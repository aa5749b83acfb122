"""Files: reading images and arrays, atomic writes, output checks, figures."""

from patchnr.io.images import IMAGE_SUFFIXES, atomic_path, load_image, save_array

__all__ = ["IMAGE_SUFFIXES", "atomic_path", "load_image", "save_array"]
