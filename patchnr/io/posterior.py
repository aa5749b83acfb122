"""Writing a posterior summary as a folder: mean.npy, std.npy, q05.npy, q95.npy and figure.png.

The arrays are float32 of the image's shape (H×W). All files or none: they are written into a
temporary folder beside the target, which then takes the target's place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from patchnr.errors import ParameterError
from patchnr.io.images import current_umask

ARRAYS = ("mean", "std", "q05", "q95")
FIGURE = "figure.png"


def posterior_files(directory: str | os.PathLike) -> list[Path]:
    """The files a posterior folder holds."""
    return [Path(directory) / f"{name}.npy" for name in ARRAYS] + [Path(directory) / FIGURE]


def check_posterior_folder(directory: str | os.PathLike) -> None:
    """Raise ``PatchNRError`` if ``directory`` is a file, or a folder holding anything but a posterior
    summary: ``write_posterior`` replaces the folder whole, so it must never hold other data."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ParameterError("out", f"{directory} is a file, not a folder")
    expected = {path.name for path in posterior_files(directory)}
    foreign = sorted(p.name for p in directory.iterdir() if p.name not in expected) if directory.is_dir() else []
    if foreign:
        raise ParameterError("out", f"{directory} holds other files ({', '.join(foreign[:3])}); give a new or a posterior folder")


def posterior_figure(path: Path, summary: dict[str, np.ndarray], ground_truth: np.ndarray | None = None, title: str = "") -> None:
    """mean | std | |mean − ground truth| (the last only with a ground truth), 2-D maps; std and error
    each on its own colour scale (0 to its 99.5th percentile)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("posterior mean", summary["mean"], "gray"), ("posterior std", summary["std"], "magma")]
    if ground_truth is not None:
        panels.append(("|mean − ground truth|", np.abs(summary["mean"] - ground_truth), "magma"))
    figure, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.6), squeeze=False)
    for axis, (name, image, colours) in zip(axes[0], panels):
        limits = {} if colours == "gray" else {"vmin": 0.0, "vmax": float(np.percentile(image, 99.5)) or 1.0}
        shown = axis.imshow(image, cmap=colours, **limits)
        if colours != "gray":
            figure.colorbar(shown, ax=axis, fraction=0.046, pad=0.04)
        axis.set_title(name, fontsize=9)
        axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, format="png")
    plt.close(figure)


def write_posterior(directory: str | os.PathLike, summary: dict[str, np.ndarray], ground_truth: np.ndarray | None = None,
                    title: str = "") -> Path:
    """Write ``summary`` (``ARRAYS`` → 2-D arrays) and its figure into ``directory``, replacing it whole."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        for name in ARRAYS:
            np.save(temporary / f"{name}.npy", np.asarray(summary[name], dtype=np.float32))
        posterior_figure(temporary / FIGURE, summary, ground_truth, title)
        os.chmod(temporary, 0o777 & ~current_umask())
        if directory.exists():
            retired = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.old."))
            os.replace(directory, retired / directory.name)
            os.replace(temporary, directory)
            shutil.rmtree(retired)
        else:
            os.replace(temporary, directory)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
    return directory
