"""Image-quality metrics and their conventions, as explicit arguments.

Every figure uses data range 1.0 and per-image values (mean over images, never an error
pooled over a batch). ``border`` pixels are shaved from each side before measuring. SSIM uses
a Gaussian window (11 x 11, sigma 1.5) and, like Wang et al.'s reference code and
scikit-image, averages only where the window fits inside the image (torchmetrics' own SSIM
also averages over its padded border).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)
from torchmetrics.image import PeakSignalNoiseRatio

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def shave(image: Tensor, border: int) -> Tensor:
    """(..., H, W) -> (..., H - 2 border, W - 2 border)."""
    return image[..., border : image.shape[-2] - border, border : image.shape[-1] - border]


def psnr(pred: Tensor, target: Tensor, border: int = 0) -> Tensor:
    """Per-image PSNR in dB of (B, C, H, W) images in [0, 1]; returns (B,)."""
    return peak_signal_noise_ratio(
        shave(pred, border),
        shave(target, border),
        data_range=1.0,
        dim=(1, 2, 3),
        reduction="none",
    )


def ssim(pred: Tensor, target: Tensor, border: int = 0) -> Tensor:
    """Per-image SSIM of (B, C, H, W) images in [0, 1], valid windows only; returns (B,)."""
    _, ssim_map = structural_similarity_index_measure(
        shave(pred, border),
        shave(target, border),
        gaussian_kernel=True,
        sigma=SSIM_SIGMA,
        kernel_size=SSIM_WINDOW,
        data_range=1.0,
        return_full_image=True,
    )
    return shave(ssim_map, SSIM_WINDOW // 2).mean((1, 2, 3))


class StructuralSimilarity(Metric):
    """Mean per-image :func:`ssim` over everything updated (synced across processes)."""

    full_state_update = False
    higher_is_better = True

    def __init__(self) -> None:
        super().__init__()
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0), dist_reduce_fx="sum")

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add (B, C, H, W) predictions and targets."""
        values = ssim(pred, target)
        self.total += values.sum().double()
        self.count += values.numel()

    def compute(self) -> Tensor:
        return (self.total / self.count).float()


def quality_metrics(prefix: str) -> MetricCollection:
    """Stateful ``psnr``/``ssim`` (per-image mean, data range 1) named ``<prefix>psnr`` etc."""
    return MetricCollection(
        {
            "psnr": PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)),
            "ssim": StructuralSimilarity(),
        },
        prefix=prefix,
    )
