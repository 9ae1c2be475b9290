import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from oneshot_lightning.errors import InputError
from oneshot_lightning.metrics import psnr, psnr_y, quality_metrics, rgb_to_y, shave, ssim


@pytest.fixture
def images() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 3, 48, 40, generator=generator)
    noise = 0.05 * torch.arange(1, 4.0)[:, None, None, None]  # a different error per image
    pred = (target + noise * torch.randn(target.shape, generator=generator)).clamp(0, 1)
    return pred, target


@pytest.mark.parametrize("border", [0, 4])
def test_psnr_and_ssim_match_scikit_image(images, border: int) -> None:
    pred, target = images
    for index in range(3):
        p = shave(pred[index], border).double().numpy()
        t = shave(target[index], border).double().numpy()
        expected_psnr = peak_signal_noise_ratio(t, p, data_range=1.0)
        expected_ssim = structural_similarity(
            t,
            p,
            data_range=1.0,
            channel_axis=0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        assert psnr(pred, target, border)[index].item() == pytest.approx(expected_psnr, abs=1e-3)
        assert ssim(pred, target, border)[index].item() == pytest.approx(expected_ssim, abs=1e-5)


def test_stateful_metrics_average_per_image_values(images) -> None:
    pred, target = images
    metrics = quality_metrics("val/")
    metrics.update(pred[:2], target[:2])
    metrics.update(pred[2:], target[2:])
    result = metrics.compute()
    assert result["val/psnr"].item() == pytest.approx(psnr(pred, target).mean().item(), abs=1e-4)
    assert result["val/ssim"].item() == pytest.approx(ssim(pred, target).mean().item(), abs=1e-4)
    # A pooled error over all images would give a different (lower) figure here.
    pooled = 10 * np.log10(1 / ((pred - target) ** 2).mean().item())
    assert abs(result["val/psnr"].item() - pooled) > 0.5


def test_shave() -> None:
    assert shave(torch.rand(1, 3, 20, 30), 8).shape == (1, 3, 4, 14)
    assert shave(torch.rand(2, 5), 0).shape == (2, 5)


def test_matlab_luma_of_known_colours() -> None:
    colours = torch.tensor([[0.0, 0, 0], [1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    y = rgb_to_y(colours[:, :, None, None])[:, 0, 0, 0] * 255
    expected = torch.tensor([16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966])
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-4)
    grey = torch.rand(2, 1, 4, 4)
    assert torch.equal(rgb_to_y(grey), grey)


def test_psnr_y_hand_computed() -> None:
    target = torch.full((1, 3, 10, 10), 100 / 255)
    pred = target.clone()
    pred[..., 2:8, 2:8] += 10 / 255  # a 10-level error on every channel of the inner 6x6
    # Luma error = 10 * (65.481 + 128.553 + 24.966) / 255 = 8.588 levels on 36 of 36 pixels
    # left after shaving 2: MSE = 8.588**2, PSNR = 20 log10(255 / 8.588).
    expected = 20 * np.log10(255 / (10 * 219 / 255))
    assert psnr_y(pred, target, border=2).item() == pytest.approx(expected, abs=1e-3)
    # The 8-bit rounding of outputs is part of the convention: +0.4 levels changes nothing.
    assert psnr_y(target + 0.4 / 255, target, border=0).item() == float("inf")


def test_ssim_refuses_images_smaller_than_its_window() -> None:
    with pytest.raises(InputError, match="11x11"):
        ssim(torch.rand(1, 1, 20, 20), torch.rand(1, 1, 20, 20), border=5)
