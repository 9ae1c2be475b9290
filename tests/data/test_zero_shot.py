"""Zero-shot mode of the data module: the degraded photo alone makes its own training pair."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE, validation_blocks
from oneshot_lightning.data.sampling import MOST_COPIES
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import luma, noise_generator
from oneshot_lightning.functional.resize import bicubic_downscale, imresize


def blur_noise() -> Degradation:
    return Degradation(GaussianBlur(1.2, 9), noise_sigma=0.01)


def test_the_photo_is_the_clean_side_of_its_own_pair() -> None:
    data = OneShotDataModule(input=str(SAMPLE_IMAGE), degradation=blur_noise(), seed=3)
    assert data.zero_shot and not data.pair_given
    degraded, clean = data.load_training_pair()
    photo = read_image(SAMPLE_IMAGE)
    torch.testing.assert_close(clean, photo)
    torch.testing.assert_close(degraded, blur_noise()(photo[None], noise_generator(3))[0])
    # The same operation as a clean target with a known degradation, just another meaning.
    as_target = OneShotDataModule(target=str(SAMPLE_IMAGE), degradation=blur_noise(), seed=3)
    torch.testing.assert_close(as_target.load_training_pair()[0], degraded)


def test_super_resolution_shrinks_the_photo_and_holds_out_blocks(tmp_path: Path) -> None:
    photo = torch.rand(3, 75, 101)
    write_image(tmp_path / "photo.png", photo)
    data = OneShotDataModule(
        input=str(tmp_path / "photo.png"), degradation=Degradation(), scale=2, patch_size=5
    )
    data.setup("fit")
    clean = read_image(tmp_path / "photo.png")[:, :74, :100]  # cropped to multiples of 2
    (degraded, train_clean) = data.train_dataset.pairs[0]
    torch.testing.assert_close(train_clean, clean)
    expected = bicubic_downscale(clean[None], 2)[0]
    assert (degraded - expected).abs().max() <= 0.5 / 255 + 1e-6
    # Blocks are cut at the same place of both images, twice as large in the clean one.
    assert len(data.val_dataset) == 4
    for val in (data.val_dataset[index] for index in range(4)):
        low, high = val["input"], val["target"]
        assert high.shape[-2:] == (2 * low.shape[-2], 2 * low.shape[-1])
        assert min(low.shape[-2:]) >= 8  # an 11x11 SSIM window after the x2 border


def test_shrunk_copies_avoid_the_held_out_blocks() -> None:
    data = OneShotDataModule(
        input=str(SAMPLE_IMAGE),
        degradation=Degradation(),
        scale=2,
        patch_size=5,
        clean_scales=(1.0, 0.5),
        batch_size=64,
    )
    data.setup("fit")
    (_, clean), (small_degraded, small_clean) = data.train_dataset.pairs
    assert clean.shape == (3, 256, 256)
    assert small_clean.shape == (3, 128, 128)
    torch.testing.assert_close(small_clean, imresize(clean[None], (128, 128))[0].clamp(0, 1))
    assert small_degraded.shape == (3, 64, 64)
    # In the half-size copy (input pixels: 64x64) the blocks shrink to half, plus a margin.
    _, small_positions = data.train_dataset.positions
    blocks = validation_blocks(128, 128, data.val_blocks, data.val_fraction, 5, scale=2)
    for corner in small_positions.tolist():
        y, x = divmod(corner, 64 - 5 + 1)
        for top, left, rows, cols in blocks:
            top, left, rows, cols = top // 2 - 3, left // 2 - 3, rows // 2 + 6, cols // 2 + 6
            assert y + 5 <= top or y >= top + rows or x + 5 <= left or x >= left + cols
    batch = next(iter(data.train_dataloader()))
    low, high = batch["input"], batch["target"]
    assert low.shape == (64, 3, 5, 5) and high.shape == (64, 3, 10, 10)


def test_predict_restores_the_photo_unless_told_otherwise() -> None:
    data = OneShotDataModule(input=str(SAMPLE_IMAGE), degradation=Degradation())
    data.setup("predict")
    assert data.predict_dataset.paths == [SAMPLE_IMAGE]
    with pytest.raises(InputError, match=r"--data\.predict"):
        OneShotDataModule(input=str(SAMPLE_IMAGE), target=str(SAMPLE_IMAGE)).setup("predict")


@pytest.mark.parametrize("scales", [(), (0.0,), (1.0, 1.5)])
def test_clean_scales_must_shrink(scales: tuple[float, ...]) -> None:
    with pytest.raises(InputError, match=r"data.clean_scales must be sizes in \(0, 1\]"):
        OneShotDataModule(clean_scales=scales)


def test_clean_scales_need_a_made_pair_and_room_for_a_patch() -> None:
    given = OneShotDataModule(
        input=str(SAMPLE_IMAGE), target=str(SAMPLE_IMAGE), clean_scales=(1.0, 0.5)
    )
    with pytest.raises(InputError, match=r"needs a pair made by data\.degradation"):
        given.setup("fit")
    tiny = OneShotDataModule(degradation=Degradation(), patch_size=11, clean_scales=(1.0, 0.04))
    with pytest.raises(InputError, match=r"clean_scales 0\.04 shrinks the 256x256"):
        tiny.setup("fit")


def test_gradient_sampling_draws_textured_patches_more_often() -> None:
    """``patch_sampling: gradient``: the same allowed corners, textured ones repeated."""
    common = {"input": str(SAMPLE_IMAGE), "degradation": Degradation(), "scale": 2,
              "patch_size": 5, "clean_scales": (1.0, 0.5)}  # fmt: skip
    uniform = OneShotDataModule(**common)
    weighted = OneShotDataModule(**common, patch_sampling="gradient")
    uniform.setup("fit")
    weighted.setup("fit")
    for (_, clean), allowed, repeated in zip(
        uniform.train_dataset.pairs,
        uniform.train_dataset.positions,
        weighted.train_dataset.positions,
    ):
        assert torch.equal(torch.unique(repeated), allowed)  # held-out blocks still avoided
        copies = torch.bincount(repeated)[allowed]
        assert copies.min() >= 1 and copies.max() == MOST_COPIES
        # Copies rise with the clean window's mean gradient magnitude, computed directly.
        cols = clean.shape[-1] // 2 - 5 + 1
        y, x = allowed // cols, allowed % cols
        grey = luma(clean)[0, 0]
        across = torch.diff(grey, dim=1, append=grey[:, -1:])
        down = torch.diff(grey, dim=0, append=grey[-1:, :])
        magnitude = (across**2 + down**2).sqrt()
        means = torch.stack([magnitude[2 * a : 2 * a + 10, 2 * b : 2 * b + 10].mean()
                             for a, b in zip(y.tolist(), x.tolist())])  # fmt: skip
        flat, busy = means < means.quantile(0.2), means > means.quantile(0.8)
        assert copies[busy].float().mean() > 2 * copies[flat].float().mean()


def test_an_unknown_patch_sampling_is_one_line() -> None:
    with pytest.raises(InputError, match=r"data\.patch_sampling"):
        OneShotDataModule(input=str(SAMPLE_IMAGE), patch_sampling="edges")  # type: ignore[arg-type]
