"""Classical methods as restoration nets, scored by the same test loop as the trained models."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from skimage.restoration import richardson_lucy, wiener
from torch import Tensor, nn

from benchmarks.degraded_sets import DegradedSet
from benchmarks.scoring import Scores, evaluate, quiet
from benchmarks.tasks import Task
from oneshot_lightning.functional import bicubic_upscale
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule

#: A whole-image function: (B, C, h, w) in [0, 1] -> (B, C, s h, s w).
Restore = Callable[[Tensor], Tensor]


#: Output tile side of a baseline: larger than any image, so it sees each image whole.
WHOLE_IMAGE_TILE = 1 << 20


class Baseline(nn.Module):
    """A whole-image function offered as a :class:`~oneshot_lightning.models.nets.RestorationNet`.

    It reads one channel by default (``channels`` = 1: the module folds the channels of an
    RGB image into the batch, as the per-channel scikit-image restorations work; 3 for a
    colour method such as CBM3D) and no context (``context`` = 1), so
    ``RestorationModule.restore`` hands ``function`` each image whole when the module's
    ``tile_size`` exceeds the image.

    Args:
        function: (B, C, h, w) -> (B, C, scale h, scale w).
        scale: output pixels per input pixel along each axis.
        channels: the channels C ``function`` takes.
    """

    patch_size = 1
    context = 1
    stride = 1

    def __init__(self, function: Restore, scale: int = 1, channels: int = 1) -> None:
        super().__init__()
        self.function, self.scale, self.channels = function, scale, channels

    def forward(self, patches: Tensor) -> Tensor:
        """Not used: a baseline restores whole images only."""
        raise NotImplementedError("a baseline is not trained on patches")

    def forward_valid(self, image: Tensor) -> Tensor:
        """(B, C, h, w) -> (B, C, scale h, scale w): ``function`` on the whole images."""
        return self.function(image)


def score_baselines(
    baselines: dict[str, Restore], sets: dict[str, DegradedSet], task: Task
) -> dict[str, Scores]:
    """{method: {set: scores}} of whole-image functions, through the test loop."""
    rows: dict[str, Scores] = {}
    for method, function in baselines.items():
        model = baseline_model(function, task)
        rows[method] = {s: evaluate(model, test_set, task) for s, test_set in sets.items()}
    return rows


def baseline_model(function: Restore, task: Task, channels: int = 1) -> RestorationModule:
    """``function`` wrapped for the test loop: a module whose net is a :class:`Baseline`."""
    net = Baseline(function, task.scale, channels)
    with quiet():
        return RestorationModule(net, tile_size=WHOLE_IMAGE_TILE, metric_border=task.metric_border)


def identity(image: Tensor) -> Tensor:
    """The degraded input itself, the baseline of no restoration."""
    return image


def per_plane(restore: Callable[[np.ndarray], np.ndarray], image: Tensor) -> Tensor:
    """``restore`` on each float64 (H, W) plane of (B, C, H, W); float32, clipped to [0, 1]."""
    planes = [restore(plane.double().numpy()) for picture in image for plane in picture]
    stacked = torch.from_numpy(np.stack(planes)).float().clamp(0, 1)
    return stacked.reshape(*image.shape[:2], *stacked.shape[-2:])


def wiener_restore(image: Tensor, kernel: np.ndarray, balance: float) -> Tensor:
    """scikit-image Wiener deconvolution of each channel of (B, C, H, W); clipped to [0, 1]."""
    return per_plane(lambda plane: wiener(plane, kernel, balance), image)


def richardson_lucy_restore(image: Tensor, kernel: np.ndarray, iterations: int) -> Tensor:
    """scikit-image Richardson-Lucy deconvolution of each channel of (B, C, H, W)."""
    return per_plane(lambda plane: richardson_lucy(plane, kernel, iterations), image)


def bicubic(image: Tensor, scale: int) -> Tensor:
    """MATLAB-style bicubic upscaling of (B, C, h, w) by ``scale``, clipped to [0, 1]."""
    return bicubic_upscale(image, scale).clamp(0, 1)


def best_setting(
    restore: Callable[[Tensor, float], Tensor],
    grid: list[float],
    degraded: Tensor,
    clean: Tensor,
    border: int,
) -> float:
    """The value in ``grid`` for which ``restore(degraded, value)`` has the best PSNR.

    ``degraded`` and ``clean`` are one (C, H, W) training pair; PSNR of the unrounded output,
    ``border`` shaved.
    """
    scores = [psnr(restore(degraded[None], v), clean[None], border).item() for v in grid]
    return grid[int(np.argmax(scores))]


def tuned_wiener(
    kernel: np.ndarray, degraded: Tensor, clean: Tensor, border: int
) -> tuple[float, Restore]:
    """Wiener with the balance that scores best on the training pair: (balance, restore)."""
    balance = best_setting(
        lambda x, b: wiener_restore(x, kernel, b),
        np.logspace(-4, 0, 17).tolist(),
        degraded,
        clean,
        border,
    )
    return balance, partial(wiener_restore, kernel=kernel, balance=balance)


def tuned_richardson_lucy(
    kernel: np.ndarray, degraded: Tensor, clean: Tensor, border: int
) -> tuple[int, Restore]:
    """Richardson-Lucy with the iterations that score best on the pair: (iterations, restore)."""
    iterations = int(
        best_setting(
            lambda x, n: richardson_lucy_restore(x, kernel, int(n)),
            [5, 10, 20, 40, 80],
            degraded,
            clean,
            border,
        )
    )
    return iterations, partial(richardson_lucy_restore, kernel=kernel, iterations=iterations)
