"""Write LoDoPaB-scale CT slices (362×362 float32 .npy, μ/μ_max in [0, 1]) with a train/val/test split.

- train/: the 4 realistic MIT-licensed pydicom slices, the only data the bundled CT prior may be trained on;
- val/, test/: slices of the GPL cranium volume, for experiments only (never copied into the package);
  every chosen cranium slice is ≥ 8 slices (12 mm) from every other, and all show real anatomy
  (the top slices, above index ≈ 95, hold little more than the skull cap and are skipped);
- one further MIT slice, not used for training, becomes the package's example
  ``patchnr/data/examples/ct_slice.npy``.

Usage: python data_scripts/prepare_ct.py [--out runs/ct_data] [--cranium PATH] [--no-example]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from patchnr.operators.ct.lodopab import LODOPAB_SIZE, cranium_slices, hu_to_lodopab_slice, pydicom_slices
from patchnr.io.images import atomic_path, save_array

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "runs" / "ct_data"
DEFAULT_CRANIUM = REPO.parent / "shared" / "data" / "ct" / "cranium_hu.npz"
EXAMPLE_PATH = REPO / "patchnr" / "data" / "examples" / "ct_slice.npy"

TRAIN_MIT = (
    "693_UNCR.dcm",  # head, 24.5 cm field of view
    "J2K_pixelrep_mismatch.dcm",  # head, skull base
    "bad_sequence.dcm",  # neck (needs pylibjpeg + pylibjpeg-libjpeg)
    "explicit_VR-UN.dcm",  # abdomen
)
# CT_small.dcm (128², 8.5 cm field of view): unseen in training, needs no decoder plugin
EXAMPLE_MIT = "CT_small.dcm"
# Not used: eCT_Supplemental.dcm, a processed brain map (skull removed, sulci set to air) that
# would teach the prior unrealistic patches.
CRANIUM_SPACING = 8  # minimum index distance between chosen slices
CRANIUM_CHOSEN = tuple(range(2, 91, CRANIUM_SPACING))  # 2, 10, …, 90: 12 slices with anatomy
VAL_CRANIUM = (34, 66)
TEST_CRANIUM = tuple(i for i in CRANIUM_CHOSEN if i not in VAL_CRANIUM)
# More validation slices for recipe choices, halfway between chosen slices, so each lies
# 4 slices from its nearest test slice; never used for anything reported as a test result.
EXTRA_VAL_CRANIUM = (30, 54, 78)


def _slug(name: str) -> str:
    return name.replace(".dcm", "").replace("#", "_frame")


def _check_split() -> None:
    chosen = sorted(VAL_CRANIUM + TEST_CRANIUM)
    assert len(set(chosen)) == len(chosen) and min(np.diff(chosen)) >= CRANIUM_SPACING
    assert len(TEST_CRANIUM) >= 10 and 2 <= len(VAL_CRANIUM) <= 3
    assert not set(EXTRA_VAL_CRANIUM) & set(chosen)
    assert EXAMPLE_MIT not in TRAIN_MIT


def write_mit(out: Path, write_example: bool) -> dict[str, list[str]]:
    """The MIT training slices (and the example) → out/train/*.npy; returns the split lists."""
    slices = pydicom_slices()
    missing = [name for name in (*TRAIN_MIT, EXAMPLE_MIT) if name not in slices]
    if missing:
        print(f"warning: could not load {missing} (bad_sequence.dcm needs pylibjpeg pylibjpeg-libjpeg)")
    train = [name for name in TRAIN_MIT if name in slices]
    for name in train:
        save_array(out / "train" / f"{_slug(name)}.npy", hu_to_lodopab_slice(slices[name], LODOPAB_SIZE))
    example = []
    if write_example and EXAMPLE_MIT in slices:
        save_array(EXAMPLE_PATH, hu_to_lodopab_slice(slices[EXAMPLE_MIT], LODOPAB_SIZE))
        example = [EXAMPLE_MIT]
    return {"train": train, "example": example}


def write_cranium(out: Path, cranium: Path) -> dict[str, list[int]]:
    """The cranium validation and test slices → out/{val,val_extra,test}/cranium_NNN.npy."""
    split = {"val": list(VAL_CRANIUM), "val_extra": list(EXTRA_VAL_CRANIUM), "test": list(TEST_CRANIUM)}
    for folder, indices in split.items():
        for index, hu in cranium_slices(cranium, indices).items():
            save_array(out / folder / f"cranium_{index:03d}.npy", hu_to_lodopab_slice(hu, LODOPAB_SIZE))
    return split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cranium", type=Path, default=DEFAULT_CRANIUM, help="cranium_hu.npz (hu: int16 108×256×256)")
    parser.add_argument("--no-example", action="store_true", help="do not (re)write the package's example slice")
    args = parser.parse_args()
    _check_split()
    splits: dict = {**write_mit(args.out, not args.no_example), **write_cranium(args.out, args.cranium)}
    splits.update(
        licence={"train": "MIT (pydicom, pydicom-data)", **{f: "GPL-2 (invesalius-examples)" for f in ("val", "val_extra", "test")}},
        scale="mu/mu_max, LoDoPaB: HU clipped to [-1024, 3071], 362x362 on a 26 cm field of view",
        example_path=str(EXAMPLE_PATH.relative_to(REPO)) if splits["example"] else None,
    )
    with atomic_path(args.out / "splits.json") as temporary:
        temporary.write_text(json.dumps(splits, indent=2) + "\n")
    for folder in ("train", "val", "val_extra", "test", "example"):
        print(f"{folder:10s} {len(splits[folder]):2d}: {', '.join(map(str, splits[folder]))}")
    print(f"written to {args.out} (splits.json)")


if __name__ == "__main__":
    main()
