import pytest
import torch

from patchnr import CheckpointError, FlowConfig, PatchFlow, load_flow, save_flow


def test_roundtrip_is_self_describing(tmp_path):
    config = FlowConfig(patch_size=4, channels=2, num_layers=2, hidden_width=8)
    flow = PatchFlow(config)
    save_flow(tmp_path / "f.pt", flow, {"note": "x"})
    payload = torch.load(tmp_path / "f.pt", weights_only=True)
    assert payload["format"] == "patchnr-flow" and payload["format_version"] == 1 and payload["config"]["channels"] == 2
    loaded, metadata = load_flow(tmp_path / "f.pt")
    assert loaded.config == config and metadata == {"note": "x"}
    x = torch.rand(5, 32)
    assert torch.equal(loaded(x)[0], flow(x)[0])


def test_weights_not_fitting_their_architecture(tmp_path):
    flow = PatchFlow(FlowConfig(num_layers=1, hidden_width=8))
    save_flow(tmp_path / "f.pt", flow)
    payload = torch.load(tmp_path / "f.pt", weights_only=True)
    payload["config"]["hidden_width"] = 16
    torch.save(payload, tmp_path / "g.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_flow(tmp_path / "g.pt")


@pytest.mark.parametrize("payload, message", [([1, 2], "not a patchnr"), ({"format": "other"}, "not a patchnr"),
                                              ({"format": "patchnr-flow", "format_version": 99}, "version")])
def test_foreign_files_are_rejected(tmp_path, payload, message):
    torch.save(payload, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=message):
        load_flow(tmp_path / "x.pt")


def test_save_is_atomic_when_it_fails(tmp_path, monkeypatch):
    flow = PatchFlow(FlowConfig(num_layers=1, hidden_width=8))

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_flow(tmp_path / "f.pt", flow)
    assert list(tmp_path.iterdir()) == []
