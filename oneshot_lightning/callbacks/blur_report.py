"""The pair's blur kernel and noise level, saved in the run folder and told in one line.

A user with one degraded/clean pair gets its point spread function on its own: as
``kernel.npy`` (float64, summing to 1) and ``kernel.png`` (a picture, brightest = largest
weight), with the noise's standard deviation in the line and in the logger's hyperparameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from PIL import Image

from oneshot_lightning.functional import Downscaling
from oneshot_lightning.functional.kernel_estimation import KernelEstimate
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.say import say

#: Screen pixels per kernel pixel in ``kernel.png``: a 15x15 kernel is a 120x120 picture.
PICTURE_ZOOM = 8


def kernel_picture(kernel: torch.Tensor, zoom: int = PICTURE_ZOOM) -> Image.Image:
    """An 8-bit grey picture of a (k, k) kernel: peak white, each weight ``zoom`` pixels wide."""
    weights = kernel.detach().double().cpu().numpy()
    peak = weights.max()
    scaled = np.zeros_like(weights) if peak <= 0 else weights / peak
    pixels = np.round(scaled.clip(0, 1) * 255).astype(np.uint8)
    return Image.fromarray(np.kron(pixels, np.ones((zoom, zoom), dtype=np.uint8)))


def save_blur(estimate: KernelEstimate | torch.Tensor, folder: Path) -> tuple[Path, Path]:
    """Write ``kernel.npy`` and ``kernel.png`` of a blur or kernel into ``folder``; their paths."""
    kernel = estimate.kernel if isinstance(estimate, KernelEstimate) else estimate
    folder.mkdir(parents=True, exist_ok=True)
    array, picture = folder / "kernel.npy", folder / "kernel.png"
    np.save(array, kernel.detach().double().cpu().numpy())
    kernel_picture(kernel).save(picture)
    return array, picture


class BlurReport(Callback):
    """Save the training pair's blur kernel and noise level when ``fit`` starts.

    The training pair's blur (``TrainingPair.blur``): estimated from a given pair, or the
    kernel of ``data.degradation`` when that made the pair. For super-resolution, the
    downscaling kernel when it is not MATLAB's bicubic (``TrainingPair.downscaling``).

    Args:
        save: write ``kernel.npy`` and ``kernel.png`` into the run folder.
    """

    def __init__(self, save: bool = True) -> None:
        self.save = save

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Save the kernel (rank zero), log the noise level, print one line."""
        pair = pl_module.training_pair if isinstance(pl_module, RestorationModule) else None
        if self.save and pair is not None and pair.downscaling is not None:
            self.report_downscaling(trainer, pair.downscaling, pair.downscaling_source)
        if not self.save or pair is None or pair.blur is None:
            return
        estimate, how = pair.blur, pair.blur_source
        if estimate.kernel.numel() == 1 and not estimate.noise_sigma and not estimate.poisson_peak:
            return  # a pair that differs by nothing (zero-shot denoising): nothing to say
        height, width = estimate.kernel.shape
        sigma = estimate.noise_sigma
        where = ""
        if trainer.is_global_zero:
            array, picture = save_blur(estimate, Path(trainer.default_root_dir))
            where = f" (saved as {array} and {picture.name})"
        for logger in trainer.loggers:  # e.g. the CSV logger's hparams.yaml
            logger.log_hyperparams({"blur_kernel_size": height, "blur_noise_sigma": sigma})
        kernel = "no blur (kernel 1x1)" if height == 1 else f"blur kernel {height}x{width}"
        shot = ""
        if estimate.poisson_peak is not None:
            shot = (
                f", of which shot noise of {estimate.poisson_peak:.3g} photons at white "
                f"and read noise {estimate.read_sigma:.4f}"
            )
        say(
            f"oneshot: {kernel} {how}{where}; noise sigma {sigma:.4f} ({255 * sigma:.2f}/255){shot}"
        )

    def report_downscaling(self, trainer: Trainer, found: Downscaling, source: str) -> None:
        """Save a super-resolution pair's downscaling kernel (one step; rank zero); one line."""
        where = ""
        if trainer.is_global_zero:
            array, picture = save_blur(found.kernel, Path(trainer.default_root_dir))
            where = f" (saved as {array} and {picture.name})"
        height, width = found.kernel.shape
        say(f"oneshot: downscaling kernel {height}x{width} {source}: {found.description}{where}")
