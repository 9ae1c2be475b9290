"""The robustness benchmark's camera chains: blur, noise, JPEG, a Bayer sensor, a second shot.

A chain turns a clean sRGB photo, (1, 3, H, W) in [0, 1], into what a camera would have saved.
Some are made of the package's own degradations; others are built here on purpose, so that the
package cannot synthesise them (a Bayer mosaic demosaiced and tone-mapped, JPEG at another
quality). Each chain also says what a training-free baseline may be told: the true blur
kernel. A chain may do more to the training pair's degraded shot than to the test photos
(``pair_only``): a second shot of the scene, shifted, turned and exposed differently.

The misaligned shot is made with its own resampling (``torch.nn.functional.grid_sample`` over
explicitly computed coordinates), not the package's alignment code, so that the benchmark does
not check the alignment against itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.data.degradations import Blur, Degradation, jpeg_roundtrip, load_kernel
from oneshot_lightning.functional import (
    add_gaussian_noise,
    add_poisson_noise,
    convolve,
    disk_kernel,
    gaussian_kernel,
    motion_kernel,
    quantize,
)

#: (1, C, H, W) clean, a seeded generator -> (1, C, H, W) degraded, 8-bit or JPEG.
Degrade = Callable[[Tensor, torch.Generator], Tensor]


@dataclass(frozen=True)
class Chain:
    """A camera chain of the zoo.

    Attributes:
        name: short name for tables.
        description: one line for the report.
        degrade: what the camera does to every photo.
        kernel: the true blur kernel (1 x 1 for none), as far as one kernel describes it.
        pair_only: what happens to the training pair's degraded shot besides (e.g. a second
            shot's misalignment and exposure); the photos to restore do not get it.
    """

    name: str
    description: str
    degrade: Degrade
    kernel: Tensor
    pair_only: Degrade | None = None

    def degrade_pair_input(self, clean: Tensor, generator: torch.Generator) -> Tensor:
        """The training pair's degraded shot of ``clean``."""
        if self.pair_only is None:
            return self.degrade(clean, generator)
        return self.pair_only(clean, generator)


def package_chain(degradation: Degradation) -> Degrade:
    """A chain made of the package's own degradation (blur, shot/read noise, 8-bit or JPEG)."""

    def degrade(clean: Tensor, generator: torch.Generator) -> Tensor:
        return degradation(clean, generator)

    return degrade


# A Bayer sensor, demosaiced and tone-mapped ------------------------------------------------


