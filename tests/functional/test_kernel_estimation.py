"""Blur kernel estimation from one pair, checked on pairs with known kernels."""

from __future__ import annotations

import pytest
import torch

from oneshot_lightning.data.degradations import Blur, Degradation
from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import disk_kernel, gaussian_kernel
from oneshot_lightning.functional.kernel_estimation import estimate_kernel


def shake() -> torch.Tensor:
    """A curved, one-sided 11x11 camera-shake kernel."""
    kernel = torch.zeros(11, 11)
    for step in range(9):
        kernel[2 + step // 2, 1 + step] = 1.0 + 0.2 * step
    return kernel / kernel.sum()


def relative_error(estimate: torch.Tensor, truth: torch.Tensor) -> float:
    """||estimate - truth|| / ||truth||, both zero-padded to one centred size."""
    side = max(estimate.shape[-1], truth.shape[-1])

    def centred(kernel: torch.Tensor) -> torch.Tensor:
        pad = (side - kernel.shape[-1]) // 2
        return torch.nn.functional.pad(kernel, (pad, pad, pad, pad))

    return float((centred(estimate) - centred(truth)).norm() / truth.norm())


@pytest.mark.parametrize(
    ("kernel", "tolerance"),
    [(gaussian_kernel(11, 1.6), 0.08), (disk_kernel(3.0), 0.08), (shake(), 0.08)],
    ids=["gaussian", "defocus", "shake"],
)
def test_a_known_kernel_is_recovered_from_a_noisy_8_bit_pair(
    kernel: torch.Tensor, tolerance: float
) -> None:
    clean = read_image(SAMPLE_IMAGE)
    degraded = Degradation(Blur(kernel), noise_sigma=0.01)(
        clean[None], torch.Generator().manual_seed(0)
    )[0]
    estimate = estimate_kernel(degraded, clean, max_size=21)
    assert estimate.kernel.shape[-1] % 2 == 1
    assert estimate.kernel.min() >= 0 and estimate.kernel.sum() == pytest.approx(1, abs=1e-5)
    assert relative_error(estimate.kernel, kernel) < tolerance
    # The noise is what the blur leaves: 0.01, plus 8-bit rounding (0.0011).
    assert estimate.noise_sigma == pytest.approx(0.0101, abs=0.001)


def test_a_noise_only_pair_has_no_blur() -> None:
    clean = read_image(SAMPLE_IMAGE)
    noisy = Degradation(noise_sigma=0.05)(clean[None], torch.Generator().manual_seed(1))[0]
    estimate = estimate_kernel(noisy, clean, max_size=21)
    assert estimate.kernel[estimate.kernel.shape[-1] // 2, estimate.kernel.shape[-1] // 2] > 0.9
    assert estimate.noise_sigma == pytest.approx(0.05, rel=0.05)


def test_a_shifted_pair_gives_a_shifted_kernel() -> None:
    clean = read_image(SAMPLE_IMAGE)
    shifted = torch.roll(clean, (1, -2), (-2, -1))  # one row down, two columns left
    estimate = estimate_kernel(shifted, clean, max_size=11)
    centre = estimate.kernel.shape[-1] // 2
    peak = int(estimate.kernel.argmax())
    row, col = divmod(peak, estimate.kernel.shape[-1])
    assert (row - centre, col - centre) == (1, -2)


def test_pairs_of_two_sizes_are_refused() -> None:
    with pytest.raises(InputError, match="one size"):
        estimate_kernel(torch.rand(3, 40, 40), torch.rand(3, 40, 41))


@pytest.mark.parametrize("sigma", [15 / 255, 50 / 255])
def test_noise_cut_off_at_black_and_white_is_measured_at_its_true_level(sigma: float) -> None:
    clean = read_image(SAMPLE_IMAGE)
    noisy = Degradation(noise_sigma=sigma)(clean[None], torch.Generator().manual_seed(3))[0]
    clipped = float((noisy - clean).std())  # the cut-off noise, below sigma at 50/255
    estimate = estimate_kernel(noisy, clean)
    assert estimate.kernel.shape == (1, 1)  # no blur: trimmed to one tap
    assert abs(clipped - sigma) > 0.03 * sigma  # what a plain deviation would report
    assert abs(estimate.noise_sigma - sigma) < 0.02 * sigma


def test_shot_noise_is_told_apart_from_read_noise() -> None:
    clean = read_image(SAMPLE_IMAGE)
    generator = torch.Generator().manual_seed(5)
    camera = Degradation(noise_sigma=0.01, poisson_peak=200.0)(clean[None], generator)[0]
    estimate = estimate_kernel(camera, clean)
    assert estimate.poisson_peak is not None and estimate.read_sigma is not None
    assert abs(estimate.poisson_peak - 200.0) < 0.1 * 200.0
    assert abs(estimate.read_sigma - 0.01) < 0.003
    # Noise of one level everywhere, even a strong one, is not taken for shot noise.
    flat = Degradation(noise_sigma=0.08)(clean[None], generator)[0]
    assert estimate_kernel(flat, clean).poisson_peak is None
