from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage

from oneshot_lightning.data.degradations import (
    Degradation,
    GaussianBlur,
    KernelBlur,
    blur,
    gaussian_kernel,
    load_kernel,
    quantize,
)
from oneshot_lightning.errors import InputError


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


def test_blur_is_a_true_convolution_with_reflect_borders() -> None:
    image = torch.rand(1, 2, 20, 17, dtype=torch.float64)
    kernel = torch.rand(5, 3, dtype=torch.float64)  # asymmetric: catches a missing flip
    kernel /= kernel.sum()
    expected = np.stack(
        [ndimage.convolve(channel.numpy(), kernel.numpy(), mode="mirror") for channel in image[0]]
    )
    torch.testing.assert_close(blur(image, kernel)[0], torch.from_numpy(expected))


def test_blur_keeps_a_constant_image_constant() -> None:
    image = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(GaussianBlur(1.6, 15)(image), image)


def test_kernel_from_npy_and_png(tmp_path: Path) -> None:
    kernel = np.zeros((5, 5))
    kernel[2, 1:4] = [1.0, 2.0, 1.0]
    np.save(tmp_path / "k.npy", kernel)
    Image.fromarray((kernel * 100).astype(np.uint8)).save(tmp_path / "k.png")
    for path in (tmp_path / "k.npy", tmp_path / "k.png"):
        loaded = load_kernel(path)
        torch.testing.assert_close(loaded, torch.from_numpy(kernel / 4).float(), atol=1e-6, rtol=0)
    assert KernelBlur(str(tmp_path / "k.npy")).kernel.shape == (5, 5)
    np.save(tmp_path / "neg.npy", -kernel)
    with pytest.raises(InputError, match="non-negative"):
        load_kernel(tmp_path / "neg.npy")
    with pytest.raises(InputError, match="not found"):
        load_kernel(tmp_path / "none.npy")


def test_noise_is_seeded_with_the_requested_sigma() -> None:
    degrade = Degradation(noise_sigma=0.05, quantize=False)
    clean = torch.full((1, 3, 128, 128), 0.5)
    first = degrade(clean, torch.Generator().manual_seed(1))
    again = degrade(clean, torch.Generator().manual_seed(1))
    other = degrade(clean, torch.Generator().manual_seed(2))
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)
    assert (first - clean).std().item() == pytest.approx(0.05, rel=0.03)


def test_quantize_gives_8_bit_levels() -> None:
    values = quantize(torch.tensor([-0.2, 0.0, 0.5, 1.3]))
    torch.testing.assert_close(values, torch.tensor([0.0, 0.0, 128 / 255, 1.0]))


def test_negative_noise_is_refused() -> None:
    with pytest.raises(InputError, match="noise_sigma"):
        Degradation(noise_sigma=-0.1)
