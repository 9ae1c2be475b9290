"""The noise level of one image alone (patch PCA), against the truth it was made with."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional.noise_level import blind_deviation

COFFEE = SAMPLE_IMAGE.with_name("coffee.png")


def noisy(clean: torch.Tensor, sigma: float) -> torch.Tensor:
    """``clean`` with white noise of ``sigma``, clipped and rounded to 8 bits as a file."""
    noise = sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(3))
    return (clean + noise).clamp(0, 1).mul(255).round().div(255)


@pytest.mark.parametrize("photo", [SAMPLE_IMAGE, COFFEE], ids=["astronaut", "coffee"])
@pytest.mark.parametrize("sigma", [5, 15, 25])
def test_the_level_of_white_noise_is_found(photo: Path, sigma: int) -> None:
    clean = read_image(photo)
    assert blind_deviation(noisy(clean, sigma / 255)) == pytest.approx(sigma / 255, rel=0.08)


def test_grey_images_and_strong_noise() -> None:
    clean = read_image(COFFEE).mean(0, keepdim=True)
    assert blind_deviation(noisy(clean, 25 / 255)) == pytest.approx(25 / 255, rel=0.08)
    # Clipped at black and white, strong noise reads somewhat low, not wildly so.
    assert blind_deviation(noisy(read_image(COFFEE), 50 / 255)) == pytest.approx(50 / 255, rel=0.15)


def test_a_clean_photo_reads_almost_no_noise() -> None:
    # 8-bit rounding alone is 0.29/255; the photo's own grain adds a little.
    assert blind_deviation(read_image(COFFEE)) < 3 / 255


def test_an_image_smaller_than_the_window_is_one_line() -> None:
    from oneshot_lightning.errors import InputError

    with pytest.raises(InputError, match="smaller than 8x8"):
        blind_deviation(torch.rand(3, 6, 30))
