"""Zero-shot denoising's clean side: the noisy photo denoised once by a training-free method.

With only a noisy photo, the package measures its noise level (``functional.blind_deviation``),
denoises it once with a :class:`FirstPass` (``data.first_pass``), and trains on that first
pass as the clean image, degraded afresh at every step with noise of the measured level, as
``configs/denoise.yaml`` trains on a clean image. Images are (C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from oneshot_lightning.data.degradations import Degradation
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.noise_level import blind_deviation


class FirstPass:
    """A denoiser that needs no training: ``first_pass(noisy, sigma)`` -> the denoised image."""

    def __call__(self, noisy: Tensor, sigma: float) -> Tensor:
        """(C, H, W) noisy image with white noise of deviation ``sigma`` -> (C, H, W)."""
        raise NotImplementedError


class BM3D(FirstPass):
    """BM3D for grey images, CBM3D for RGB (the ``bm3d`` package: ``pip install bm3d``).

    Other channel counts are denoised one channel at a time. About 25 s for a 500x500 RGB
    photo on 2 CPU cores.

    Args:
        profile: the ``bm3d`` package's parameter profile (``np``: its default).
    """

    def __init__(self, profile: str = "np") -> None:
        self.profile = profile

    def __call__(self, noisy: Tensor, sigma: float) -> Tensor:
        """(C, H, W) noisy image with white noise of deviation ``sigma`` -> (C, H, W)."""
        try:
            import bm3d
        except ImportError:
            raise InputError(
                "data.first_pass BM3D needs the bm3d package: pip install bm3d (or the "
                "package's [denoise] extra)"
            ) from None
        image = noisy.detach().double().cpu().numpy()
        if image.shape[0] == 3:
            planes = bm3d.bm3d_rgb(image.transpose(1, 2, 0), sigma, self.profile)
            denoised = np.asarray(planes).transpose(2, 0, 1)
        else:
            denoised = np.stack([bm3d.bm3d(plane, sigma, self.profile) for plane in image])
        return torch.from_numpy(np.ascontiguousarray(denoised)).to(noisy).clamp(0, 1)


def zero_shot_denoising(
    photo: Tensor, first_pass: FirstPass, degradation: Degradation | None
) -> tuple[Tensor, Degradation, str]:
    """The clean side of a noisy photo's training pair, the noise that degrades it, and how.

    The noise is ``degradation``'s when it has some (the user knows the level), else white
    Gaussian noise of the level measured on ``photo`` alone; the first pass is told the
    Gaussian level (measured, when the degradation has shot noise only). A photo that shows
    no noise is refused in one line.

    Returns:
        (C, H, W) the first pass of ``photo``; the degradation for fresh pairs; where the
        noise level comes from, as the run's report says it.
    """
    if degradation is not None and (degradation.noise_sigma or degradation.poisson_peak):
        noise, source = degradation, "in data.degradation"
        sigma = degradation.noise_sigma or blind_deviation(photo)
    else:
        sigma = blind_deviation(photo)
        noise, source = Degradation(noise_sigma=sigma), "estimated from the noisy photo alone"
    if sigma < 0.5 / 255:
        raise InputError(
            f"data.first_pass: the photo shows no noise to remove (sigma {255 * sigma:.2f}/255 "
            "measured); give its level as data.degradation's noise_sigma if you know it"
        )
    return first_pass(photo, sigma), noise, f"{source}, first pass {type(first_pass).__name__}"