def srgb_to_linear(image: Tensor) -> Tensor:
    """The sRGB transfer curve undone: (B, C, H, W) in [0, 1] -> linear light."""
    return torch.where(image <= 0.04045, image / 12.92, ((image + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(image: Tensor) -> Tensor:
    """The sRGB transfer curve (the camera's tone curve): linear light -> sRGB, in [0, 1]."""
    image = image.clamp(0, 1)
    return torch.where(image <= 0.0031308, 12.92 * image, 1.055 * image ** (1 / 2.4) - 0.055)


def bayer_mask(height: int, width: int) -> Tensor:
    """(1, 3, H, W) RGGB colour filter array: which channel each photosite records."""
    mask = torch.zeros(1, 3, height, width)
    mask[:, 0, 0::2, 0::2] = 1
    mask[:, 1, 0::2, 1::2] = 1
    mask[:, 1, 1::2, 0::2] = 1
    mask[:, 2, 1::2, 1::2] = 1
    return mask


def bilinear_demosaic(mosaic: Tensor, mask: Tensor) -> Tensor:
    """Each channel's missing photosites filled by its recorded neighbours' weighted mean."""
    weights = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    kernel = weights[None, None].expand(3, 1, 3, 3)
    sums = F.conv2d(F.pad(mosaic * mask, (1, 1, 1, 1), mode="reflect"), kernel, groups=3)
    counts = F.conv2d(F.pad(mask, (1, 1, 1, 1), mode="reflect"), kernel, groups=3)
    return sums / counts


def bayer_chain(blur_sigma: float, photons: float, read_noise: float, quality: int) -> Degrade:
    """A Bayer camera: blur in linear light, RGGB mosaic, shot + read noise, demosaic, JPEG.

    The mosaic is demosaiced bilinearly and the sRGB tone curve applied before the JPEG.
    """
    kernel = gaussian_kernel(9, blur_sigma)

    def degrade(clean: Tensor, generator: torch.Generator) -> Tensor:
        light = convolve(srgb_to_linear(clean), kernel)
        mask = bayer_mask(*clean.shape[-2:])
        recorded = add_poisson_noise(light * mask, photons, generator)
        recorded = add_gaussian_noise(recorded, read_noise, generator) * mask
        return jpeg_roundtrip(linear_to_srgb(bilinear_demosaic(recorded, mask)), quality)

    return degrade


# A second shot: moved and exposed otherwise -------------------------------------------------


def similarity_warp(image: Tensor, shift: tuple[float, float], angle: float) -> Tensor:
    """(1, C, H, W) as a camera moved by ``shift`` (x, y) px and turned ``angle`` deg sees it.

    The turn is about the image centre; bicubic resampling, borders repeated.
    """
    height, width = image.shape[-2:]
    rows, cols = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    theta = math.radians(angle)
    # Output pixel p shows the scene point R^-1 (p - c - shift) + c.
    dx, dy = cols - centre_x - shift[0], rows - centre_y - shift[1]
    source_x = math.cos(theta) * dx + math.sin(theta) * dy + centre_x
    source_y = -math.sin(theta) * dx + math.cos(theta) * dy + centre_y
    grid = torch.stack([2 * source_x / (width - 1) - 1, 2 * source_y / (height - 1) - 1], -1)
    return F.grid_sample(
        image.double(), grid[None], mode="bicubic", padding_mode="border", align_corners=True
    ).to(image.dtype)


def second_shot(
    blur: Tensor,
    noise: float,
    shift: tuple[float, float],
    angle: float,
    gain: float,
    offset: float,
) -> Degrade:
    """The scene seen from a moved camera, blurred and noisy, its file exposed otherwise.

    ``gain`` and ``offset`` act on the file before 8 bits, so that the noise, once the exposure
    is undone, has the aligned shot's level.
    """

    def degrade(clean: Tensor, generator: torch.Generator) -> Tensor:
        moved = similarity_warp(clean, shift, angle)
        noisy = add_gaussian_noise(convolve(moved, blur), noise, generator)
        return quantize(gain * noisy + offset)

    return degrade


# The zoo -----------------------------------------------------------------------------------


def blur_noise(
    kernel: Tensor,
    noise: float = 0.0,
    poisson_peak: float | None = None,
    jpeg_quality: int | None = None,
) -> Degrade:
    """The package's chain: blur by ``kernel``, shot and read noise, 8 bits or JPEG."""
    blur = Blur(kernel)
    return package_chain(Degradation(blur, noise, poisson_peak, jpeg_quality))


def zoo(kernels: Path) -> dict[str, Chain]:
    """The chains by name; ``kernels`` is the folder of Levin et al.'s kernels (``levin09``)."""
    gauss16, gauss25, gauss12 = (
        gaussian_kernel(15, 1.6),
        gaussian_kernel(21, 2.5),
        gaussian_kernel(11, 1.2),
    )
    defocus15, defocus22, defocus35, defocus4 = (disk_kernel(r) for r in (1.5, 2.2, 3.5, 4.0))
    motion = motion_kernel(11.0, 30.0)
    shake = load_kernel(kernels / "levin09_k4.npy")
    none = torch.ones(1, 1)
    plain = [  # (name, kernel, description of the blur, noise)
        ("gauss1.6", gauss16, "Gaussian blur 1.6", 0.01),
        ("gauss2.5", gauss25, "Gaussian blur 2.5", 0.02),
        ("defocus1.5", defocus15, "defocus disk r 1.5", 0.01),
        ("defocus4", defocus4, "defocus disk r 4", 0.005),
        ("motion11", motion, "straight motion 11 px at 30 deg", 0.01),
        ("shake27", shake, "Levin et al.'s kernel 4 (27x27, off-centre)", 0.01),
        ("noise25", none, "no blur", 25 / 255),
    ]
    chains = [
        Chain(name, f"{blur} + noise {noise:.3g}, 8-bit", blur_noise(kernel, noise), kernel)
        for name, kernel, blur, noise in plain
    ]
    chains += [
        Chain(
            "defocus2.2-shot-jpeg80",
            "defocus r 2.2, shot noise (1000 photons at white) + read noise 0.005, JPEG 80",
            blur_noise(defocus22, 0.005, poisson_peak=1000.0, jpeg_quality=80),
            defocus22,
        ),
        Chain(
            "camera",
            "defocus r 3.5, shot noise (2500 photons) + read noise 0.005, JPEG 90",
            blur_noise(defocus35, 0.005, poisson_peak=2500.0, jpeg_quality=90),
            defocus35,
        ),
        Chain(
            "gauss1.2-jpeg60",
            "Gaussian blur 1.2 + noise 0.005, JPEG 60",
            blur_noise(gauss12, 0.005, jpeg_quality=60),
            gauss12,
        ),
        Chain(
            "gauss1.6-jpeg95",
            "Gaussian blur 1.6 + noise 0.01, JPEG 95",
            blur_noise(gauss16, 0.01, jpeg_quality=95),
            gauss16,
        ),
        Chain(
            "poisson-gauss",
            "shot noise (100 photons at white) + read noise 0.01, 8-bit",
            blur_noise(none, 0.01, poisson_peak=100.0),
            none,
        ),
        Chain(
            "bayer",
            "Gaussian 1.0 in linear light, RGGB mosaic, shot (400 photons) + read noise 0.004, "
            "bilinear demosaic, sRGB tone curve, JPEG 90",
            bayer_chain(1.0, 400.0, 0.004, 90),
            gaussian_kernel(9, 1.0),
        ),
        Chain(
            "second-shot",
            "Gaussian blur 1.6 + noise 0.01, 8-bit; the pair's degraded shot moved "
            "(+2.3, -1.6) px, turned 0.5 deg, exposed x0.6 + 0.03",
            blur_noise(gauss16, 0.01),
            gauss16,
            pair_only=second_shot(gauss16, 0.01, (2.3, -1.6), 0.5, 0.6, 0.03),
        ),
    ]
    return {chain.name: chain for chain in chains}
