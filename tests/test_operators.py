import pytest
import torch

from patchnr.operators import GaussianDownsample, as_operator, gaussian_kernel, initial_guess, superresolution_x4


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


def _valid_x2() -> GaussianDownsample:
    """The valid-convolution ×2 downsampling inside ``zero_shot_x2`` (16×16 Gaussian σ = 1, stride 2)."""
    return GaussianDownsample(stride=2, kernel_size=16, sigma=1.0, boundary="valid")


def test_valid_x2_shapes():
    op = _valid_x2()
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
    blur = as_operator(lambda x: torch.nn.functional.avg_pool2d(x, 2), image_shape=(4, 4))
    assert torch.allclose(initial_guess(blur, torch.ones(1, 1, 2, 2)), torch.full((1, 1, 4, 4), 0.25))
    assert initial_guess(superresolution_x4(), torch.ones(1, 1, 4, 4)).shape == (1, 1, 16, 16)


# ---------------------------------------------------------------------------------------------------
# The contract every operator follows: shapes, adjointness, gradient against finite differences, norm


def _blur_subsample(x: torch.Tensor) -> torch.Tensor:
    """A user's plain function: 3×3 box blur, then every second pixel (12×12 → 5×5)."""
    kernel = torch.full((1, 1, 3, 3), 1 / 9, dtype=x.dtype)
    return torch.nn.functional.conv2d(x, kernel)[..., ::2, ::2]


def _small_ct(angle_indices: tuple[int, int] | None = None):
    from patchnr.operators.ct import ray_transform as ct

    geometry = ct.CTGeometry(size=16, num_angles=12, num_detectors=23, angle_indices=angle_indices)
    return ct.RayTransform(geometry, backend="sparse")


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


OPERATORS = {  # name → (factory, image shape)
    "superresolution_x4": (superresolution_x4, (24, 20)),
    "valid_x2": (_valid_x2, (40, 36)),
    "ray_transform_sparse": (_small_ct, (16, 16)),
    "ray_transform_limited_angle": (lambda: _small_ct((1, 11)), (16, 16)),
    "function_operator": (lambda: as_operator(_blur_subsample, image_shape=(12, 12)), (12, 12)),
    **{name: (factory, (32, 32)) for name, factory in {
        "blur_gaussian": _blur_gaussian, "blur_motion": _blur_motion, "blur_asymmetric": _blur_asymmetric,
        "inpainting": _inpainting, "bicubic_x4": _bicubic, "zero_shot_x2_padded": _zero_shot_x2, "zero_shot_x4_padded": _zero_shot_x4,
    }.items()},
}


@pytest.fixture(params=sorted(OPERATORS))
def operator_case(request, tmp_path, monkeypatch):
    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    factory, shape = OPERATORS[request.param]
    return factory(), shape


def test_operator_contract_shapes(operator_case):
    operator, shape = operator_case
    y = operator(torch.rand(2, 1, *shape))
    assert y.shape[:2] == (2, 1) and tuple(y.shape[-2:]) == tuple(operator.range_shape(shape))
    assert tuple(operator.domain_shape(tuple(y.shape[-2:]))) == tuple(shape)


def test_operator_contract_adjointness(operator_case):
    """⟨A x, y⟩ = ⟨x, Aᵀ y⟩ for random x, y (float32 operators: relative 1e-4)."""
    operator, shape = operator_case
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, *shape, generator=generator)
    y = torch.rand(1, 1, *operator.range_shape(shape), generator=generator)
    forward, backward = (operator(x) * y).sum().double(), (x * operator.adjoint(y)).sum().double()
    assert torch.isclose(forward, backward, rtol=1e-4), (forward, backward)


def test_operator_contract_gradient_matches_finite_differences(operator_case):
    """d/dε ⟨A(x + ε d), w⟩ by central differences equals ⟨∇_x ⟨A x, w⟩, d⟩."""
    operator, shape = operator_case
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(1, 1, *shape, generator=generator).requires_grad_(True)
    w = torch.rand(1, 1, *operator.range_shape(shape), generator=generator)
    direction = torch.randn(1, 1, *shape, generator=generator)
    (gradient,) = torch.autograd.grad((operator(x) * w).sum(), x)
    step = 1e-2
    with torch.no_grad():
        numeric = ((operator(x + step * direction) - operator(x - step * direction)) * w).sum() / (2 * step)
    assert torch.isclose((gradient * direction).sum(), numeric, rtol=1e-3)


def test_operator_contract_norm_matches_the_largest_singular_value(operator_case):
    operator, shape = operator_case
    basis = torch.eye(shape[0] * shape[1]).reshape(-1, 1, *shape)
    with torch.no_grad():
        matrix = operator(basis).reshape(basis.shape[0], -1).double()
    exact = torch.linalg.matrix_norm(matrix, ord=2).item()
    assert operator.norm(shape) == pytest.approx(exact, rel=1e-2)
    assert operator.norm(shape) is operator.norm(shape)  # cached


def test_function_operator_without_image_shape_says_so():
    with pytest.raises(ValueError, match="image shape"):
        as_operator(_blur_subsample).adjoint(torch.rand(1, 1, 5, 5))


def test_object_with_its_own_adjoint_keeps_it():
    class Scale:
        def __call__(self, x):
            return 2 * x

        def adjoint(self, y):
            return 2 * y

    operator = as_operator(Scale())
    assert torch.equal(operator.adjoint(torch.ones(1, 1, 2, 2)), torch.full((1, 1, 2, 2), 2.0))
    with pytest.raises(TypeError):
        as_operator(42)
