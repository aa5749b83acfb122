"""One CT simulation path: upsampling onto a finer grid, projection, Poisson noise; the tasks and
LoDoPaB's recipe differ only in the upsampling."""

from __future__ import annotations

import pytest
import torch

from patchnr.errors import PatchNRError
from patchnr.operators.ct import lodopab as ct_data

pytest.importorskip("odl")
pytest.importorskip("astra")
from patchnr.operators.ct import ray_transform as ct  # noqa: E402

GEOMETRY = ct.small_geometry(size=24, num_angles=20, num_detectors=35)


def _blob(size: int = GEOMETRY.size) -> torch.Tensor:
    grid = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    return (0.3 * torch.exp(-3 * ((xx - 0.2) ** 2 + yy**2)) * (xx**2 + yy**2 < 0.8))[None, None]


@pytest.fixture(scope="module")
def sparse_operator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATCHNR_CACHE", str(tmp_path_factory.mktemp("ct_cache")))
        return ct.RayTransform(GEOMETRY, backend="sparse")


def test_the_task_simulates_through_simulate_lowdose(sparse_operator, tmp_path, monkeypatch):
    from patchnr.tasks import ct_lowdose

    monkeypatch.setenv("PATCHNR_CACHE", str(tmp_path))
    task = ct_lowdose.make_task("sparse", geometry=GEOMETRY)
    image = _blob()
    expected = ct_data.simulate_lowdose(image, sparse_operator, seed=7, upsample=2)
    torch.testing.assert_close(task.simulate(image, seed=7), expected, rtol=0, atol=0)


def test_lodopab_recipe_is_the_same_path_with_its_resize():
    image = _blob()
    lodopab = ct_data.simulate_lodopab(image, GEOMETRY, seed=3, size=60)
    same_path = ct_data.simulate_lowdose(image, GEOMETRY, seed=3, upsample=ct_data.LodopabResize(60))
    torch.testing.assert_close(lodopab, same_path, rtol=0, atol=0)


def test_a_geometry_or_its_ray_transform_give_the_same_fine_projection(sparse_operator):
    image = _blob()
    from_operator = ct_data.clean_sinogram(image, sparse_operator, upsample=2)
    from_geometry = ct_data.clean_sinogram(image, GEOMETRY, upsample=ct_data.BilinearUpsampling(2))
    torch.testing.assert_close(from_operator, from_geometry, rtol=0, atol=0)


def test_both_upsamplings_agree_away_from_the_border():
    image = _blob()
    bilinear = ct_data.BilinearUpsampling(2)(image)
    lodopab = ct_data.LodopabResize(2 * GEOMETRY.size)(image).float()
    assert bilinear.shape == lodopab.shape == (1, 1, 48, 48)
    torch.testing.assert_close(bilinear[..., 1:-1, 1:-1], lodopab[..., 1:-1, 1:-1], rtol=0, atol=1e-6)
    assert ct_data.BilinearUpsampling(1)(image) is image


@pytest.mark.parametrize("shape", [(1, 2, 24, 24), (1, 1, 30, 30), (1, 1, 24, 48)])
def test_an_image_that_does_not_fit_the_geometry_is_refused(shape):
    with pytest.raises(PatchNRError):
        ct_data.clean_sinogram(torch.zeros(shape), GEOMETRY, upsample=ct_data.LodopabResize(60))
