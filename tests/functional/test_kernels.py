import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import convolve, disk_kernel, gaussian_kernel, motion_kernel


def test_gaussian_kernel_is_normalised_and_shaped() -> None:
    kernel = gaussian_kernel(15, 1.6)
    assert kernel.shape == (15, 15)
    assert kernel.sum().item() == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(kernel, kernel.T)
    torch.testing.assert_close(kernel, kernel.flip(0))
    # The 1-D profile of an isotropic Gaussian with sigma 1.6.
    profile = torch.exp(-0.5 * (torch.arange(-7, 8.0) / 1.6) ** 2)
    torch.testing.assert_close(kernel[7] / kernel[7, 7], profile / profile[7])


def test_anisotropic_kernel_rotates() -> None:
    wide = gaussian_kernel(11, 3.0, sigma_y=0.8)
    assert wide[5, :].sum() > wide[:, 5].sum()
    torch.testing.assert_close(gaussian_kernel(11, 3.0, 0.8, angle=90.0), wide.T, atol=1e-6, rtol=0)


@pytest.mark.parametrize(("size", "sigma"), [(4, 1.0), (0, 1.0), (5, -1.0), (5, 0.0)])
def test_bad_kernel_settings(size: int, sigma: float) -> None:
    with pytest.raises(InputError):
        gaussian_kernel(size, sigma)


def test_convolve_is_a_true_convolution_with_reflect_borders() -> None:
    image = torch.rand(1, 2, 20, 17, dtype=torch.float64)
    kernel = torch.rand(5, 3, dtype=torch.float64)  # asymmetric: catches a missing flip
    kernel /= kernel.sum()
    expected = np.stack(
        [ndimage.convolve(channel.numpy(), kernel.numpy(), mode="mirror") for channel in image[0]]
    )
    torch.testing.assert_close(convolve(image, kernel)[0], torch.from_numpy(expected))


def test_disk_kernel_is_a_normalised_round_support() -> None:
    kernel = disk_kernel(3.0)
    assert kernel.shape == (7, 7)
    assert kernel.sum().item() == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(kernel, kernel.T)
    # Corners lie outside a radius-3 disk; the centre row is flat inside it.
    assert kernel[0, 0] == 0 and kernel[3, 1] == kernel[3, 3]
    # Its area matches pi r^2 pixels: each inside pixel weighs 1 / area.
    assert 1 / kernel[3, 3].item() == pytest.approx(torch.pi * 9, rel=0.02)


def test_disk_kernel_refuses_a_bad_radius() -> None:
    with pytest.raises(InputError, match="radius"):
        disk_kernel(0.0)


@pytest.mark.parametrize(("length", "angle"), [(5.0, 0.0), (9.5, 30.0), (13.0, -75.0)])
def test_a_motion_kernel_is_a_centred_segment_of_its_length(length: float, angle: float) -> None:
    kernel = motion_kernel(length, angle).double()
    side = kernel.shape[-1]
    assert side % 2 == 1 and torch.isclose(kernel.sum(), torch.tensor(1.0, dtype=kernel.dtype))
    coords = torch.arange(side, dtype=torch.float64) - side // 2
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    # Centred: the centre of mass is the middle pixel.
    assert abs(float((kernel * x).sum())) < 1e-6 and abs(float((kernel * y).sum())) < 1e-6
    # Its spread along the motion is a uniform segment's, length**2 / 12, plus what sharing
    # each sample among 4 pixels adds (at most 1/6 along each axis); across it, that alone.
    theta = math.radians(angle)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta)
    assert length**2 / 12 <= float((kernel * along**2).sum()) <= length**2 / 12 + 1 / 3
    assert float((kernel * across**2).sum()) <= 1 / 3
