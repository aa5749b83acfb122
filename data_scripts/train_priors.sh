#!/usr/bin/env bash
# Re-train the bundled priors with the recipe that made them (fp32, 10 000-12 000 steps at lr 1e-3) and export slim copies into patchnr/data/priors/
# Needs ../shared (the material images) and the CT training split from data_scripts/prepare_ct.py.
# Each run took 16-23 minutes here (1 thread, other jobs sharing the 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
SR=../shared/data/sr/material
mkdir -p runs/priors
patchnr train "$SR/img_learn_material.png" --validation "$SR/img_val_material.png" \
    --out runs/priors/sr_material_w256.pt --width 256 --steps 12000 --batch 512 --lr 1e-3 --fp32
python3 -c "from patchnr.flows.checkpoint import export_flow; export_flow('runs/priors/sr_material_w256.pt', 'patchnr/data/priors/sr_material.pt', trained_on='img_learn_material.png (MIT, patchNR paper), validated on img_val_material.png')"
patchnr train runs/ct_data/train/*.npy --validation runs/ct_data/val/cranium_034.npy \
    --out runs/priors/ct_lodopab_w256.pt --width 256 --steps 10000 --batch 512 --lr 1e-3 --fp32
python3 -c "from patchnr.flows.checkpoint import export_flow; export_flow('runs/priors/ct_lodopab_w256.pt', 'patchnr/data/priors/ct_lodopab.pt', trained_on='4 MIT pydicom CT slices on the LoDoPaB scale')"
