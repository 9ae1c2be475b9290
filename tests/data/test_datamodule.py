from pathlib import Path

import pytest
import torch

from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.data.datasets import PatchPairStream, pair_by_stem
from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError


def blur_noise() -> Degradation:
    return Degradation(GaussianBlur(1.2, 9), noise_sigma=0.01)


def test_sample_pair_with_held_out_blocks() -> None:
    data = OneShotDataModule(
        degradation=blur_noise(), patch_size=7, batch_size=32, steps_per_epoch=3, val_fraction=0.25
    )
    data.setup("fit")
    batch = next(iter(data.train_dataloader()))
    degraded, clean = batch["input"], batch["target"]
    assert degraded.shape == clean.shape == (32, 3, 7, 7)
    assert len(list(data.train_dataloader())) == 3
    # Four 64x64 blocks (a quarter of the 256x256 sample), one in each quadrant's centre.
    sample = read_image(SAMPLE_IMAGE)
    assert len(data.val_dataset) == 4
    for index, (top, left) in enumerate([(32, 32), (32, 160), (160, 32), (160, 160)]):
        val = data.val_dataset[index]
        assert val["input"].shape == val["target"].shape == (3, 64, 64)
        torch.testing.assert_close(val["target"], sample[:, top : top + 64, left : left + 64])
        assert not torch.equal(val["input"], val["target"])
    # No training patch touches a block: check every allowed corner by brute force.
    (positions,) = data.train_dataset.positions
    held_out = torch.zeros(256, 256, dtype=torch.bool)
    for top, left in [(32, 32), (32, 160), (160, 32), (160, 160)]:
        held_out[top : top + 64, left : left + 64] = True
    corners = torch.stack([positions // 250, positions % 250], 1)
    assert all(not held_out[y : y + 7, x : x + 7].any() for y, x in corners.tolist())
    windows = torch.nn.functional.max_pool2d(held_out[None].float(), 7, stride=1)[0]
    assert len(positions) == int((windows == 0).sum())  # and every free corner is allowed


def test_large_patches_on_a_small_image_hold_out_a_strip() -> None:
    # Four blocks would leave a 78x78 patch too few places on the 256x256 sample.
    data = OneShotDataModule(degradation=blur_noise(), patch_size=78)
    data.setup("fit")
    # 15% of the rows is 38, raised to 40: more than half a patch, which inference mirrors.
    assert [data.val_dataset[0]["target"].shape] == [(3, 40, 256)]
    (positions,) = data.train_dataset.positions
    assert int(positions.max()) // (256 - 78 + 1) == 256 - 40 - 78  # the last row that fits


def test_degraded_input_is_reproducible() -> None:
    first = OneShotDataModule(degradation=blur_noise(), seed=5).load_training_pair()[0]
    again = OneShotDataModule(degradation=blur_noise(), seed=5).load_training_pair()[0]
    other = OneShotDataModule(degradation=blur_noise(), seed=6).load_training_pair()[0]
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)


def test_given_pair_and_validation_pair(tmp_path: Path) -> None:
    clean = read_image(SAMPLE_IMAGE)
    write_image(tmp_path / "in.png", clean.flip(-1))
    data = OneShotDataModule(
        input=str(tmp_path / "in.png"),
        target=str(SAMPLE_IMAGE),
        val_target=str(SAMPLE_IMAGE),
        degradation=blur_noise(),
        align=False,  # a mirror image is another scene, which alignment would refuse
    )
    data.setup("fit")
    assert data.train_dataset.pairs[0][0].shape == (3, 256, 256)
    assert data.val_dataset[0]["target"].shape == (3, 256, 256)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"input": str(SAMPLE_IMAGE)},
            r"data.input alone \(zero-shot mode\) needs data.degradation",
        ),
        ({"target": str(SAMPLE_IMAGE)}, "needs data.degradation"),
        ({"val_fraction": 1.5}, "val_fraction"),
        ({"batch_size": 0}, "batch_size"),
        ({"grey_share": 0.2}, r"data.fresh_fraction must be > 0 with data.grey_share"),
        ({"grey_share": 1.5, "fresh_fraction": 1.0}, r"data.grey_share must be in \[0, 1\]"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        OneShotDataModule(**kwargs).setup("fit")


def test_mismatched_and_tiny_pairs(tmp_path: Path) -> None:
    write_image(tmp_path / "small.png", torch.rand(3, 10, 10))
    write_image(tmp_path / "grey.png", torch.rand(1, 256, 256))
    with pytest.raises(InputError, match="pair sizes don't fit"):
        OneShotDataModule(input=str(tmp_path / "small.png"), target=str(SAMPLE_IMAGE)).setup("fit")
    with pytest.raises(InputError, match="channels differ"):
        OneShotDataModule(input=str(tmp_path / "grey.png"), target=str(SAMPLE_IMAGE)).setup("fit")
    with pytest.raises(InputError, match=r"smaller than one 11x11 patch|too small"):
        OneShotDataModule(target=str(tmp_path / "small.png"), degradation=Degradation()).setup(
            "fit"
        )


def test_test_pairs_by_name(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir(), (tmp_path / "gt").mkdir()
    for name in ("b", "a"):
        write_image(tmp_path / "gt" / f"{name}.png", torch.rand(3, 20, 20))
        write_image(tmp_path / "in" / f"{name}.png", torch.rand(3, 20, 20))
    data = OneShotDataModule(test_input=str(tmp_path / "in"), test_target=str(tmp_path / "gt"))
    data.setup("test")
    assert [data.test_dataset[i]["name"] for i in range(2)] == ["a", "b"]
    with pytest.raises(InputError, match="no test input named like these targets: c"):
        pair_by_stem([tmp_path / "in" / "a.png"], [tmp_path / "gt" / "a.png", Path("c.png")])


def test_test_inputs_made_by_degradation(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", torch.rand(3, 32, 32))
    data = OneShotDataModule(test_target=str(tmp_path), degradation=blur_noise())
    data.setup("test")
    item = data.test_dataset[0]
    assert item["input"].shape == item["target"].shape
    torch.testing.assert_close(item["input"], data.test_dataset[0]["input"])


def test_predict_needs_images() -> None:
    with pytest.raises(InputError, match=r"--data\.predict"):
        OneShotDataModule().setup("predict")


def test_patch_stream_is_seeded_per_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    image = torch.rand(3, 40, 40)

    def first_batch(rank: int) -> torch.Tensor:
        monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
        monkeypatch.setattr(torch.distributed, "get_rank", lambda: rank)
        stream = PatchPairStream([(image, image)], [None], 5, batch_size=8, steps=1, seed=3)
        return next(iter(stream))["input"]

    torch.testing.assert_close(first_batch(0), first_batch(0))  # reproducible per rank
    torch.testing.assert_close(first_batch(1), first_batch(1))
    assert not torch.equal(first_batch(0), first_batch(1))  # ranks draw different patches


def test_16_bit_pair_trains_at_full_precision(tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    sharp = (read_image(SAMPLE_IMAGE).numpy() * 65000 + 123).round().astype(np.uint16)
    tifffile.imwrite(tmp_path / "sharp.tif", sharp.transpose(1, 2, 0), photometric="rgb")
    tifffile.imwrite(tmp_path / "blurred.tif", sharp.transpose(1, 2, 0) // 2, photometric="rgb")
    # Half the exposure: aligned, the degraded side would be re-exposed; here read as stored.
    data = OneShotDataModule(
        input=str(tmp_path / "blurred.tif"), target=str(tmp_path / "sharp.tif"), align=False
    )
    data.setup("fit")
    degraded, clean = data.train_dataset.pairs[0]
    rows = clean.shape[-2]
    torch.testing.assert_close(clean, torch.from_numpy(sharp[:, :rows] / 65535).float())
    torch.testing.assert_close(degraded, torch.from_numpy(sharp[:, :rows] // 2 / 65535).float())
    levels = clean * 255
    assert (levels - levels.round()).abs().max() > 0.1  # not on the 8-bit grid


def test_predict_items_are_planes_and_ddp_keeps_files_whole(tmp_path: Path) -> None:
    import numpy as np
    import tifffile

    from oneshot_lightning.data.datasets import FilesPerProcess

    write_image(tmp_path / "a.png", torch.rand(3, 20, 24))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((3, 20, 24), np.uint16), photometric="minisblack")
    write_image(tmp_path / "c.png", torch.rand(1, 20, 24))
    data = OneShotDataModule(predict=str(tmp_path), patch_size=5)
    data.setup("predict")
    assert [p.name for p in data.prediction_files().paths] == ["a.png", "b.tif", "c.png"]
    assert data.prediction_files().planes == [
        (0, 0), (1, 0), (1, 1), (1, 2), (2, 0)
    ]  # fmt: skip
    shapes = [tuple(item["input"].shape) for item in data.predict_dataset]
    assert shapes == [(3, 20, 24)] + [(1, 20, 24)] * 4
    # Under DDP each process gets whole files: a stack's planes are never split.
    ranks = [list(FilesPerProcess(data.predict_dataset, 2, rank)) for rank in (0, 1)]
    assert ranks == [[0, 4], [1, 2, 3]]
    data.skip_predictions([1])
    assert [p.name for p in data.prediction_files().paths] == ["a.png", "c.png"]
    assert len(data.predict_dataset) == 2
