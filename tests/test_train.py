"""Training: the budget and the learning-rate schedule; bf16 autocast still fits the data."""

import csv
import math

import pytest

import torch

from patchnr import FlowConfig, TrainConfig, load_flow, train_flow
from patchnr.flows.train import validation_nll
from patchnr.patches import PatchPool
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


def test_schedule_follows_whichever_of_steps_and_seconds_is_further_along():
    config = TrainConfig(steps=100, max_seconds=10.0)
    assert config.progress(20, 5.0) == pytest.approx(0.5)
    assert config.progress(60, 5.0) == pytest.approx(0.6)
    assert TrainConfig(steps=100).progress(20, 1e9) == pytest.approx(0.2)
    assert config.lr_factor(0.0) == pytest.approx(1.0)
    assert config.lr_factor(0.5) == pytest.approx(0.01 + 0.99 * 0.5)
    assert config.lr_factor(1.0) == config.lr_factor(3.0) == pytest.approx(0.01)
    assert TrainConfig.paper().lr_factor(0.7) == 1.0


def test_bf16_training_fits_the_patches_and_keeps_fp32_weights():
    image = torch.from_numpy(texture(48))[None]
    flow_config = FlowConfig(num_layers=2, hidden_width=32)
    patches = PatchPool([image], flow_config.patch_size).sample(2000, torch.Generator().manual_seed(1))
    trained = {}
    for bf16 in (False, True):
        config = TrainConfig(steps=300, batch_size=256, lr=2e-3, bf16=bf16)
        flow = train_flow([image], flow_config, config, progress=False)
        assert all(p.dtype == torch.float32 for p in flow.parameters())
        trained[bf16] = validation_nll(flow, patches)
    untrained = validation_nll(type(flow)(flow_config), patches)
    assert math.isfinite(trained[True]) and trained[True] < untrained - 20
    assert abs(trained[True] - trained[False]) < 0.1 * abs(untrained - trained[False])
