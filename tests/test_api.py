"""The Python API: train on two arrays, restore arrays and tensors of any common type."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import oneshot_lightning
from oneshot_lightning import Restorer, train
from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import convolve, gaussian_kernel, quantize
from tests.conftest import UNSEEN_IMAGE

CONF = Path(__file__).parent / "conf"
ROOT = Path(__file__).resolve().parents[1]


def as_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> (H, W, 3) uint8."""
    return (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Restorer, Path]:
    """A few steps on an 8-bit array pair of the sample, through ``oneshot fit``; (model, run)."""
    clean = read_image(SAMPLE_IMAGE)[None, :, :192, :192]
    degraded = quantize(convolve(clean, gaussian_kernel(7, 1.0)))
    run = tmp_path_factory.mktemp("api")
    return train(as_uint8(degraded), as_uint8(clean), CONF / "rnn_tiny.yaml", run), run


def test_train_runs_oneshot_fit_on_the_arrays(trained: tuple[Restorer, Path]) -> None:
    restorer, run = trained
    assert (run / "checkpoints" / "best.ckpt").is_file() and (run / "kernel.npy").is_file()
    written = read_image(run / "pair" / "target.png")
    expected = read_image(SAMPLE_IMAGE)[:, :192, :192]
    torch.testing.assert_close(written, expected)  # 8-bit values, exact at 16 bits
    assert restorer.model.net.patch_size == 5  # rnn_tiny.yaml's net


def test_arrays_come_back_in_their_own_type(trained: tuple[Restorer, Path]) -> None:
    restorer = trained[0]
    model = restorer.model
    image = read_image(SAMPLE_IMAGE.parent / "coffee.png")[None, :, :64, :80]
    with torch.inference_mode():
        restored = model.restore(image)
        grey_restored = model.restore(image.mean(1, keepdim=True))

    rgb = restorer(as_uint8(image))
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 80, 3)
    np.testing.assert_array_equal(rgb, as_uint8(restored))

    grey16 = (image.mean(1)[0].numpy() * 65535).round().astype(np.uint16)
    out16 = restorer(grey16)
    assert out16.dtype == np.uint16 and out16.shape == (64, 80)
    expected16 = (grey_restored[0, 0].numpy() * 65535).round()
    assert np.abs(out16.astype(np.float64) - expected16).max() <= 1

    scientific = image.mean(1)[0].numpy().astype(np.float32) * 500 + 20
    out = restorer(scientific)
    assert out.dtype == np.float32 and out.min() >= scientific.min() - 1e-3
    low, span = float(scientific.min()), float(scientific.max() - scientific.min())
    with torch.inference_mode():
        normalised = torch.from_numpy((scientific - low) / span)[None, None]
        expected = model.restore(normalised)[0, 0].numpy() * span + low
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_tensors_come_back_as_tensors(trained: tuple[Restorer, Path]) -> None:
    restorer = trained[0]
    batch = read_image(SAMPLE_IMAGE)[None, :, :48, :40].repeat(2, 1, 1, 1)
    with torch.inference_mode():
        expected = restorer.model.restore(batch)
    torch.testing.assert_close(restorer(batch), expected)
    torch.testing.assert_close(restorer(batch[0]), expected[0])


def test_from_checkpoint_and_bad_arrays(trained: tuple[Restorer, Path]) -> None:
    restorer = Restorer.from_checkpoint(trained[1] / "checkpoints" / "best.ckpt")
    with pytest.raises(InputError, match="grey or"):
        restorer(np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(InputError, match="NaN"):
        restorer(np.full((32, 32), np.nan, np.float32))
    with pytest.raises(InputError, match="differ in type"):
        train(np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint16))


def python_block(heading: str) -> str:
    """The first ```python block of README.md after the line ``heading``."""
    text = (ROOT / "README.md").read_text()
    after = text[text.index(f"\n{heading}\n") :]
    start = after.index("```python\n") + len("```python\n")
    return after[start : after.index("```", start)]


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README's Python API example, as written, with a training budget of three steps."""
    clean = read_image(SAMPLE_IMAGE)[None, :, :160, :176]
    blurred = quantize(convolve(clean, gaussian_kernel(9, 1.4)))
    full_train = oneshot_lightning.train

    def three_steps(*args: object, **kwargs: object) -> Restorer:
        kwargs["config"] = ROOT / str(kwargs["config"])  # the example runs in the checkout
        budget = ["--trainer.max_epochs", "1", "--data.steps_per_epoch", "3"]
        quiet = ["--trainer.enable_progress_bar", "false"]
        return full_train(*args, **kwargs, args=budget + quiet)  # type: ignore[arg-type]

    monkeypatch.setattr(oneshot_lightning, "train", three_steps)
    monkeypatch.chdir(tmp_path)
    other = as_uint8(quantize(convolve(read_image(UNSEEN_IMAGE)[None, :, :96, :72],
                                       gaussian_kernel(9, 1.4))))  # fmt: skip
    names = {"blurry": as_uint8(blurred), "sharp": as_uint8(clean), "other_blurry": other}
    exec(python_block("## Python API"), names)
    assert names["sharp_too"].shape == other.shape and names["sharp_too"].dtype == np.uint8
    assert names["batch"].shape == (2, 3, 64, 80) and names["batch"].dtype == torch.float32
    assert (tmp_path / "runs" / "notebook" / "checkpoints" / "best.ckpt").is_file()
