"""Zero-shot denoising's first pass and noise level, and the data module that uses them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from oneshot_lightning.data.datamodule import OneShotDataModule
from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.data.first_pass import BM3D, zero_shot_denoising
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.metrics import psnr

needs_bm3d = pytest.mark.skipif(
    importlib.util.find_spec("bm3d") is None, reason="needs the bm3d package"
)


def noisy(clean: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``clean`` with white noise of ``sigma``, clipped and rounded to 8 bits as a file."""
    generator = torch.Generator().manual_seed(seed)
    noise = sigma * torch.randn(clean.shape, generator=generator)
    return (clean + noise).clamp(0, 1).mul(255).round().div(255)


@pytest.fixture
def crop() -> torch.Tensor:
    """A (3, 96, 96) crop of the bundled photo."""
    return read_image(SAMPLE_IMAGE)[:, 80:176, 60:156]


@needs_bm3d
@pytest.mark.parametrize("channels", [1, 3])
def test_bm3d_first_pass_removes_most_of_the_noise(crop: torch.Tensor, channels: int) -> None:
    clean = crop if channels == 3 else crop.mean(0, keepdim=True)
    photo = noisy(clean, 25 / 255)
    denoised = BM3D()(photo, 25 / 255)
    assert denoised.shape == clean.shape and denoised.dtype == clean.dtype
    gain = psnr(denoised[None], clean[None]) - psnr(photo[None], clean[None])
    assert gain.item() > 6


def test_bm3d_missing_is_one_line(crop: torch.Tensor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bm3d", None)
    with pytest.raises(InputError, match="needs the bm3d package: pip install bm3d"):
        BM3D()(crop, 0.1)


@needs_bm3d
def test_the_noise_level_is_measured_unless_the_degradation_has_one(crop: torch.Tensor) -> None:
    photo = noisy(crop, 15 / 255)
    clean, noise, source = zero_shot_denoising(photo, BM3D(), None)
    assert noise.noise_sigma == pytest.approx(15 / 255, rel=0.1)
    assert "estimated from the noisy photo" in source and "BM3D" in source
    assert psnr(clean[None], crop[None]) > psnr(photo[None], crop[None]) + 5
    given = Degradation(noise_sigma=0.05)
    assert zero_shot_denoising(photo, BM3D(), given)[1] is given


@needs_bm3d
def test_data_module_trains_on_the_first_pass(tmp_path: Path) -> None:
    truth = read_image(SAMPLE_IMAGE)[:, :128, :128]
    path = write_image(tmp_path / "photo.png", noisy(truth, 25 / 255))
    data = OneShotDataModule(
        input=str(path), first_pass=BM3D(), patch_size=32, batch_size=4, fresh_fraction=1.0
    )
    data.setup("fit")
    pair = data.training_pair()
    assert pair.blur is not None and pair.blur.noise_sigma == pytest.approx(25 / 255, rel=0.1)
    assert pair.blur_source.startswith("estimated from the noisy photo alone")
    # The clean side is the first pass (far closer to the truth than the photo), the noisy
    # side that first pass with new noise of the measured level.
    photo = read_image(path)
    assert psnr(pair.clean[None], truth[None]) > psnr(photo[None], truth[None]) + 5
    residual = pair.degraded - pair.clean
    assert residual.std().item() == pytest.approx(25 / 255, rel=0.15)


def test_first_pass_with_a_clean_target_or_a_scale_is_refused() -> None:
    with pytest.raises(InputError, match=r"data\.target must be unset with data\.first_pass"):
        OneShotDataModule(input=str(SAMPLE_IMAGE), target=str(SAMPLE_IMAGE), first_pass=BM3D())
    with pytest.raises(InputError, match=r"data\.scale must be 1 with data\.first_pass"):
        OneShotDataModule(input=str(SAMPLE_IMAGE), first_pass=BM3D(), scale=2)


def test_a_photo_without_noise_is_refused() -> None:
    flat = torch.full((3, 64, 64), 0.5)
    with pytest.raises(InputError, match="the photo shows no noise to remove"):
        zero_shot_denoising(flat, BM3D(), None)
