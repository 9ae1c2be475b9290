from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from oneshot_lightning.data.datamodule import SAMPLE_IMAGE
from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.errors import InputError


def test_read_rgb_sample() -> None:
    image = read_image(SAMPLE_IMAGE)
    assert image.shape == (3, 256, 256)
    assert image.dtype == torch.float32
    assert 0 <= image.min() < image.max() <= 1


def test_read_grey_8_and_16_bit(tmp_path: Path) -> None:
    values = np.array([[0, 1000, 65535], [30000, 2, 40000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    Image.fromarray((values // 257).astype(np.uint8)).save(tmp_path / "g8.png")
    grey16 = read_image(tmp_path / "g16.png")
    assert grey16.shape == (1, 2, 3)
    # 16-bit precision survives: 1000/65535 is not a multiple of 1/255.
    torch.testing.assert_close(grey16[0], torch.from_numpy(values / 65535.0).float())
    assert read_image(tmp_path / "g8.png").shape == (1, 2, 3)


def test_rgba_and_palette_become_rgb(tmp_path: Path) -> None:
    Image.new("RGBA", (4, 3), (10, 20, 30, 40)).save(tmp_path / "a.png")
    Image.new("P", (4, 3)).save(tmp_path / "p.png")
    assert read_image(tmp_path / "a.png").shape == (3, 3, 4)
    assert read_image(tmp_path / "p.png").shape == (3, 3, 4)


def test_write_read_round_trip(tmp_path: Path) -> None:
    image = torch.rand(3, 5, 7)
    restored = read_image(write_image(tmp_path / "sub" / "x.png", image))
    assert restored.shape == image.shape
    assert (restored - image).abs().max() <= 0.5 / 255 + 1e-6
    grey = read_image(write_image(tmp_path / "g.png", torch.rand(1, 5, 7)))
    assert grey.shape == (1, 5, 7)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.png", "image not found"),
        (lambda d: d, "got a folder"),
        (lambda d: (d / "t.png").write_text("hello") and d / "t.png", "not an image"),
        (
            lambda d: (
                (d / "cut.png").write_bytes(SAMPLE_IMAGE.read_bytes()[:3000]) and d / "cut.png"
            ),
            "truncated or corrupt",
        ),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match=message) as info:
        read_image(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_pixel_cap(tmp_path: Path) -> None:
    Image.new("L", (20, 10)).save(tmp_path / "big.png")
    with pytest.raises(InputError, match="over the limit of 199"):
        read_image(tmp_path / "big.png", max_pixels=199)
    assert read_image(tmp_path / "big.png", max_pixels=200).shape == (1, 10, 20)


def test_list_images(tmp_path: Path) -> None:
    for name in ("b.png", "a.jpg", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.png"]
    assert list_images([tmp_path / "b.png"]) == [tmp_path / "b.png"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        list_images(tmp_path / "empty")
    with pytest.raises(InputError, match="image not found"):
        list_images(tmp_path / "nope.png")
