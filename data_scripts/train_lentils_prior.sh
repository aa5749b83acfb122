#!/usr/bin/env bash
# Train the bundled lentils prior of the deblur and inpaint tasks (fast recipe, an 8-minute budget
# on 1 thread) on img_learn_lentils.png, validated on img_val_lentils.png, and export a slim copy
# into patchnr/data/priors/. Needs ../shared (the lentils images, MIT).
set -euo pipefail
cd "$(dirname "$0")/.."
LENTILS=../shared/data/sr/lentils
mkdir -p runs/priors
python3 -m patchnr train "$LENTILS/img_learn_lentils.png" --validation "$LENTILS/img_val_lentils.png" \
    --out runs/priors/lentils.pt --minutes 8 --seed 0
python3 -c "from patchnr.flows.checkpoint import export_flow; export_flow('runs/priors/lentils.pt', 'patchnr/data/priors/lentils.pt', trained_on='img_learn_lentils.png (MIT, patchNR paper), validated on img_val_lentils.png')"
