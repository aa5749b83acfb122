"""Weights saved by the reference code (a FrEIA ReversibleGraphNet) load into PatchFlow."""

import warnings

import FrEIA.framework as Ff
import FrEIA.modules as Fm
import torch
from torch import nn

from patchnr import load_flow


def reference_graph(num_layers: int, width: int, dimension: int) -> Ff.ReversibleGraphNet:
    """The reference code's create_NF, rebuilt here to produce a genuine reference state dict."""

    def subnet(c_in, c_out):
        return nn.Sequential(nn.Linear(c_in, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, c_out))

    nodes = [Ff.InputNode(dimension, name="input")]
    for k in range(num_layers):
        nodes.append(Ff.Node(nodes[-1], Fm.GLOWCouplingBlock, {"subnet_constructor": subnet, "clamp": 1.6}, name=f"coupling_{k}"))
        nodes.append(Ff.Node(nodes[-1], Fm.PermuteRandom, {"seed": k + 1}, name=f"permute_flow_{k}"))
    nodes.append(Ff.OutputNode(nodes[-1], name="output"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return Ff.ReversibleGraphNet(nodes, verbose=False)


def test_reference_state_dict_loads_and_matches(tmp_path):
    torch.manual_seed(0)
    reference = reference_graph(num_layers=5, width=32, dimension=36)
    for p in reference.parameters():
        if p.requires_grad:
            p.data.normal_(0, 0.2)
    path = tmp_path / "patchNR_reference.pth"
    torch.save({"net_state_dict": reference.state_dict()}, path)

    flow, metadata = load_flow(path)
    assert flow.config.hidden_width == 32 and flow.config.num_layers == 5 and flow.config.patch_size == 6
    reference, flow = reference.double(), flow.double()
    x = torch.rand(100, 36, dtype=torch.float64)
    z_ref, log_det_ref = reference(x)
    z, log_det = flow(x)
    assert torch.allclose(z, z_ref, atol=1e-10)
    assert torch.allclose(log_det, log_det_ref, atol=1e-10)
    x_ref, _ = reference(z_ref, rev=True)
    x_back, _ = flow(z, rev=True)
    assert torch.allclose(x_back, x_ref, atol=1e-10)
