import pytest
import torch

from patchnr.operators import GaussianDownsample, gaussian_kernel, initial_guess, superresolution_x2_zero_shot, superresolution_x4


def test_kernel_is_normalised_and_centred():
    kernel = gaussian_kernel(16, 2.0)
    assert kernel.shape == (16, 16)
    assert torch.isclose(kernel.sum(), torch.tensor(1.0))
    assert torch.allclose(kernel, kernel.flip(0)) and torch.allclose(kernel, kernel.T)


def test_paper_x4_shapes():
    op = superresolution_x4()
    assert op(torch.rand(1, 1, 600, 600)).shape == (1, 1, 150, 150)
    assert op(torch.rand(2, 1, 64, 48)).shape == (2, 1, 16, 12)
    assert op.output_size(600) == 150 and op.input_size(150) == 600


def test_zero_shot_x2_valid_shapes():
    op = superresolution_x2_zero_shot()
    y = op(torch.rand(1, 1, 100, 100))
    assert y.shape == (1, 1, 43, 43) and op.output_size(100) == 43
    assert op.pseudo_inverse(y).shape == (1, 1, op.input_size(43), op.input_size(43))


def test_periodic_wrap_is_circular_convolution():
    """A shifted image (by one stride) gives a shifted observation, wrapping around."""
    op = superresolution_x4()
    x = torch.rand(1, 1, 32, 32)
    shifted = torch.roll(x, shifts=(4, 8), dims=(2, 3))
    assert torch.allclose(op(shifted), torch.roll(op(x), shifts=(1, 2), dims=(2, 3)), atol=1e-6)


def test_constant_image_is_preserved():
    assert torch.allclose(superresolution_x4()(torch.full((1, 1, 40, 40), 0.3)), torch.tensor(0.3))


def test_operator_is_linear_and_has_autograd_adjoint():
    op = superresolution_x4().double()
    x, y = torch.rand(1, 1, 24, 24, dtype=torch.float64), torch.rand(1, 1, 6, 6, dtype=torch.float64)
    adjoint_y = torch.func.vjp(op, x)[1](y)[0]
    assert torch.isclose((op(x) * y).sum(), (x * adjoint_y).sum())


def test_bicubic_pseudo_inverse_is_aligned():
    """The shift-corrected bicubic fits the ground truth better than any other shift."""
    from tests.conftest import texture

    op = superresolution_x4()
    x = torch.from_numpy(texture(96))[None, None]
    up = op.pseudo_inverse(op(x))
    errors = {s: (torch.roll(up, (s - 6, s - 6), (2, 3)) - x).pow(2).mean().item() for s in range(3, 10)}
    assert min(errors, key=errors.get) == 6


def test_initial_guess_falls_back_to_adjoint():
    class Scale:
        def __call__(self, x):
            return 2 * x

        def adjoint(self, y):
            return 2 * y

    assert torch.equal(initial_guess(Scale(), torch.ones(1, 1, 2, 2)), torch.full((1, 1, 2, 2), 2.0))
    assert initial_guess(superresolution_x4(), torch.ones(1, 1, 4, 4)).shape == (1, 1, 16, 16)


# --------------------------------------------------------------------------------------------
# The shared operator contract: shapes, adjointness in float64, gradient against finite differences


def _blur_gaussian():
    from patchnr.operators import blur

    return blur("gaussian:1.5")


def _blur_motion():
    from patchnr.operators import blur

    return blur("motion:7:30")


def _blur_asymmetric():
    from patchnr.operators.blur import Blur

    return Blur(torch.rand(4, 5, generator=torch.Generator().manual_seed(0)))


def _inpainting():
    from patchnr.operators import Inpainting

    return Inpainting(missing=0.5, seed=1)


def _bicubic():
    from patchnr.operators import BicubicDownsample

    return BicubicDownsample(4)


def _zero_shot_x2():
    from patchnr.operators import zero_shot_x2

    return zero_shot_x2()


def _zero_shot_x4():
    from patchnr.operators import zero_shot_x4

    return zero_shot_x4()


OPERATORS = {
    "blur-gaussian": _blur_gaussian, "blur-motion": _blur_motion, "blur-asymmetric": _blur_asymmetric,
    "inpainting": _inpainting, "bicubic-x4": _bicubic, "zero-shot-x2": _zero_shot_x2, "zero-shot-x4": _zero_shot_x4,
    "sr-x4": superresolution_x4,
}
CONTRACT_IMAGE = (32, 32)


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operator_contract(name):
    op = OPERATORS[name]().double()
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, *CONTRACT_IMAGE, dtype=torch.float64, generator=generator)
    ax = op(x)
    observation_shape = tuple(ax.shape[-2:])
    assert ax.shape[:2] == (2, 1) and observation_shape == tuple(op.range_shape(CONTRACT_IMAGE))
    assert tuple(op.domain_shape(observation_shape)) == CONTRACT_IMAGE
    y = torch.rand(ax.shape, dtype=torch.float64, generator=generator)
    assert torch.isclose((ax * y).sum(), (x * op.adjoint(y)).sum(), rtol=1e-10)
    direction = torch.randn(x.shape, dtype=torch.float64, generator=generator)
    x.requires_grad_(True)
    (gradient,) = torch.autograd.grad((op(x) * y).sum(), x)
    step = 1e-6
    finite = ((op(x + step * direction) - op(x - step * direction)) * y).sum() / (2 * step)
    assert torch.isclose((gradient * direction).sum(), finite, rtol=1e-6)
    if callable(getattr(op, "pseudo_inverse", None)):
        assert op.pseudo_inverse(ax.detach()).shape == x.shape
