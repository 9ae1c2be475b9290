import pytest
import torch
import torch.nn.functional as F

from oneshot_lightning.functional.patches import (
    center_crop,
    extract_patches,
    sample_from_pairs,
    sample_patch_pairs,
)


def coordinate_image(height: int, width: int) -> torch.Tensor:
    """(2, H, W) whose pixels hold their own (row, column)."""
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([rows, cols]).float()


def test_extract_patches_reads_the_right_windows() -> None:
    image = torch.rand(3, 20, 30)
    top, left = torch.tensor([0, 5, 13]), torch.tensor([0, 22, 9])
    patches = extract_patches(image, top, left, 7)
    assert patches.shape == (3, 3, 7, 7)
    for patch, y, x in zip(patches, top, left):
        torch.testing.assert_close(patch, image[:, y : y + 7, x : x + 7])


def test_sampled_pairs_are_aligned_and_inside() -> None:
    degraded = coordinate_image(40, 50)
    clean = degraded + 1000  # a known, position-preserving relation
    generator = torch.Generator().manual_seed(0)
    small, big = sample_patch_pairs(degraded, clean, 256, 9, generator)
    torch.testing.assert_close(big, small + 1000)
    assert small[:, 0].min() >= 0 and small[:, 0].max() <= 39
    assert small[:, 1].min() >= 0 and small[:, 1].max() <= 49
    # Windows are contiguous: each patch's row coordinates step by one.
    torch.testing.assert_close(small[:, 0, 1:, 0] - small[:, 0, :-1, 0], torch.ones(256, 8))
    # Positions cover the image rather than repeating one spot.
    assert small[:, 0, 0, 0].unique().numel() > 20


def test_scaled_pairs_align_lr_with_hr() -> None:
    low = torch.rand(3, 24, 30)
    high = F.interpolate(low[None], scale_factor=3, mode="nearest")[0]
    small, big = sample_patch_pairs(low, high, 64, 5, torch.Generator().manual_seed(1), scale=3)
    assert big.shape == (64, 3, 15, 15)
    torch.testing.assert_close(big, F.interpolate(small, scale_factor=3, mode="nearest"))


def test_sampling_is_reproducible() -> None:
    image = torch.rand(1, 32, 32)
    first = sample_patch_pairs(image, image, 16, 5, torch.Generator().manual_seed(3))
    again = sample_patch_pairs(image, image, 16, 5, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again)


def test_center_crop() -> None:
    patches = torch.arange(25.0).view(1, 1, 5, 5)
    assert center_crop(patches, 1).item() == 12
    torch.testing.assert_close(center_crop(patches, 3), patches[..., 1:4, 1:4])


def test_one_pair_draws_exactly_as_before() -> None:
    low, high = torch.rand(3, 20, 24), torch.rand(3, 40, 48)
    alone = sample_patch_pairs(low, high, 32, 5, torch.Generator().manual_seed(4), scale=2)
    listed = sample_from_pairs([(low, high)], 32, 5, torch.Generator().manual_seed(4), scale=2)
    torch.testing.assert_close(listed, alone)


def test_several_pairs_share_the_draw_by_area() -> None:
    # Each pair is marked by a constant so that every patch tells where it came from.
    sizes = (40, 20)  # 36^2 vs 16^2 patch positions of a 5x5 patch: about 84% vs 16%
    pairs = [(torch.full((1, n, n), float(k)), torch.full((1, 2 * n, 2 * n), float(k)))
             for k, n in enumerate(sizes)]  # fmt: skip
    small, big = sample_from_pairs(pairs, 4000, 5, torch.Generator().manual_seed(0), scale=2)
    assert small.shape == (4000, 1, 5, 5) and big.shape == (4000, 1, 10, 10)
    torch.testing.assert_close(big[:, :, 0, 0], small[:, :, 0, 0])  # pairs stay aligned
    share = (small[:, 0, 0, 0] == 0).float().mean().item()
    assert share == pytest.approx(36**2 / (36**2 + 16**2), abs=0.03)


def test_no_patches_from_several_pairs() -> None:
    # A batch made only of fresh crops draws no patch from the pairs: empty, shaped alike.
    pairs = [(torch.rand(3, n, n), torch.rand(3, 2 * n, 2 * n)) for n in (20, 12)]
    small, big = sample_from_pairs(pairs, 0, 5, torch.Generator().manual_seed(0), scale=2)
    assert small.shape == (0, 3, 5, 5) and big.shape == (0, 3, 10, 10)
