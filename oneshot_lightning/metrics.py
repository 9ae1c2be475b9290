"""Image-quality metrics and their conventions, as explicit arguments.

Every figure uses data range 1.0 and per-image values (mean over images, never an error
pooled over a batch, which torchmetrics' PSNR does by default). ``border`` pixels are shaved
from each side before measuring. SSIM uses a Gaussian window (11 x 11, sigma 1.5) and, like
Wang et al.'s reference code and scikit-image, averages only where the window fits inside
the image (torchmetrics' own SSIM also averages over its padded border).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor
from torchmetrics import Metric, MetricCollection
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import quantize

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
#: MATLAB ``rgb2ycbcr`` luma (BT.601, studio range), for RGB in [0, 1]; output in [0, 1].
Y_WEIGHTS = (65.481 / 255, 128.553 / 255, 24.966 / 255)
Y_OFFSET = 16 / 255


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
    height, width = pred.shape[-2] - 2 * border, pred.shape[-1] - 2 * border
    if min(height, width) < SSIM_WINDOW:
        raise InputError(
            f"SSIM needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels; {width}x{height} remain "
            f"after shaving {border} border pixels"
        )
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


class PerImageMean(Metric):
    """Mean of a per-image metric ``function(pred, target) -> (B,)`` over all updates.

    The per-image values are the state (gathered exactly across processes), so they can also
    be read back, e.g. for a per-image table, without measuring twice.
    """

    full_state_update = False
    higher_is_better = True
    #: Per-image values of each update; one tensor once gathered across processes.
    values: list[Tensor] | Tensor

    def __init__(self, function: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.function = function
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add (B, C, H, W) predictions and targets."""
        assert isinstance(self.values, list)
        self.values.append(self.function(pred, target).double())

    @staticmethod
    def last_update(metric: Metric) -> Tensor:
        """(B,) values of the latest :meth:`update` of ``metric``, a :class:`PerImageMean`."""
        assert isinstance(metric, PerImageMean) and isinstance(metric.values, list)
        return metric.values[-1]

    def compute(self) -> Tensor:
        """Mean over every image seen (on every process, once synchronised)."""
        values = self.values if isinstance(self.values, Tensor) else torch.cat(self.values)
        return values.mean().float()


def rgb_to_y(image: Tensor) -> Tensor:
    """(B, 3, H, W) RGB -> (B, 1, H, W) MATLAB studio-range luma; grey (C = 1) passes through.

    Not kornia's ``rgb_to_y`` (full range), which reads about 1.3 dB lower in PSNR.
    """
    if image.shape[1] == 1:
        return image
    weights = image.new_tensor(Y_WEIGHTS)[None, :, None, None]
    return (image * weights).sum(1, keepdim=True) + Y_OFFSET


def psnr_y(pred: Tensor, target: Tensor, border: int) -> Tensor:
    """Super-resolution PSNR: 8-bit outputs, MATLAB luma, ``border`` (= scale) shaved; (B,)."""
    return psnr(rgb_to_y(quantize(pred)), rgb_to_y(quantize(target)), border)


def ssim_y(pred: Tensor, target: Tensor, border: int) -> Tensor:
    """Super-resolution SSIM on the same luma as :func:`psnr_y`; (B,)."""
    return ssim(rgb_to_y(quantize(pred)), rgb_to_y(quantize(target)), border)


def metric_functions(scale: int = 1) -> dict[str, Callable[[Tensor, Tensor], Tensor]]:
    """The per-image metrics of a task, by name.

    ``psnr``, ``ssim`` (RGB), plus ``psnr_y``, ``ssim_y`` (MATLAB luma, 8-bit, border =
    scale) for super-resolution (``scale`` > 1).
    """
    functions: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"psnr": psnr, "ssim": ssim}
    if scale > 1:
        functions["psnr_y"] = partial(psnr_y, border=scale)
        functions["ssim_y"] = partial(ssim_y, border=scale)
    return functions


def quality_metrics(prefix: str, scale: int = 1) -> MetricCollection:
    """Stateful per-image means of :func:`metric_functions`, named ``<prefix><metric>``."""
    return MetricCollection(
        {name: PerImageMean(function) for name, function in metric_functions(scale).items()},
        prefix=prefix,
    )
