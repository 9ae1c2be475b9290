from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from oneshot_lightning.data.io import list_images, read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
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


# --- images as scientists have them: 16 bits, floats, stacks, channels ---------------------

import imagecodecs  # noqa: E402
import tifffile  # noqa: E402

from oneshot_lightning.data.io import (  # noqa: E402
    ValueMap,
    load_image,
    read_layout,
    read_pair,
    write_restored,
)


def sample16(channels: int = 3) -> np.ndarray:
    """The bundled sample at 16 bits: (H, W) or (H, W, 3) uint16 with values off the 8-bit grid."""
    image = read_image(SAMPLE_IMAGE)[:, :40, :50].numpy()
    image = image.mean(0, keepdims=True) if channels == 1 else image
    values = np.round(image * 65535).astype(np.uint16) + 77  # 77: not a multiple of 257
    return values[0] if channels == 1 else values.transpose(1, 2, 0)


def test_16_bit_rgb_tiff_and_png_keep_16_bits(tmp_path: Path) -> None:
    values = sample16(3)
    tifffile.imwrite(tmp_path / "rgb.tif", values, photometric="rgb")
    (tmp_path / "rgb.png").write_bytes(imagecodecs.png_encode(values))
    expected = torch.from_numpy(values.transpose(2, 0, 1).astype(np.float32) / 65535)
    for name in ("rgb.tif", "rgb.png"):
        image = read_image(tmp_path / name)
        assert image.shape == (3, 40, 50)
        assert torch.equal(image, expected), name


def test_float_tiff_keeps_its_range(tmp_path: Path) -> None:
    values = (np.linspace(-20, 500, 40 * 50, dtype=np.float32)).reshape(40, 50)
    tifffile.imwrite(tmp_path / "f.tif", values)
    stored = load_image(tmp_path / "f.tif")
    assert stored.values == ValueMap(-20.0, 520.0)
    image = stored.plane(0)
    assert image.min() == 0 and image.max() == 1
    # Floats already within [0, 1] are taken as they are.
    tifffile.imwrite(tmp_path / "unit.tif", values / 1000 + 0.1)
    assert load_image(tmp_path / "unit.tif").values == ValueMap(0.0, 1.0)
    torch.testing.assert_close(
        read_image(tmp_path / "unit.tif")[0], torch.from_numpy(values / 1000 + 0.1)
    )


def test_float_pair_shares_one_value_map(tmp_path: Path) -> None:
    sharp = np.linspace(0, 500, 40 * 50, dtype=np.float32).reshape(40, 50)
    tifffile.imwrite(tmp_path / "sharp.tif", sharp)
    tifffile.imwrite(tmp_path / "blurred.tif", sharp * 0.5 + 100)  # a narrower range
    blurred, clean = read_pair(tmp_path / "blurred.tif", tmp_path / "sharp.tif")
    torch.testing.assert_close(clean[0], torch.from_numpy(sharp / 500))
    torch.testing.assert_close(blurred[0], torch.from_numpy((sharp * 0.5 + 100) / 500))


def test_nan_is_refused_in_one_line(tmp_path: Path) -> None:
    values = np.ones((20, 20), np.float32)
    values[3, 4] = np.nan
    tifffile.imwrite(tmp_path / "nan.tif", values)
    with pytest.raises(InputError, match="NaN or infinite") as info:
        read_image(tmp_path / "nan.tif")
    assert str(tmp_path / "nan.tif") in str(info.value) and "\n" not in str(info.value)


STACK = np.arange(3 * 20 * 30, dtype=np.uint16).reshape(3, 20, 30) * 7


@pytest.mark.parametrize(
    ("name", "array", "options", "planes", "describe"),
    [
        ("stack.tif", STACK, {"photometric": "minisblack", "metadata": {"axes": "ZYX"}}, 3,
         "a 3-page stack (ZYX) of grey images of 30x20 uint16 samples"),
        ("channels.tif", STACK[:, :, :5].transpose(1, 2, 0).repeat(2, -1)[..., :5],
         {"photometric": "minisblack", "planarconfig": "contig", "metadata": {"axes": "YXS"}}, 5,
         "a 5-channel image (YXS) of 5x20 uint16 samples"),
        ("cyx.tif", np.concatenate([STACK, STACK[:2]]),
         {"photometric": "minisblack", "metadata": {"axes": "CYX"}}, 5,
         "a 5-page stack (CYX) of grey images of 30x20 uint16 samples"),
        ("rgba.tif", (STACK[:, :, :, None] % 256).astype(np.uint8).repeat(4, -1)[0],
         {"photometric": "rgb", "extrasamples": ["unassalpha"]}, 2,
         "a 4-channel image (YXS) of 30x20 uint8 samples"),
        ("zyxs.tif", np.stack([STACK.transpose(1, 2, 0)] * 2),
         {"photometric": "rgb", "metadata": {"axes": "ZYXS"}}, 2,
         "a 2-page stack (ZYXS) of colour (RGB) images of 30x20 uint16 samples"),
        ("planar.tif", STACK, {"photometric": "rgb", "planarconfig": "separate"}, 1,
         "a colour (RGB) image of 30x20 uint16 samples"),
    ],
)  # fmt: skip
def test_stacks_and_channels_split_into_planes_and_back(
    tmp_path: Path, name: str, array: np.ndarray, options: dict, planes: int, describe: str
) -> None:
    tifffile.imwrite(tmp_path / name, array, **options)
    layout = read_layout(tmp_path / name)
    assert layout.planes == planes and layout.describe() == describe
    stored = load_image(tmp_path / name)
    restored = [stored.plane(index) for index in range(planes)]
    assert all(plane.shape[0] in (1, 3) for plane in restored)
    if planes > 1:  # training reads one plane: the rest is refused, not cut
        with pytest.raises(InputError, match="training and test read one grey or RGB image"):
            read_image(tmp_path / name)
    # Written back as it came: same type, axes and samples.
    out = write_restored(tmp_path / "out" / layout.output_name(), layout, stored.values, restored)
    assert out.name == name
    with tifffile.TiffFile(out) as written:
        assert written.series[0].axes == layout.axes
        assert np.array_equal(written.series[0].asarray(), array)


