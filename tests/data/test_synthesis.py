"""Fresh pairs: clean crops degraded anew at every step, and when flips are valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.degradations import Blur, Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.data.synthesis import FreshCrops, random_dihedral, synthesize
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import convolve


def motion_kernel() -> torch.Tensor:
    kernel = torch.zeros(7, 7)
    kernel[3, 1:6] = torch.tensor([1.0, 2.0, 3.0, 0.0, 0.0])  # one-sided: not symmetric
    kernel[2, 5] = 1.0
    return kernel / kernel.sum()


def test_synthesis_trims_the_blur_border_away() -> None:
    clean = read_image(SAMPLE_IMAGE)[None, :, :40, :40].repeat(3, 1, 1, 1)
    blur = Degradation(Blur(motion_kernel()), quantize=False)
    torch.manual_seed(1)
    degraded, target = synthesize(clean, blur, margin=3)
    assert degraded.shape == target.shape == (3, 3, 34, 34)
    # Each degraded patch is the true blur of its (randomly flipped) clean patch: the blur's
    # border rule at the crop's edge stayed in the trimmed margin. Checked away from the
    # patch's own edge, where the reference convolution below needs its border rule.
    reference = convolve(target, blur.blur.kernel)
    torch.testing.assert_close(degraded[..., 3:-3, 3:-3], reference[..., 3:-3, 3:-3])


def test_fresh_crops_avoid_blocks_and_come_in_proportion() -> None:
    clean = torch.rand(3, 60, 60)
    allowed = torch.tensor([0])  # one corner only
    crops = FreshCrops([clean], [allowed], margin=2, scale=1)
    drawn = crops.sample(5, 6, torch.Generator().manual_seed(0))
    assert drawn.shape == (5, 3, 10, 10)
    assert all(torch.equal(crop, clean[:, :10, :10]) for crop in drawn)


def test_random_dihedral_keeps_every_sample_a_symmetry_of_itself() -> None:
    images = torch.arange(2 * 16.0).view(2, 1, 4, 4)
    out = random_dihedral(images)
    for before, after in zip(images, out):
        rotations = [torch.rot90(b, k, (-2, -1)) for b in (before, before.transpose(-1, -2))
                     for k in range(4)]  # fmt: skip
        assert any(torch.equal(after, r) for r in rotations)


def test_fresh_pairs_fill_their_share_of_every_batch() -> None:
    data = OneShotDataModule(
        degradation=Degradation(GaussianBlur(1.2, 9), noise_sigma=0.02),
        patch_size=7,
        batch_size=16,
        steps_per_epoch=2,
        fresh_fraction=0.25,
    )
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    assert batch["input"].shape == (12, 3, 7, 7) and batch["fresh"].shape == (4, 3, 15, 15)

    class Training:
        training = True

    data.trainer = Training()  # type: ignore[assignment]
    out = data.on_after_batch_transfer(batch, 0)
    assert "fresh" not in out and out["input"].shape == out["target"].shape == (16, 3, 7, 7)
    # The fresh inputs carry new noise: degraded minus the blurred clean is about 0.02.
    fresh_degraded, fresh_clean = out["input"][12:], out["target"][12:]
    assert 0.005 < (fresh_degraded - fresh_clean).std() < 0.2


def test_a_symmetric_blur_keeps_paired_flips_and_camera_shake_drops_them() -> None:
    symmetric = OneShotDataModule(degradation=Degradation(GaussianBlur(1.2, 9)), patch_size=7)
    symmetric.setup("fit")
    assert symmetric.transform.flips is not None
    shaken = OneShotDataModule(
        degradation=Degradation(Blur(motion_kernel())), patch_size=7, fresh_fraction=0.5
    )
    shaken.setup("fit")
    assert shaken.transform.flips is None  # flipping the pair would show another blur
    blur = shaken.training_pair().blur
    assert blur is not None
    torch.testing.assert_close(blur.kernel, motion_kernel())


def test_fresh_pairs_need_a_degradation_for_super_resolution_pairs(tmp_path: Path) -> None:
    from oneshot_lightning.data.io import write_image
    from oneshot_lightning.functional import bicubic_downscale

    clean = read_image(SAMPLE_IMAGE)
    write_image(tmp_path / "lr.png", bicubic_downscale(clean[None], 2)[0])
    data = OneShotDataModule(
        input=str(tmp_path / "lr.png"),
        target=str(SAMPLE_IMAGE),
        scale=2,
        patch_size=5,
        fresh_fraction=0.5,
    )
    with pytest.raises(InputError, match=r"data\.fresh_fraction needs a degradation"):
        data.setup("fit")


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_fresh_fraction_is_a_share(fraction: float) -> None:
    with pytest.raises(InputError, match="fresh_fraction"):
        OneShotDataModule(fresh_fraction=fraction)


def test_permuted_channels_stay_paired_and_reach_the_fresh_crops() -> None:
    data = OneShotDataModule(
        degradation=Degradation(noise_sigma=0.0, quantize=False),
        patch_size=8,
        batch_size=64,
        steps_per_epoch=1,
        fresh_fraction=0.5,
        permute_channels=True,
        augment=False,
    )
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    before = batch["fresh"].clone()
    batch["input"] = 0.5 * batch["target"]  # a pair whose sides differ, channel by channel

    class Training:
        training = True

    data.trainer = Training()  # type: ignore[assignment]
    out = data.on_after_batch_transfer(batch, 0)
    given, fresh = slice(0, 32), slice(32, 64)
    # Both sides of each given pair got the same order: still input = target / 2.
    torch.testing.assert_close(out["input"][given], 0.5 * out["target"][given])
    # Fresh crops came out as their own channels reordered (no noise: degraded == clean),
    # flipped or transposed, and trimmed by the margin (none without blur): each crop keeps
    # its channel sums as a set, and some crops changed their order.
    torch.testing.assert_close(out["input"][fresh], out["target"][fresh])
    assert data.transform.margin == 0
    sums_before, sums_after = before.sum(dim=(-2, -1)), out["target"][fresh].sum(dim=(-2, -1))
    torch.testing.assert_close(sums_after.sort(dim=1).values, sums_before.sort(dim=1).values)
    assert not torch.allclose(sums_after, sums_before)


def test_noisy_copies_add_whole_pairs_with_their_own_noise_at_their_share() -> None:
    data = OneShotDataModule(
        degradation=Degradation(GaussianBlur(1.2, 9), noise_sigma=0.02),
        patch_size=7,
        batch_size=4000,
        noise_copies=3,
        copies_share=0.75,
        augment=False,
    )
    data.setup("fit")
    pairs = data.train_dataset.pairs
    assert len(pairs) == 4 and all(clean is pairs[0][1] for _, clean in pairs)
    noises = [degraded - pairs[0][1] for degraded, _ in pairs]
    assert all(not torch.equal(noises[0], other) for other in noises[1:])  # each its own
    assert data.train_dataset.weights == [0.25, 0.25, 0.25, 0.25]  # the pair: a quarter


def test_pair_weights_set_their_share_of_the_draw() -> None:
    from oneshot_lightning.functional import sample_from_pairs

    # Constant images: each patch tells which pair it came from.
    pairs = [(torch.full((1, 20, 20), float(i)), torch.zeros(1, 20, 20)) for i in range(3)]
    generator = torch.Generator().manual_seed(0)
    degraded, _ = sample_from_pairs(pairs, 6000, 5, generator, weights=[0.5, 0.25, 0.25])
    shares = torch.bincount(degraded[:, 0, 0, 0].long(), minlength=3) / 6000
    torch.testing.assert_close(shares, torch.tensor([0.5, 0.25, 0.25]), atol=0.03, rtol=0)
