"""Images as scientists have them, through the real CLI: 16 bits, floats, stacks, channels,
forced 8-bit output, and going on with an interrupted ``predict``."""

from __future__ import annotations

import shutil
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.models import RestorationModule
from tests.conftest import CONF, UNSEEN_IMAGE


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny RGB model trained on the bundled sample."""
    from oneshot_lightning.cli import main

    root = tmp_path_factory.mktemp("run")
    main(["fit", "--config", str(CONF / "rnn_tiny.yaml"), "--trainer.default_root_dir", str(root),
          "--trainer.max_epochs", "1"])  # fmt: skip
    return root / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def model(checkpoint: Path) -> RestorationModule:
    return RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")


def restore(model: RestorationModule, planes: np.ndarray) -> np.ndarray:
    """The float restoration of (C, H, W) [0, 1] values, as (C, H, W) float32."""
    with torch.inference_mode():
        return model.restore(torch.from_numpy(planes)[None])[0].numpy()


def coffee(height: int = 48, width: int = 64) -> np.ndarray:
    """A crop of the unseen sample: (3, H, W) float32 in [0, 1]."""
    return read_image(UNSEEN_IMAGE)[:, :height, :width].numpy()


def to16(values: np.ndarray) -> np.ndarray:
    """[0, 1] -> uint16, shifted off the 8-bit grid (a 16-bit image an 8-bit read would spoil)."""
    return (np.round(values * 65000) + 123).astype(np.uint16)


def predict(cli, checkpoint: Path, inputs: Path, out: Path, *flags: object) -> None:
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", inputs,
        "--writer.output_dir", out, "--trainer.enable_progress_bar", "false", *flags)  # fmt: skip


def test_16_bit_grey_and_rgb_keep_16_bits(tmp_path: Path, cli, checkpoint: Path, model) -> None:
    rgb, grey = to16(coffee()), to16(coffee().mean(0, keepdims=True))
    inputs = tmp_path / "in"
    inputs.mkdir()
    tifffile.imwrite(inputs / "grey16.tif", grey[0])
    tifffile.imwrite(inputs / "rgb16.tif", rgb.transpose(1, 2, 0), photometric="rgb")
    Image.fromarray(grey[0]).save(inputs / "grey16.png")
    (inputs / "rgb16p.png").write_bytes(imagecodecs.png_encode(rgb.transpose(1, 2, 0)))
    predict(cli, checkpoint, inputs, tmp_path / "out")
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "grey16.png", "grey16.tif", "rgb16.tif", "rgb16p.png"
    ]  # fmt: skip
    written = {
        "grey16.tif": tifffile.imread(out / "grey16.tif")[None],
        "grey16.png": imagecodecs.png_decode((out / "grey16.png").read_bytes())[None],
        "rgb16.tif": tifffile.imread(out / "rgb16.tif").transpose(2, 0, 1),
        "rgb16p.png": imagecodecs.png_decode((out / "rgb16p.png").read_bytes()).transpose(2, 0, 1),
    }
    for name, values in written.items():
        stored = grey if name.startswith("grey") else rgb
        assert values.dtype == np.uint16 and values.shape == stored.shape, name
        restored = restore(model, stored.astype(np.float32) / 65535)
        expected = np.round(restored * 65535)  # the float restoration to 1/65535
        assert np.abs(values - expected).max() <= 1, name
        assert (values == expected).mean() > 0.999, name
        assert np.abs(values.astype(np.int64) - stored).max() > 16, "restored, not copied"
        assert (values % 257 != 0).mean() > 0.9, "16 bits, not 8 bits scaled up"


def test_float_tiff_stays_float_with_its_range(
    tmp_path: Path, cli, checkpoint: Path, model
) -> None:
    grey = coffee().mean(0)
    values = (20 + 480 * grey).astype(np.float32)  # a float image with values up to 500
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "float.tif", values)
    predict(cli, checkpoint, tmp_path / "in", tmp_path / "out")
    written = tifffile.imread(tmp_path / "out" / "float.tif")
    assert written.dtype == np.float32 and written.shape == values.shape
    low, high = float(values.min()), float(values.max())
    # Normalised for the net by the file's min-max, restored, mapped back.
    restored = restore(model, ((values - low) / (high - low))[None])[0]
    np.testing.assert_allclose(written, low + restored * (high - low), rtol=1e-6, atol=1e-4)
    assert low <= written.min() < low + 20 and high - 20 < written.max() <= high
    assert np.abs(written - values).max() > 0.1, "restored, not copied"


def test_stack_stays_a_stack(tmp_path: Path, cli, checkpoint: Path, model) -> None:
    pages = to16(coffee())  # three grey pages
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "stack.tif", pages, photometric="minisblack",
                     metadata={"axes": "ZYX"})  # fmt: skip
    predict(cli, checkpoint, tmp_path / "in", tmp_path / "out")
    with tifffile.TiffFile(tmp_path / "out" / "stack.tif") as tiff:
        assert tiff.series[0].axes == "ZYX" and len(tiff.pages) == 3
        written = tiff.series[0].asarray()
    assert written.dtype == np.uint16 and written.shape == pages.shape
    for page, values in zip(pages, written):  # page by page
        expected = np.round(restore(model, page[None].astype(np.float32) / 65535)[0] * 65535)
        assert np.abs(values - expected).max() <= 1


def test_five_channels_are_restored_channel_by_channel(
    tmp_path: Path, cli, checkpoint: Path, model
) -> None:
    rgb = coffee()
    channels = np.concatenate([rgb, 1 - rgb[:2]])  # five channels, e.g. fluorescence
    stored = np.round(channels * 255).astype(np.uint8).transpose(1, 2, 0)
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "five.tif", stored, photometric="minisblack",
                     planarconfig="contig", metadata={"axes": "YXS"})  # fmt: skip
    predict(cli, checkpoint, tmp_path / "in", tmp_path / "out")
    written = tifffile.imread(tmp_path / "out" / "five.tif")
    assert written.dtype == np.uint8 and written.shape == stored.shape
    for index in range(5):
        grey = stored[..., index][None].astype(np.float32) / 255
        expected = np.round(restore(model, grey)[0] * 255)
        assert np.abs(written[..., index] - expected).max() <= 1, index


def test_png8_forces_8_bit_pngs_and_refuses_stacks(
    tmp_path: Path, cli, checkpoint: Path, capsys
) -> None:
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "rgb16.tif", to16(coffee()).transpose(1, 2, 0),
                     photometric="rgb")  # fmt: skip
    predict(cli, checkpoint, tmp_path / "in", tmp_path / "out", "--writer.format", "png8")
    with Image.open(tmp_path / "out" / "rgb16.png") as written:
        assert written.mode == "RGB" and written.size == (64, 48)
    tifffile.imwrite(tmp_path / "in" / "stack.tif", to16(coffee()), photometric="minisblack")
    with pytest.raises(SystemExit) as info:
        predict(cli, checkpoint, tmp_path / "in", tmp_path / "out8", "--writer.format", "png8")
    assert info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("oneshot: error: ") and "stack.tif is a 3-page stack" in last
    assert "one 8-bit PNG cannot hold" in last
    assert not (tmp_path / "out8").exists()


def test_training_and_test_read_16_bit_pairs(tmp_path: Path, cli) -> None:
    sharp = to16(read_image(SAMPLE_IMAGE).numpy()[:, :96, :96])
    tifffile.imwrite(tmp_path / "sharp.tif", sharp.transpose(1, 2, 0), photometric="rgb")
    blurred = (sharp.astype(np.float64) * 0.9).astype(np.uint16)
    tifffile.imwrite(tmp_path / "blurred.tif", blurred.transpose(1, 2, 0), photometric="rgb")
    cli("fit", "--config", CONF / "rnn_tiny.yaml", "--trainer.max_epochs", 1,
        "--data.input", tmp_path / "blurred.tif", "--data.target", tmp_path / "sharp.tif",
        "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    checkpoint = tmp_path / "run" / "checkpoints" / "last.ckpt"
    cli("test", "--config", CONF / "rnn_tiny.yaml", "--ckpt_path", checkpoint,
        "--data.test_input", tmp_path / "blurred.tif", "--data.test_target",
        tmp_path / "sharp.tif", "--trainer.default_root_dir", tmp_path / "test")  # fmt: skip
    assert (tmp_path / "test" / "lightning_logs" / "version_0" / "metrics.csv").is_file()


def test_skip_existing_goes_on_with_an_interrupted_run(
    tmp_path: Path, cli, checkpoint: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        shutil.copy(UNSEEN_IMAGE, inputs / f"{name}.png")
    tifffile.imwrite(inputs / "stack.tif", to16(coffee()), photometric="minisblack")
    restored: list[int] = []
    predict_step = RestorationModule.predict_step

    def counting(self: RestorationModule, batch: dict, batch_idx: int) -> torch.Tensor:
        restored.append(batch_idx)
        return predict_step(self, batch, batch_idx)

    monkeypatch.setattr(RestorationModule, "predict_step", counting)
    predict(cli, checkpoint, inputs, out)
    assert len(restored) == 6  # three images and a 3-page stack
    assert "restored 4 of 4 images" in capsys.readouterr().out
    # The run was "interrupted" before b and the stack were written (a partial file of an
    # interrupted write is hidden and never taken for an output).
    (out / "b.png").unlink()
    (out / "stack.tif").unlink()
    (out / ".stack.tif.1234.partial").write_bytes(b"half")
    kept = {name: (out / name).read_bytes() for name in ("a.png", "c.png")}
    with pytest.raises(SystemExit):
        predict(cli, checkpoint, inputs, out)
    assert "pass --writer.overwrite true" in capsys.readouterr().err
    restored.clear()
    predict(cli, checkpoint, inputs, out, "--writer.skip_existing", "true")
    assert len(restored) == 4  # b and the stack's three pages: a and c were not restored again
    summary = capsys.readouterr().out
    assert f"restored 2 of 4 images into {out}; skipped 2 whose outputs exist" in summary
    assert all((out / name).read_bytes() == data for name, data in kept.items())
    assert tifffile.imread(out / "stack.tif").shape == (3, 48, 64)
    restored.clear()
    predict(cli, checkpoint, inputs, out, "--writer.skip_existing", "true")
    assert restored == [] and "nothing to restore: all 4 outputs exist" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        predict(cli, checkpoint, inputs, out, "--writer.skip_existing", "true",
                "--writer.overwrite", "true")  # fmt: skip
    assert "contradict each other" in capsys.readouterr().err