def test_pixel_cap_counts_every_plane(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "s.tif", STACK, photometric="minisblack")
    with pytest.raises(InputError, match="has 3 planes of 30x20 = 1800 pixels, over the limit"):
        read_layout(tmp_path / "s.tif", max_pixels=1799)
    assert read_layout(tmp_path / "s.tif", max_pixels=1800).planes == 3


def test_truncated_tiff_is_one_clear_error(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "full.tif", STACK, photometric="minisblack")
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        read_image(tmp_path / "cut.tif")
    assert "\n" not in str(info.value)


def test_animated_gif_is_refused_not_cut(tmp_path: Path) -> None:
    frames = [Image.new("L", (8, 8), value) for value in (0, 128, 255)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(InputError, match="has 3 frames"):
        read_layout(tmp_path / "a.gif")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_reads_as_exif_orientation_does(tmp_path: Path, orientation: int) -> None:
    values = (np.arange(20 * 30).reshape(20, 30) % 251).astype(np.uint8)
    tifffile.imwrite(tmp_path / "o.tif", values, extratags=[(274, "H", 1, orientation, True)])
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(values).save(tmp_path / "o.png", exif=exif)  # read by Pillow's exif_transpose
    expected = read_image(tmp_path / "o.png")
    assert expected.shape[-2:] == ((20, 30) if orientation < 5 else (30, 20))
    assert torch.equal(read_image(tmp_path / "o.tif"), expected)
    assert read_layout(tmp_path / "o.tif").height == expected.shape[-2]


def test_16_bit_write_is_rounded_to_the_nearest_level(tmp_path: Path) -> None:
    image = torch.rand(3, 5, 7)
    written = read_image(write_image(tmp_path / "x.png", image, bits=16))
    assert torch.equal((written * 65535).round(), (image * 65535).round())
    grey = read_image(write_image(tmp_path / "g.png", image[:1], bits=16))
    assert torch.equal((grey * 65535).round(), (image[:1] * 65535).round())


def test_writes_are_whole_or_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "x.png").write_bytes(b"old")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("oneshot_lightning.data.io.write.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_image(tmp_path / "x.png", torch.rand(3, 5, 7))
    assert (tmp_path / "x.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]  # no partial file left


def test_other_encodings_read_as_grey_or_rgb(tmp_path: Path) -> None:
    rgb = Image.open(SAMPLE_IMAGE).crop((0, 0, 40, 30))
    rgb.save(tmp_path / "jpeg.tif", compression="jpeg")  # YCbCr, through Pillow
    rgb.quantize(16).save(tmp_path / "palette.tif")
    rgb.convert("1").save(tmp_path / "bilevel.tif")
    tifffile.imwrite(tmp_path / "lzw.tif", np.asarray(rgb), photometric="rgb", compression="lzw")
    tifffile.imwrite(tmp_path / "u32.tif", np.arange(1200, dtype=np.uint32).reshape(30, 40) * 9)
    Image.fromarray(sample16(1)).save(tmp_path / "grey16.pgm")
    expected = {"jpeg": 3, "palette": 3, "bilevel": 1, "lzw": 3, "u32": 1}
    for name, channels in expected.items():
        image = read_image(tmp_path / f"{name}.tif")
        assert image.shape == (channels, 30, 40) and 0 <= image.min() < image.max() <= 1, name
    assert load_image(tmp_path / "u32.tif").values == ValueMap(0.0, 1199.0 * 9)
    torch.testing.assert_close(read_image(tmp_path / "grey16.pgm")[0],
                               torch.from_numpy(sample16(1) / 65535).float())  # fmt: skip


def test_several_series_are_refused_not_cut(tmp_path: Path) -> None:
    with tifffile.TiffWriter(tmp_path / "two.tif") as tiff:
        tiff.write(np.zeros((20, 30), np.uint16))
        tiff.write(np.zeros((10, 12), np.uint16))  # another image, not a preview
        tiff.write(np.zeros((5, 6), np.uint16), subfiletype=1)  # a preview: ignored
    with pytest.raises(InputError, match=r"holds 2 image series \(20x30, 10x12\)"):
        read_layout(tmp_path / "two.tif")
    with tifffile.TiffWriter(tmp_path / "preview.tif") as tiff:
        tiff.write(np.zeros((20, 30), np.uint16))
        tiff.write(np.zeros((5, 6), np.uint16), subfiletype=1)
    assert read_layout(tmp_path / "preview.tif").planes == 1
