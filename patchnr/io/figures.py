"""Comparison figures: ground truth | reconstructions, with absolute-error maps beneath."""

from __future__ import annotations

import os

import numpy as np

from patchnr.io.images import atomic_path
from patchnr.metrics import quality_summary


def comparison_figure(
    path: str | os.PathLike, images: dict[str, np.ndarray], ground_truth: np.ndarray | None = None, title: str = ""
) -> None:
    """Save a PNG with one column per image (2-D arrays, same size); with a ground truth, a first
    column shows it, each panel is labelled with PSNR/SSIM, and a second row shows |x − gt|."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ([("ground truth", ground_truth)] if ground_truth is not None else []) + list(images.items())
    rows = 2 if ground_truth is not None else 1
    low, high = (ground_truth.min(), ground_truth.max()) if ground_truth is not None else (0.0, 1.0)
    figure, axes = plt.subplots(rows, len(columns), figsize=(3.2 * len(columns), 3.4 * rows), squeeze=False)
    error_max = max((np.abs(img - ground_truth).max() for _, img in columns[1:]), default=1.0) if ground_truth is not None else 1.0
    for column, (name, image) in enumerate(columns):
        axes[0, column].imshow(image, cmap="gray", vmin=low, vmax=high)
        label = name
        if ground_truth is not None and column > 0:
            label += "\n" + " ".join(quality_summary(image, ground_truth).split())
        axes[0, column].set_title(label, fontsize=9)
        if rows == 2 and column > 0:
            error = np.abs(image - ground_truth)
            axes[1, column].imshow(error, cmap="magma", vmin=0, vmax=0.5 * error_max)
            axes[1, column].set_title("|error|", fontsize=8)
    for axis in axes.flat:
        axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)
