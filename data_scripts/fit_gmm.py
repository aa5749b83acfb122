"""Fit a bundled EPLL mixture: 200 Gaussians of 6×6 patches on a prior's training images.

    python data_scripts/fit_gmm.py --out patchnr/data/priors/gmm_sr_material.pt ../shared/data/sr/material/img_learn_material.png
    python data_scripts/fit_gmm.py --out patchnr/data/priors/gmm_ct_lodopab.pt runs/ct_data/train/*.npy
    python data_scripts/fit_gmm.py --out patchnr/data/priors/gmm_lentils.pt ../shared/data/sr/lentils/img_learn_lentils.png

The training images are those of the patchNR prior of the same task (README, "Bundled priors");
``GMMSettings`` defaults: 60 000 patches drawn uniformly (seed 0), EM by scikit-learn (k-means
start, 100 iterations, 1e-6 added to the covariances' diagonals), one BLAS thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from patchnr.io.images import load_image
from patchnr.priors.gmm import GMMSettings, fit_gmm, save_gmm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", type=Path, help="training images (2-D, values in [0, 1])")
    parser.add_argument("--out", type=Path, required=True, help="the mixture file to write (.pt, tensors only)")
    args = parser.parse_args()
    start = time.perf_counter()
    gmm = fit_gmm([load_image(path) for path in args.images], GMMSettings())
    save_gmm(args.out, gmm)
    print(f"wrote {args.out}: converged {bool(gmm['converged'])}, lower bound {float(gmm['lower_bound']):.3f}, "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
