"""Seeded noise."""

from __future__ import annotations

import torch
from torch import Tensor


def add_gaussian_noise(
    image: Tensor, sigma: float, generator: torch.Generator | None = None
) -> Tensor:
    """Add white Gaussian noise of standard deviation ``sigma`` (same units as the image)."""
    noise = torch.randn(image.shape, generator=generator, dtype=image.dtype, device=image.device)
    return image + sigma * noise


def add_poisson_noise(
    image: Tensor, peak: float, generator: torch.Generator | None = None
) -> Tensor:
    """Photon (shot) noise: ``Poisson(peak * image) / peak`` for an image in [0, 1].

    ``peak`` is the photon count that reaches a pixel of value 1, so the noise's standard
    deviation at value v is ``sqrt(v / peak)``: signal-dependent, as in a camera sensor.
    """
    photons = torch.poisson(image.clamp_min(0) * peak, generator=generator)
    return photons / peak


def noise_generator(seed: int, index: int = 0) -> torch.Generator:
    """The generator for image ``index`` of a set degraded with ``seed``: one draw each."""
    return torch.Generator().manual_seed(seed + 7919 * index)
