"""Downscaling by a kernel: MATLAB's bicubic as one such kernel, Gaussians, repeated steps."""

from __future__ import annotations

import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    back_project,
    bicubic_kernel,
    downscaling_gaussian,
    kernel_downscale,
    quantize,
    relative_error,
    repeated_kernel,
)
from oneshot_lightning.functional.downscaling import fit_parity
from oneshot_lightning.functional.resize import bicubic_downscale, bicubic_upscale
from oneshot_lightning.metrics import psnr_y


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_bicubic_kernel_downscales_exactly_as_matlab_borders_included(scale: int) -> None:
    image = torch.rand(2, 3, 12 * scale, 10 * scale, dtype=torch.float64)
    by_kernel = kernel_downscale(image, bicubic_kernel(scale).double(), scale)
    assert torch.allclose(by_kernel, bicubic_downscale(image, scale), atol=1e-6)


def test_a_gaussian_is_centred_on_the_block_and_sums_to_one() -> None:
    kernel = downscaling_gaussian(2, 1.5, 0.7, 30).double()
    coords = torch.arange(16, dtype=torch.float64)
    assert kernel.sum().item() == pytest.approx(1, abs=1e-6)
    assert (kernel.sum(1) * coords).sum().item() == pytest.approx(7.5, abs=1e-6)
    assert (kernel.sum(0) * coords).sum().item() == pytest.approx(7.5, abs=1e-6)
    # A symmetric kernel on a constant image keeps it; on a ramp, samples the block centres.
    ramp = torch.arange(32, dtype=torch.float64).expand(1, 1, 32, 32)
    smaller = kernel_downscale(ramp, kernel.double(), 2)[0, 0, 8, 4:12]
    assert torch.allclose(smaller, 2 * torch.arange(4, 12, dtype=torch.float64) + 0.5)


def test_a_kernel_of_the_other_parity_gets_a_zero_row_and_column() -> None:
    assert fit_parity(torch.ones(11, 11), 2).shape == (12, 12)
    assert fit_parity(torch.ones(12, 12), 2).shape == (12, 12)
    assert fit_parity(torch.ones(11, 11), 3).shape == (11, 11)


def test_two_steps_equal_one_step_by_the_repeated_kernel_away_from_borders() -> None:
    step = downscaling_gaussian(2, 1.3, 0.8, 30).double()
    image = torch.rand(1, 1, 128, 128, dtype=torch.float64)
    twice = kernel_downscale(kernel_downscale(image, step, 2), step, 2)
    once = kernel_downscale(image, repeated_kernel(step, 2, 2).double(), 4)
    assert torch.allclose(twice[..., 6:-6, 6:-6], once[..., 6:-6, 6:-6], atol=1e-6)
    assert torch.allclose(repeated_kernel(step, 2, 1).double(), step, atol=1e-6)


def test_back_projection_with_the_true_kernel_beats_it_with_bicubic() -> None:
    """A photo shrunk by a wide Gaussian: only its own kernel undoes the blur."""
    truth = read_image(SAMPLE_IMAGE)[None]
    kernel = downscaling_gaussian(2, 1.8, 1.2, 60)
    low = quantize(kernel_downscale(truth, kernel, 2))
    start = bicubic_upscale(low, 2)
    assumed = back_project(start, low, 2, 4).clamp(0, 1)
    true = back_project(start, low, 2, 4, kernel).clamp(0, 1)
    gain = psnr_y(true, truth, 2) - psnr_y(assumed, truth, 2)
    assert gain.item() > 1.0
    fitted = back_project(start, low, 2, 30, kernel)
    assert (kernel_downscale(fitted, kernel, 2) - low).abs().mean() < 2e-3


def test_relative_error_embeds_the_smaller_kernel() -> None:
    kernel = downscaling_gaussian(2, 1.0)
    assert relative_error(kernel, kernel) == 0
    assert relative_error(kernel[2:-2, 2:-2], kernel) < 0.05
    assert relative_error(bicubic_kernel(2), downscaling_gaussian(2, 2.0)) > 0.5


def test_an_image_not_a_multiple_of_the_scale_is_refused() -> None:
    with pytest.raises(InputError, match="not a multiple of the scale 2"):
        kernel_downscale(torch.rand(1, 1, 15, 16), bicubic_kernel(2), 2)
