"""The benchmark tasks: a degradation, its scale, the configs that undo it, its metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from oneshot_lightning.data.degradations import (
    Blur,
    DefocusBlur,
    Degradation,
    GaussianBlur,
    KernelBlur,
)

#: The camera chain of the deblurring benchmark: optics, sensor, file.
CAMERA_RADIUS, CAMERA_PHOTONS, CAMERA_READ_NOISE, CAMERA_JPEG_QUALITY = 3.5, 2500.0, 0.005, 90


@dataclass
class Task:
    """A degradation, its scale, the configs that learn to undo it, and how it is measured.

    Attributes:
        degradation: makes the degraded input from a clean image.
        scale: the super-resolution factor (1 for deblurring).
        configs: names of the files of ``configs/`` that the quality benchmark trains.
        description: one line for the report's heading.
        metrics: names of the test loop's metrics the tables report.
        metric_border: pixels the test loop shaves before every metric.
    """

    degradation: Degradation
    scale: int
    configs: list[str]
    description: str
    metrics: tuple[str, ...] = ("psnr", "ssim")
    metric_border: int = 0

    @property
    def kernel(self) -> np.ndarray:
        """The blur kernel as a float64 array (deblurring tasks only)."""
        blur = self.degradation.blur
        assert isinstance(blur, Blur), "a task without a blur has no kernel"
        return blur.kernel.double().numpy()


def blur_task(blur: nn.Module, description: str, border: int, noise: float = 0.01) -> Task:
    """A deblurring task: ``blur`` + noise, 8-bit; RGB PSNR/SSIM with ``border`` shaved."""
    return Task(Degradation(blur, noise_sigma=noise), 1, [], description, metric_border=border)


def sr_task(scale: int, configs: list[str]) -> Task:
    """Bicubic (MATLAB) downscaling by ``scale``, 8-bit; PSNR/SSIM on luma, border = scale."""
    description = f"bicubic x{scale} (MATLAB imresize), 8-bit; Y, border {scale}"
    return Task(Degradation(), scale, configs, description, ("psnr_y", "ssim_y"))


def tasks(border: int, data: Path) -> dict[str, Task]:
    """The benchmark tasks by name; ``deblur_motion`` only if ``data`` has Levin's kernels.

    ``border`` is the deblurring tasks' metric border.
    """
    deblur = blur_task(
        GaussianBlur(sigma=1.6, size=15),
        f"Gaussian blur sigma 1.6 (15x15, reflect) + noise 0.01, 8-bit; RGB, border {border}",
        border,
    )
    deblur.configs = ["rnn"]
    found = {"deblur": deblur}
    motion_kernel = data / "kernels" / "levin09" / "levin09_k1.npy"
    if motion_kernel.is_file():
        found["deblur_motion"] = blur_task(
            KernelBlur(str(motion_kernel)),
            f"Levin et al. motion kernel 1 (19x19, reflect) + noise 0.01, 8-bit; RGB, "
            f"border {border}",
            border,
        )
        found["deblur_motion"].configs = ["rnn"]
    for index in range(1, 9):
        kernel = data / "kernels" / "levin09" / f"levin09_k{index}.npy"
        if kernel.is_file():
            blur = KernelBlur(str(kernel))
            side = blur.kernel.shape[-1]
            found[f"levin{index}"] = blur_task(
                blur,
                f"Levin et al. kernel {index} ({side}x{side}, reflect) + noise 0.01, 8-bit; "
                f"RGB, border {border}",
                border,
            )
    found["camera"] = Task(
        Degradation(
            DefocusBlur(CAMERA_RADIUS),
            noise_sigma=CAMERA_READ_NOISE,
            poisson_peak=CAMERA_PHOTONS,
            jpeg_quality=CAMERA_JPEG_QUALITY,
        ),
        1,
        [],
        f"camera chain: defocus disk radius {CAMERA_RADIUS} px, shot noise "
        f"({CAMERA_PHOTONS:.0f} photons at white) + read noise {CAMERA_READ_NOISE}, JPEG "
        f"quality {CAMERA_JPEG_QUALITY}; RGB, border {border}",
        metric_border=border,
    )
    for s in (2, 3, 4):
        found[f"sr_x{s}"] = sr_task(s, [f"sr_x{s}"] + (["sr_x2_bicubic_input"] if s == 2 else []))
    return found
