import torch
from torch.autograd.functional import jacobian

from patchnr import FlowConfig, PatchFlow

SMALL = FlowConfig(patch_size=2, channels=1, num_layers=3, hidden_width=16)


def _flow(config=SMALL) -> PatchFlow:
    torch.manual_seed(1)
    flow = PatchFlow(config).double()
    for p in flow.parameters():  # make the couplings far from identity
        p.data.mul_(3.0)
    return flow


def test_inverse_of_forward_is_identity():
    flow = _flow()
    x = torch.randn(64, 4, dtype=torch.float64)
    z, log_det = flow(x)
    x_back, log_det_rev = flow(z, rev=True)
    assert torch.allclose(x_back, x, atol=1e-10)
    assert torch.allclose(log_det_rev, -log_det, atol=1e-10)
    assert not torch.allclose(z, x, atol=1e-2)


def test_log_det_matches_autograd_jacobian_both_directions():
    flow = _flow()
    for x in torch.randn(5, 4, dtype=torch.float64):
        for rev in (False, True):
            jac = jacobian(lambda v: flow(v[None], rev=rev)[0][0], x)
            _, log_det = flow(x[None], rev=rev)
            assert torch.allclose(log_det[0], torch.linalg.slogdet(jac).logabsdet, atol=1e-9)


def test_reference_architecture_is_default():
    flow = PatchFlow()
    assert flow.config == FlowConfig(patch_size=6, channels=1, num_layers=5, hidden_width=512, clamp=1.6)
    assert 2.8e6 < sum(p.numel() for p in flow.parameters()) < 3.0e6


def test_configurable_channels_and_patch_size():
    flow = PatchFlow(FlowConfig(patch_size=3, channels=3, num_layers=2, hidden_width=8))
    z, log_det = flow(torch.randn(7, 27))
    assert z.shape == (7, 27) and log_det.shape == (7,)
    assert flow.nll(torch.randn(7, 27)).shape == (7,)
