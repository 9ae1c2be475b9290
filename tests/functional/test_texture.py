"""Texture statistics of a training image, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import (
    flat_fraction,
    gradient_energy,
    local_contrast,
    luma,
    patch_diversity,
)


def test_luma_is_bt601_and_grey_stays() -> None:
    image = torch.rand(3, 5, 7)
    expected = 0.299 * image[0] + 0.587 * image[1] + 0.114 * image[2]
    torch.testing.assert_close(luma(image)[0, 0], expected)
    assert torch.equal(luma(image[:1])[0], image[:1])


def test_local_contrast_is_the_window_std() -> None:
    image = torch.rand(1, 20, 17, dtype=torch.float64)
    contrast = local_contrast(image, 5)
    assert contrast.shape == (1, 1, 16, 13)
    window = image[0, 3:8, 6:11].numpy()
    assert contrast[0, 0, 3, 6].item() == pytest.approx(window.std(), abs=1e-9)


def test_flat_fraction_counts_flat_patches() -> None:
    image = torch.full((1, 44, 44), 0.5)
    image[:, 22:, :22] = torch.rand(22, 22)  # one quarter textured (4 of 16 patches of 11)
    assert flat_fraction(image, 11) == pytest.approx(12 / 16)
    assert flat_fraction(torch.full((3, 33, 33), 0.2), 11) == 1.0


def test_gradient_energy_in_grey_levels() -> None:
    ramp = torch.arange(16, dtype=torch.float64).repeat(16, 1)[None] / 255  # +1 level across
    assert gradient_energy(ramp) == pytest.approx(0.5)  # 1 across, 0 down
    assert gradient_energy(torch.full((1, 8, 8), 0.3)) == 0.0


def test_patch_diversity_from_one_pattern_to_noise() -> None:
    stripes = (torch.arange(64) % 2).double().repeat(64, 1)[None]
    noise = torch.from_numpy(np.random.default_rng(0).random((1, 64, 64)))
    photo = read_image(SAMPLE_IMAGE)
    assert patch_diversity(stripes) == pytest.approx(1.0, abs=1e-6)
    assert 50 < patch_diversity(noise) <= 64
    assert 1 < patch_diversity(photo) < patch_diversity(noise)
    assert patch_diversity(torch.full((1, 32, 32), 0.5)) == 1.0
