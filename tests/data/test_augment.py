import torch
import torch.nn.functional as F

from oneshot_lightning.data.augment import (
    PairedDihedral,
    random_channel_orders,
    reorder_channels,
)


def dihedral_group(patch: torch.Tensor) -> list[torch.Tensor]:
    """The 8 flips/rotations of a (C, H, W) square patch."""
    rotations = [torch.rot90(patch, k, dims=(-2, -1)) for k in range(4)]
    return rotations + [r.flip(-1) for r in rotations]


def test_pair_gets_identical_exact_transforms() -> None:
    torch.manual_seed(0)
    low = torch.rand(512, 3, 5, 5)
    high = F.interpolate(low, scale_factor=2, mode="nearest")  # LR/HR pair of different sizes
    aug_low, aug_high = PairedDihedral()(low, high)
    # Same transform on both: the HR patch is still the upsampled LR patch, bit for bit.
    torch.testing.assert_close(
        aug_high, F.interpolate(aug_low, scale_factor=2, mode="nearest"), rtol=0, atol=0
    )
    # Exact: each output is one of the 8 symmetries of its input, and all 8 occur.
    seen = set()
    for before, after in zip(low[:64], aug_low[:64]):
        matches = [k for k, g in enumerate(dihedral_group(before)) if torch.equal(g, after)]
        assert matches, "augmented patch is not an exact flip/rotation of its input"
        seen.add(matches[0])
    assert seen == set(range(8))


def test_same_size_pair_stays_equal() -> None:
    patches = torch.rand(64, 1, 7, 7)
    first, second = PairedDihedral()(patches, patches.clone())
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.equal(first, patches)


def test_channel_orders_are_permutations_applied_per_sample() -> None:
    images = torch.arange(3.0)[None, :, None, None].expand(64, 3, 2, 2)
    orders = random_channel_orders(64, 3, images.device)
    assert all(sorted(order.tolist()) == [0, 1, 2] for order in orders)
    assert len({tuple(order.tolist()) for order in orders}) == 6  # all 6 orders occur
    out = reorder_channels(images, orders)
    torch.testing.assert_close(out[:, :, 0, 0], orders.float(), rtol=0, atol=0)
