"""How well a downscaling kernel explains a low-resolution photo's power spectrum.

Natural images have power spectra close to a power law, ``A |w|^-beta``. A photo shrunk by a
kernel k (``functional.downscaling``) has, at each low-resolution frequency w, the sum over
the s x s aliases of ``|K(w')|^2 A |w'|^-beta`` (w' = (w + 2 pi m) / s, high-resolution
frequencies), plus the 8-bit rounding's white noise. A kernel that keeps the frequencies
above the new Nyquist limit (no antialiasing, nearest neighbour) folds them back and lifts
the photo's highest frequencies; an antialiasing one lowers them. The misfit of a kernel is
the mean squared log-ratio between the photo's measured spectrum and the best power law
through that model; it tells sharp kernels from smooth ones where the photo's patches do not
(``functional.downscaling_estimation``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Side of the tiles whose periodograms are averaged, in low-resolution pixels (half that
#: for photos smaller than it).
TILE = 64
#: Frequencies below this fraction of Nyquist are left out (the window's leakage, the
#: photo's large-scale layout).
LOWEST = 0.15
#: Exponents ``beta`` of the power law that are tried.
EXPONENTS = torch.arange(1.0, 4.01, 0.1, dtype=torch.float64)
#: Power of 8-bit rounding noise on [0, 1] values: 1 / (12 * 255^2).
ROUNDING_POWER = 1 / (12 * 255**2)


def power_spectrum(image: Tensor, tile: int = TILE) -> Tensor:
    """(H, W) -> (tile, tile) the mean Hann-windowed periodogram of half-overlapping tiles.

    Normalised by the window's energy, so that white noise of variance v has power v.
    """
    step = tile // 2
    height = (image.shape[-2] - tile) // step * step + tile
    width = (image.shape[-1] - tile) // step * step + tile
    tiles = image[:height, :width].double().unfold(0, tile, step).unfold(1, tile, step)
    tiles = tiles.reshape(-1, tile, tile)
    tiles = tiles - tiles.mean((-2, -1), keepdim=True)
    window = torch.hann_window(tile, periodic=False, dtype=torch.float64)
    window = torch.outer(window, window)
    return torch.fft.fft2(tiles * window).abs().pow(2).mean(0) / window.pow(2).sum()


def alias_frequencies(scale: int, tile: int = TILE) -> tuple[Tensor, Tensor, Tensor]:
    """The high-resolution frequencies that fold onto each kept low-resolution one.

    Returns ``(u, v, keep)``: ``u`` and ``v`` (s^2, F) in radians per high-resolution pixel,
    wrapped to [-pi, pi); ``keep`` (tile, tile) marks the F low-resolution frequencies used.
    """
    freqs = torch.fft.fftfreq(tile, dtype=torch.float64) * 2 * math.pi
    rows, cols = torch.meshgrid(freqs, freqs, indexing="ij")
    keep = rows.hypot(cols) > LOWEST * math.pi
    shifts = torch.arange(scale, dtype=torch.float64) * 2 * math.pi
    u = ((rows[keep][None] + shifts[:, None]) / scale).repeat_interleave(scale, 0)
    v = ((cols[keep][None] + shifts[:, None]) / scale).repeat(scale, 1)

    def wrap(w: Tensor) -> Tensor:
        return (w + math.pi) % (2 * math.pi) - math.pi

    return wrap(u), wrap(v), keep


def kernel_response(kernel: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """|K(u, v)|^2 of a (K, K) kernel at frequencies ``u``, ``v`` (any matching shapes)."""
    taps = torch.arange(kernel.shape[-1], dtype=torch.float64)
    along_u = torch.exp(-1j * u[..., None] * torch.arange(kernel.shape[-2], dtype=torch.float64))
    along_v = torch.exp(-1j * v[..., None] * taps)
    weights = kernel.double().to(torch.complex128)
    return torch.einsum("...i,ij,...j->...", along_u, weights, along_v).abs().pow(2)


def spectrum_misfits(photo: Tensor, kernels: list[Tensor], scale: int) -> list[float]:
    """How badly each (K, K) kernel explains the (H, W) grey ``photo``'s spectrum; lower fits.

    ``photo`` holds values in [0, 1], at least ``TILE // 2`` pixels on each side.
    """
    tile = TILE if min(photo.shape[-2:]) >= TILE else TILE // 2
    u, v, keep = alias_frequencies(scale, tile)
    measured = power_spectrum(photo, tile)[keep].clamp_min(1e-30).log()
    log_radius = (u.square() + v.square()).clamp_min(1e-6).log()
    laws = torch.exp(-EXPONENTS[:, None, None] / 2 * log_radius)  # (E, s^2, F)
    misfits = []
    for kernel in kernels:
        model = (laws * kernel_response(kernel, u, v)).sum(1).clamp_min(1e-30)  # (E, F)
        # The amplitude A that matches the mean log power; the rounding noise then added.
        amplitude = (measured - model.log()).mean(1, keepdim=True).exp()
        predicted = (amplitude * model + ROUNDING_POWER).log()
        misfits.append(float((measured - predicted).square().mean(1).min()))
    return misfits
