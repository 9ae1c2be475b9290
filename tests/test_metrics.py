import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from oneshot_lightning.metrics import psnr, quality_metrics, shave, ssim


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
        assert ssim(pred, target, border)[index].item() == pytest.approx(expected_ssim, abs=2e-3)


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
