"""Write LoDoPaB-faithful ground truths (362×362 float32 .npy, μ/μ_max) of the 512² MIT-licensed pydicom slices.

Each slice is cut as LoDoPaB-CT cut its own (``patchnr.operators.ct.lodopab.lodopab_slice``: central crop
[75:-75, 75:-75] of the native pixels, transposed, U(0, 1) HU dequantisation noise, μ/μ_max), not
resampled from its whole field of view as ``prepare_ct.py`` does. These are the training crops for a
CT prior on LoDoPaB's pixel size; the same slices as ``prepare_ct.py``'s training split.

Usage: python data_scripts/prepare_lodopab_ct.py [--out runs/ct_data_lodopab] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prepare_ct import TRAIN_MIT, _slug  # noqa: E402  (the training split is defined once, there)

from patchnr.operators.ct.lodopab import lodopab_slice, pydicom_slices  # noqa: E402
from patchnr.io.images import save_array  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "runs" / "ct_data_lodopab"


def write_training_crops(out: Path, seed: int) -> list[Path]:
    """One LoDoPaB-faithful crop per available 512² training slice, under ``out/train``; their paths."""
    slices = pydicom_slices()
    written = []
    for index, name in enumerate(TRAIN_MIT):
        if name not in slices:
            print(f"skipped {name}: not readable here (a missing decoder plugin?)")
            continue
        path = out / "train" / f"{_slug(name)}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_array(path, lodopab_slice(slices[name], seed + index))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0, help="seed of the first slice's dequantisation noise (+1 per slice)")
    args = parser.parse_args()
    for path in write_training_crops(args.out, args.seed):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
