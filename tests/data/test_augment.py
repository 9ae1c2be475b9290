import pytest
import torch
import torch.nn.functional as F

from oneshot_lightning.data.augment import (
    PairedDihedral,
    TrainingTransform,
    random_channel_orders,
    reorder_channels,
)
from oneshot_lightning.data.degradations import Degradation


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


def test_grey_share_makes_grey_crops_with_one_noise_draw() -> None:
    torch.manual_seed(0)
    crops = torch.rand(200, 3, 12, 12)
    noise = Degradation(noise_sigma=0.1, quantize=False)
    transform = TrainingTransform(synthesis=noise, grey_share=0.3)
    batch = transform(
        {"input": torch.empty(0, 3, 12, 12), "target": torch.empty(0, 3, 12, 12), "fresh": crops}
    )
    degraded, clean = batch["input"], batch["target"]
    assert degraded.shape == clean.shape == crops.shape
    equal = (clean == clean[:, :1]).flatten(1).all(1)
    # Grey crops carry the same noise in every channel; colour crops independent noise.
    assert torch.equal(equal, (degraded == degraded[:, :1]).flatten(1).all(1))
    assert 40 <= int(equal.sum()) <= 80  # about 30 % of 200
    grey_clean = clean[equal, :1]
    # Noise at the set level on the grey side, a luma: a weighted mean, less spread than RGB.
    assert float((degraded[equal] - clean[equal]).std()) == pytest.approx(0.1, rel=0.1)
    assert float(grey_clean.std()) < float(crops.std())


def test_no_grey_share_keeps_colour_noise() -> None:
    crops = torch.rand(50, 3, 8, 8)
    transform = TrainingTransform(synthesis=Degradation(noise_sigma=0.1), grey_share=0.0)
    batch = transform(
        {"input": torch.empty(0, 3, 8, 8), "target": torch.empty(0, 3, 8, 8), "fresh": crops}
    )
    assert not (batch["input"] == batch["input"][:, :1]).flatten(1).all(1).any()


def test_all_crops_grey_through_a_jpeg_chain() -> None:
    crops = torch.rand(6, 3, 16, 16)
    chain = Degradation(noise_sigma=0.05, jpeg_quality=80)
    transform = TrainingTransform(synthesis=chain, grey_share=1.0)
    empty = torch.empty(0, 3, 16, 16)
    batch = transform({"input": empty, "target": empty.clone(), "fresh": crops})
    assert batch["input"].shape == (6, 3, 16, 16)
    assert (batch["input"] == batch["input"][:, :1]).all()
