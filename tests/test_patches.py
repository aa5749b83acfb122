import pytest
import torch
import torch.nn.functional as F

from patchnr import PatchPool, extract_patches
from patchnr.patches import gather_patches


def test_all_patches_count_and_order():
    images = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    patches = extract_patches(images, 2)
    assert patches.shape == (2 * 4 * 6, 3 * 4)
    # first patch: image 0, top-left corner, flattened (channel, row, col)
    assert torch.equal(patches[0], images[0, :, :2, :2].reshape(-1))
    # patch at image 1, row 3, col 5
    assert torch.equal(patches[24 + 3 * 6 + 5], images[1, :, 3:5, 5:7].reshape(-1))


def test_gather_matches_unfold_at_every_position():
    images = torch.rand(2, 2, 9, 8)
    everything = extract_patches(images, 3)
    position = torch.tensor([0, 5, 41, 42, 83])
    assert torch.equal(gather_patches(images, 3, position), everything[position])


def test_random_subset_is_distinct_and_reproducible():
    images = torch.rand(1, 1, 20, 20)
    a = extract_patches(images, 4, n_patches=50, generator=torch.Generator().manual_seed(3))
    b = extract_patches(images, 4, n_patches=50, generator=torch.Generator().manual_seed(3))
    assert a.shape == (50, 16) and torch.equal(a, b)
    assert len({tuple(p.tolist()) for p in a}) == 50
    all_rows = {tuple(p.tolist()) for p in extract_patches(images, 4)}
    assert all(tuple(p.tolist()) in all_rows for p in a)


def test_reflect_padding_adds_border_patches():
    images = torch.rand(1, 1, 10, 10)
    patches = extract_patches(images, 6, padding=4)
    assert patches.shape[0] == (18 - 6 + 1) ** 2
    padded = F.pad(images, (4, 4, 4, 4), mode="reflect")
    assert torch.equal(patches[0], padded[0, :, :6, :6].reshape(-1))


def test_too_small_image_and_bad_rank_are_rejected():
    with pytest.raises(ValueError):
        extract_patches(torch.rand(1, 1, 4, 4), 6)
    with pytest.raises(ValueError):
        extract_patches(torch.rand(4, 4), 2)


def test_pool_samples_from_all_images():
    a, b = torch.zeros(1, 8, 8), torch.ones(1, 12, 12)
    pool = PatchPool([a, b], 4)
    assert len(pool) == 25 + 81
    sample = pool.sample(2000, torch.Generator().manual_seed(0))
    fraction_b = sample[:, 0].mean().item()
    assert abs(fraction_b - 81 / 106) < 0.05


def _position_counts(stratified: bool, draws: int = 3000) -> torch.Tensor:
    """How often each of the 7×7 patch positions of an 8×8 image is drawn, 10 patches per draw."""
    index_image = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(64)
    for _ in range(draws):
        corners = extract_patches(index_image, 2, 10, generator=generator, stratified=stratified)[:, 0].long()
        counts += torch.bincount(corners, minlength=64)
    return counts.reshape(8, 8)[:7, :7].reshape(-1)  # top-left pixels of the 49 positions


@pytest.mark.parametrize("stratified", [False, True], ids=["uniform", "stratified"])
def test_every_position_is_drawn_equally_often(stratified):
    counts = _position_counts(stratified)
    expected = 3000 * 10 / 49
    assert counts.sum() == 3000 * 10
    assert (counts - expected).abs().max() < 0.12 * expected  # unbiased: the mean patch NLL keeps its mean


def test_stratified_draws_lower_the_variance_of_the_patch_mean():
    image = torch.linspace(0, 1, 32 * 32).reshape(1, 1, 32, 32) ** 2
    means = {}
    for stratified in (False, True):
        generator = torch.Generator().manual_seed(1)
        means[stratified] = torch.stack([extract_patches(image, 4, 50, generator=generator, stratified=stratified).mean() for _ in range(300)])
    full = extract_patches(image, 4).mean()
    assert abs(means[True].mean() - full) < 0.01 and abs(means[False].mean() - full) < 0.01
    assert means[True].var() < 0.2 * means[False].var()
