"""The downscaling kernel of a photo from the photo alone, on the bundled sample."""

from __future__ import annotations

import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    bicubic_downscale,
    bicubic_kernel,
    downscaling_gaussian,
    estimate_downscaling_kernel,
    kernel_downscale,
    quantize,
    relative_error,
)


@pytest.fixture(scope="module")
def original() -> torch.Tensor:
    """(1, 3, 400, 400): the sample's centre, as the unknown high-resolution original."""
    return read_image(SAMPLE_IMAGE)[None, :, 56:456, 56:456]


def test_a_wide_anisotropic_kernel_is_found_far_closer_than_bicubic(original) -> None:
    truth = downscaling_gaussian(2, 2.0, 1.2, 45)
    photo = quantize(kernel_downscale(original, truth, 2))[0]
    found = estimate_downscaling_kernel(photo, 2)
    assert found.description.startswith("Gaussian")
    assert relative_error(found.kernel, truth) < 0.4
    assert relative_error(found.kernel, truth) < 0.3 * relative_error(bicubic_kernel(2), truth)


def test_a_bicubic_photo_keeps_the_bicubic_kernel(original) -> None:
    photo = quantize(bicubic_downscale(original, 2))[0]
    found = estimate_downscaling_kernel(photo, 2)
    assert found.description == "MATLAB bicubic"
    assert torch.equal(found.kernel, bicubic_kernel(2))


def test_a_photo_too_small_is_one_clear_line() -> None:
    with pytest.raises(InputError, match="needs at least 32x32 pixels"):
        estimate_downscaling_kernel(torch.rand(3, 20, 40), 2)
