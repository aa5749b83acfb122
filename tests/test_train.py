"""Training: the wall-clock budget ends a run early, validated and checkpointed."""

import csv

import torch

from patchnr import FlowConfig, TrainConfig, load_flow, train_flow
from tests.conftest import texture


def test_time_budget_stops_after_the_first_step_past_it(tmp_path):
    image = torch.from_numpy(texture(32))[None]
    config = TrainConfig(steps=1000, batch_size=64, validate_every=500, checkpoint_every=500, max_seconds=0.0)
    train_flow([image], FlowConfig(num_layers=1, hidden_width=8), config, validation_image=image,
               checkpoint=tmp_path / "flow.pt", log_csv=tmp_path / "log.csv", progress=False)
    _, metadata = load_flow(tmp_path / "flow.pt")
    assert metadata["step"] == 1
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [row["step"] for row in rows] == ["1"]
