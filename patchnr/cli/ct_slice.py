"""``patchnr ct-slice``: a native 512² CT slice → a LoDoPaB ground truth (and its simulated observation)."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import torch

from patchnr.cli.arguments import require_suffix, seed


def add_ct_slice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slice", type=Path, help="a 512×512 DICOM slice, or a .npy array of Hounsfield units")
    parser.add_argument("--out", type=Path, required=True, help="the 362×362 ground truth in μ/μ_max (.npy, float32)")
    parser.add_argument("--observation", type=Path,
                        help="also simulate LoDoPaB's low-dose observation of it (.npy, 1000×513 sinogram for --op ct-lowdose)")
    parser.add_argument("--seed", type=seed, default=0, help="seed of the U(0, 1) HU dequantisation noise and of the Poisson counts")
    parser.set_defaults(run=run_ct_slice)


def run_ct_slice(args: argparse.Namespace) -> None:
    from patchnr.io.images import save_array
    from patchnr.io.outputs import check_outputs, write_all
    from patchnr.operators.ct.lodopab import lodopab_slice, read_native_slice, simulate_lodopab
    from patchnr.operators.ct.ray_transform import lodopab_geometry

    require_suffix(args.out, ".npy", "--out")
    require_suffix(args.observation, ".npy", "--observation")
    check_outputs({"--out": args.out, "--observation": args.observation}, {"slice": args.slice})
    image = lodopab_slice(read_native_slice(args.slice), args.seed)
    writers = {args.out: partial(save_array, array=image)}
    if args.observation is not None:
        sinogram = simulate_lodopab(torch.from_numpy(image)[None, None], lodopab_geometry(), args.seed)[0, 0].numpy()
        writers[args.observation] = partial(save_array, array=sinogram)
    write_all(writers)
    for path in writers:
        print(f"wrote {path.resolve()}")
