"""Fresh training pairs: clean crops degraded anew at every step.

One clean image and its degradation (the configured one, or the one estimated from the given
pair) make endless pairs with new noise, where the given pair holds one noise draw only. The
stream cuts clean crops ``margin`` input pixels wider than a patch on each side; on the
device, each crop is turned by a random flip/transpose (valid for any blur, since it happens
before the blur), degraded, and trimmed, so the blur's border rule never shows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from oneshot_lightning.data.degradations import Blur, Degradation
from oneshot_lightning.data.sampling import patch_positions
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import Box, extract_patches, noise_generator, transpose_where
from oneshot_lightning.functional.kernel_estimation import KernelEstimate

#: Noise index of the first noisy copy: far from the indices of the pair (0) and test images.
COPY_NOISE = 100_000


class FreshCrops:
    """Draws clean crops for :func:`synthesize` from the clean training images.

    Args:
        cleans: (C, s h, s w) clean images (the pair's and its shrunk copies).
        positions: per image, the flat corners allowed for windows of ``size + 2 margin``
            input pixels (away from the held-out blocks), or ``None`` for anywhere.
        margin: input pixels cut away at each side after degrading.
        scale: super-resolution factor s.
    """

    def __init__(
        self, cleans: list[Tensor], positions: list[Tensor | None], margin: int, scale: int = 1
    ) -> None:
        self.cleans, self.positions, self.margin, self.scale = cleans, positions, margin, scale

    def sample(self, count: int, size: int, generator: torch.Generator) -> Tensor:
        """Clean crops (count, C, s W, s W), W = size + 2 margin.

        Every image gives crops in proportion to its allowed windows.
        """
        window = size + 2 * self.margin
        s = self.scale
        areas = []
        for clean, allowed in zip(self.cleans, self.positions):
            rows, cols = clean.shape[-2] // s - window + 1, clean.shape[-1] // s - window + 1
            areas.append(rows * cols if allowed is None else len(allowed))
        chosen = torch.multinomial(
            torch.tensor(areas, dtype=torch.float), count, replacement=True, generator=generator
        )
        crops = []
        for index, n in enumerate(torch.bincount(chosen, minlength=len(areas)).tolist()):
            if n == 0:
                continue
            clean, allowed = self.cleans[index], self.positions[index]
            cols = clean.shape[-1] // s - window + 1
            if allowed is None:
                rows = clean.shape[-2] // s - window + 1
                corners = torch.randint(0, rows * cols, (n,), generator=generator)
            else:
                corners = allowed[torch.randint(0, len(allowed), (n,), generator=generator)]
            top, left = corners // cols, corners % cols
            crops.append(extract_patches(clean, s * top, s * left, s * window))
        return torch.cat(crops)


def random_dihedral(images: Tensor) -> Tensor:
    """Each of the (B, C, H, H) square ``images`` in one of its 8 flips/transposes, at random."""
    flips = torch.rand(images.shape[0], 3, device=images.device) < 0.5
    out = torch.where(flips[:, 0, None, None, None], images.flip(-1), images)
    out = torch.where(flips[:, 1, None, None, None], out.flip(-2), out)
    return transpose_where(flips[:, 2], out)


def synthesize(
    crops: Tensor, degradation: nn.Module, margin: int, scale: int = 1
) -> tuple[Tensor, Tensor]:
    """Degrade clean crops afresh: (B, C, s W, s W) -> (degraded, clean) trimmed patches.

    ``degradation(images, generator, scale)`` (e.g. a ``Degradation``) draws new noise from
    the global generator. Returns ((B, C, p, p), (B, C, s p, s p)) with p = W - 2 margin.
    """
    crops = random_dihedral(crops)
    degraded = degradation(crops, None, scale)
    m, n = margin, scale * margin
    clean = crops[..., n : crops.shape[-2] - n, n : crops.shape[-1] - n]
    return degraded[..., m : degraded.shape[-2] - m, m : degraded.shape[-1] - m], clean


def degradation_blur(degradation: Degradation) -> KernelEstimate:
    """The blur kernel ((1, 1) for none) and noise that ``degradation`` applies."""
    kernel = getattr(degradation.blur, "kernel", None)
    peak, sigma = degradation.poisson_peak, degradation.noise_sigma
    square = torch.ones(1, 1) if kernel is None else kernel
    return KernelEstimate(square, sigma, peak, None if peak is None else sigma)


def fresh_degradation(
    degradation: Degradation | None, estimate: KernelEstimate | None
) -> Degradation:
    """What makes fresh pairs.

    The ``degradation`` that made the pair, else a blur and noise as estimated from the
    given pair: shot + read noise when its noise grows with the signal, else Gaussian.
    """
    if degradation is not None:
        return degradation
    if estimate is None:
        raise InputError(
            "data.fresh_fraction needs a degradation to make fresh pairs: set "
            "data.degradation (super-resolution pairs are not estimated)"
        )
    if estimate.poisson_peak is not None and estimate.read_sigma is not None:
        return Degradation(
            Blur(estimate.kernel),
            noise_sigma=estimate.read_sigma,
            poisson_peak=estimate.poisson_peak,
        )
    return Degradation(Blur(estimate.kernel), noise_sigma=estimate.noise_sigma)


def fresh_crops(
    pairs: Sequence[tuple[Tensor, Tensor]],
    blocks: Sequence[Box],
    patch_size: int,
    synthesis: Degradation,
    scale: int = 1,
) -> FreshCrops:
    """Clean crops for fresh pairs from every pair large enough, away from the blocks.

    Each crop has a margin for ``synthesis`` to degrade it without border effects.
    """
    kernel = getattr(synthesis.blur, "kernel", torch.ones(1, 1))
    # The blur's reach, and bicubic downscaling's (2 input pixels), stay in the margin.
    margin = max(kernel.shape) // 2 + (2 if scale > 1 else 0)
    window = patch_size + 2 * margin
    large = [index for index, (d, _) in enumerate(pairs) if min(d.shape[-2:]) >= window]
    if not large or large[0] != 0:
        raise InputError(
            f"data.fresh_fraction: the training image is smaller than one {window}x{window} "
            "crop (a patch and the blur's reach)"
        )
    kept = [pairs[index] for index in large]
    positions = patch_positions(kept, blocks, window)
    return FreshCrops([clean for _, clean in kept], positions, margin, scale)


def noisy_copies(
    clean: Tensor, synthesis: Degradation, count: int, seed: int, scale: int = 1
) -> list[tuple[Tensor, Tensor]]:
    """``count`` pairs of the (C, s h, s w) clean image degraded anew, each with its own noise.

    Whole images, so that a first stage deconvolves them as it deconvolves the pair: the
    fresh pairs of a model with a first stage.
    """
    return [
        (synthesis(clean[None], noise_generator(seed, COPY_NOISE + index), scale)[0], clean)
        for index in range(count)
    ]
