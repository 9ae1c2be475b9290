"""Alignment of a real degraded/clean pair: a similarity transform and a per-channel exposure.

A real pair is two shots. The degraded one sees the scene moved (a sub-pixel to several-pixel
translation, a rotation of up to a few degrees, a scale of up to a few percent) and exposed
differently (a gain and an offset per channel, clipped at 0 and 1). The model is

    degraded_c(x) = gain_c * D(B * clean_c)(T(x)) + offset_c

with T a similarity transform, B the blur and D the bicubic downscale by the scale s (none
for s = 1). :func:`estimate_alignment` fits it, :func:`align_pair` undoes it: the CLEAN image
is warped into the degraded frame (the degraded image's noise is never resampled) and the
exposure is corrected on the DEGRADED side, so that what is left is the degradation alone.

Coordinates are degraded pixels, x to the right and y down, pixel centres at integers;
clean pixel X sits at (X + 0.5) / s - 0.5, the convention of ``bicubic_downscale``. Rotation
and scale turn about the centre of the degraded image.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.resize import bicubic_downscale

#: Least correlation (:attr:`Alignment.correlation`) of a pair that shows one scene. Measured
#: on 96-256 px crops of the two sample photos: 27 same-scene pairs under heavy blur (disk of
#: radius 4 or Gaussian of 3 px) and noise 0.05, moved by up to 7 px, 2 degrees and 2%, with
#: gains 0.5-2: 0.94-1.00 (5% below 0.96); 95 pairs of different scenes (grey and RGB, sharp
#: or blurred and noisy): median 0.04, 95% below 0.24, largest 0.67, and every one of them
#: at a limit of the search (:data:`MAX_ROTATION`, :data:`MAX_SCALE_CHANGE`), which
#: :func:`check_alignment` refuses too.
SAME_SCENE_CORRELATION = 0.5
#: Least share of the degraded image that the aligned pair must keep.
LEAST_OVERLAP = 0.5
#: The option that turns alignment off, named in every refusal.
ALIGN_OFF = "--data.align false"
#: Limits of the search, well beyond what a second shot of one scene does (about 2 degrees
#: and 2%): a fit that ends on one is matching two different images.
MAX_ROTATION = 5.0  # degrees
MAX_SCALE_CHANGE = 0.05
#: Largest motion anywhere in the frame (:meth:`Alignment.motion`), in degraded pixels, that
#: counts as none. On aligned pairs of 96-256 px crops (Gaussian blur 1.6 + noise 0.01, disk
#: of radius 3 + noise 0.02, disk 4 + noise 0.05, JPEG quality 70, x2 and x4 bicubic, shake
#: kernels given): up to 0.046 px (means 0.004-0.027), but up to 0.1 px at x4 on 48-64 px
#: degraded images, where a 0.06 degree turn is within the noise.
MOTION_TOLERANCE = 0.1
#: Largest change of any value in [0, 1] by the exposure (:meth:`Alignment.exposure_change`)
#: that counts as none: 2.5 grey levels. The same aligned pairs measure up to 0.0032.
EXPOSURE_TOLERANCE = 0.01

# Pixels at or beyond these values may be clipped; they and their neighbours are not fitted,
# nor smoothed pixels of which more than _CLIPPED_SHARE comes from them.
_DARKEST = 1 / 255
_BRIGHTEST = 254 / 255
_CLIPPED_SHARE = 0.02
# Smoothing of both sides, in pixels of the coarse pyramid levels and of the finest level:
# without a kernel it must swamp an unknown blur; with one, the reference holds the blur.
_LEVEL_SIGMA = 1.5
_FINE_SIGMA = 2.0
_FINE_SIGMA_WITH_KERNEL = 1.0
_SMALLEST_LEVEL = 48  # pixels on the short side of the coarsest pyramid level
_FIT_PIXELS = 250_000  # about the most pixels of a level the fit reads
_MAX_BLUR = 16.0  # largest extra blur variance fitted, in pixels squared (sigma 4)
_BLUR_STEP = 0.02  # change of the extra blur's variance worth smoothing again for
_HUBER = 2.0  # robust deviations at which a residual starts losing weight
# A weak pull of each exposure towards none, worth _PRIOR_PIXELS pixels of a typical spread
# of values, settles a channel clipped nearly everywhere and is lost in the data elsewhere.
_PRIOR_PIXELS = 16.0
_PRIOR_SPREAD = 0.15
_LEAST_GAIN = 0.05  # a lower gain would be (near) a photographic negative
# Smoothing of the correlation, and the local mean it removes: little of the one and much of
# the other, so that two different scenes decorrelate quickly (see SAME_SCENE_CORRELATION).
_SCENE_SIGMA = 1.0
_SCENE_BACKGROUND = 8.0
_LUMA = (0.299, 0.587, 0.114)


class Alignment(NamedTuple):
    """How the degraded image of a pair differs from its clean one, beyond the degradation.

    Attributes:
        shift: (x, y) in degraded pixels: where the clean image's content sits in the degraded
            frame (its centre moves by this much).
        rotation: degrees, counter-clockwise as displayed, about the frame's centre.
        scale: isotropic magnification of the content in the degraded image, 1 = none.
        gain: per channel: degraded = gain * clean + offset.
        offset: per channel, on the [0, 1] scale.
        correlation: normalised cross-correlation, in [-1, 1], of the degraded image with the
            aligned, re-exposed reference, both smoothed, where the degraded one is not
            clipped: how well the model explains the pair (see
            :data:`SAME_SCENE_CORRELATION`).
        size: (height, width) of the degraded image, the frame of all the above.
    """

    shift: tuple[float, float]
    rotation: float
    scale: float
    gain: tuple[float, ...]
    offset: tuple[float, ...]
    correlation: float
    size: tuple[int, int]

    def motion(self) -> float:
        """The largest displacement the similarity makes in the frame (at a corner), pixels."""
        matrix = _similarity(self)
        height, width = self.size
        corners = torch.tensor(
            [
                [0.0, 0.0, 1.0],
                [width - 1, 0.0, 1.0],
                [0.0, height - 1, 1.0],
                [width - 1, height - 1, 1.0],
            ],
            dtype=torch.float64,
        )
        return float((corners @ matrix.T - corners)[:, :2].norm(dim=1).max())

    def exposure_change(self) -> float:
        """The largest change the exposure makes to a value in [0, 1], over the channels."""
        # gain * v + offset - v is linear in v: largest at v = 0 or v = 1.
        return max(max(abs(o), abs(g + o - 1)) for g, o in zip(self.gain, self.offset))

    def is_identity(self, geometry: bool = True, exposure: bool = True) -> bool:
        """Whether there is nothing to undo: the differences are within the module tolerances.

        Args:
            geometry: check that :meth:`motion` is within :data:`MOTION_TOLERANCE`.
            exposure: check that :meth:`exposure_change` is within :data:`EXPOSURE_TOLERANCE`.
        """
        still = not geometry or self.motion() <= MOTION_TOLERANCE
        return still and (not exposure or self.exposure_change() <= EXPOSURE_TOLERANCE)


def kernel_centroid(kernel: Tensor) -> tuple[float, float]:
    """(x, y) of a (kh, kw) kernel's centre of mass from its centre, in its pixels.

    Convolution moves an image's content by this much (right and down for positive values),
    which an alignment without the kernel reads as a shift (divided by the scale s).

    >>> kernel_centroid(torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    (1.0, 1.0)
    """
    rows, cols = kernel.shape
    weights = kernel.double()
    total = weights.sum()
    y = torch.arange(rows, dtype=torch.float64) - (rows - 1) / 2
    x = torch.arange(cols, dtype=torch.float64) - (cols - 1) / 2
    return float((weights.sum(0) * x).sum() / total), float((weights.sum(1) * y).sum() / total)


def _similarity(alignment: Alignment) -> Tensor:
    """(3, 3) float64 map from reference to degraded coordinates (absolute, degraded pixels).

    Content at reference position p shows at ``M @ p``: scaled and turned counter-clockwise
    (as displayed, rows growing downwards) about the frame's centre, then shifted.
    """
    angle = math.radians(alignment.rotation)
    cos, sin = alignment.scale * math.cos(angle), alignment.scale * math.sin(angle)
    cx, cy = (alignment.size[1] - 1) / 2, (alignment.size[0] - 1) / 2
    # y grows downwards, so turning counter-clockwise on screen maps (1, 0) to (cos, -sin).
    return torch.tensor(
        [
            [cos, sin, cx + alignment.shift[0] - cos * cx - sin * cy],
            [-sin, cos, cy + alignment.shift[1] + sin * cx - cos * cy],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )


def _geometry(matrix: Tensor, size: tuple[int, int]) -> tuple[tuple[float, float], float, float]:
    """(shift, rotation in degrees, scale) of a similarity that :func:`_similarity` makes."""
    cos, sin = float(matrix[0, 0]), float(matrix[0, 1])
    cx, cy = (size[1] - 1) / 2, (size[0] - 1) / 2
    centre = matrix @ torch.tensor([cx, cy, 1.0], dtype=torch.float64)
    shift = (float(centre[0]) - cx, float(centre[1]) - cy)
    return shift, math.degrees(math.atan2(sin, cos)), math.hypot(cos, sin)


def _sample(image: Tensor, x: Tensor, y: Tensor, mode: str = "bicubic") -> Tensor:
    """(C, H, W) image at positions (x, y) in its pixels, each (h, w): (C, h, w).

    Bicubic (or ``mode``) interpolation; outside the image, the border pixels repeat.
    """
    height, width = image.shape[-2:]
    grid = torch.stack([(2 * x + 1) / width - 1, (2 * y + 1) / height - 1], -1)
    return F.grid_sample(
        image[None],
        grid[None].to(image.device, image.dtype),
        mode=mode,
        padding_mode="border",
        align_corners=False,
    )[0]


def _require_frame(image: Tensor, alignment: Alignment, scale: int, name: str) -> None:
    """:class:`InputError` unless (C, H, W) ``image`` is ``scale`` times the alignment's frame."""
    height, width = alignment.size
    if image.shape[-2:] != (scale * height, scale * width):
        raise InputError(
            f"the {name} image is {image.shape[-1]}x{image.shape[-2]}, but the alignment was "
            f"measured for {scale * width}x{scale * height}"
        )


def warp_clean(clean: Tensor, alignment: Alignment, scale: int = 1) -> Tensor:
    """The clean image resampled into the degraded frame: (C, s h, s w) -> (C, s h, s w).

    Bicubic (``grid_sample``, a = -0.75), the border repeated outside the image (see
    :func:`overlap_box` for where the result is fully defined), clamped to [0, 1]. The
    resampling softens sharp detail: moving the sample photos by half a pixel each way keeps
    75-84% of their gradient energy (36-39 dB PSNR from an exact Fourier shift; a quarter
    pixel keeps 85-91%), while detail already blurred by a Gaussian of 1.6 px comes through
    at 52-56 dB. (Lanczos-3 would keep 82-89% at about ten times the cost.)

    Args:
        clean: (C, s h, s w) in [0, 1].
        alignment: from :func:`estimate_alignment` on the pair.
        scale: super-resolution factor s (clean pixels per degraded pixel).
    """
    _require_frame(clean, alignment, scale, "clean")
    return _resample(clean, alignment, scale, (0, 0, *alignment.size))


def _resample(
    clean: Tensor, alignment: Alignment, scale: int, box: tuple[int, int, int, int]
) -> Tensor:
    """:func:`warp_clean` within ``box`` = (top, left, rows, cols) of the degraded frame."""
    top, left, rows, cols = box
    inverse = torch.linalg.inv(_similarity(alignment))
    # Clean pixel X sits at (X + 0.5) / s - 0.5 in the degraded frame.
    ys = (torch.arange(scale * top, scale * (top + rows), dtype=torch.float64) + 0.5) / scale
    xs = (torch.arange(scale * left, scale * (left + cols), dtype=torch.float64) + 0.5) / scale
    y, x = torch.meshgrid(ys - 0.5, xs - 0.5, indexing="ij")
    source_x = inverse[0, 0] * x + inverse[0, 1] * y + inverse[0, 2]
    source_y = inverse[1, 0] * x + inverse[1, 1] * y + inverse[1, 2]
    warped = _sample(clean, scale * (source_x + 0.5) - 0.5, scale * (source_y + 0.5) - 0.5)
    return warped.clamp(0, 1)


def correct_exposure(degraded: Tensor, alignment: Alignment) -> Tensor:
    """(degraded - offset) / gain per channel, clamped to [0, 1]: (C, h, w) -> (C, h, w)."""
    gain = torch.tensor(alignment.gain, dtype=degraded.dtype, device=degraded.device)
    offset = torch.tensor(alignment.offset, dtype=degraded.dtype, device=degraded.device)
    return ((degraded - offset[:, None, None]) / gain[:, None, None]).clamp(0, 1)


def overlap_box(alignment: Alignment, scale: int = 1, margin: int = 0) -> tuple[int, int, int, int]:
    """(top, left, rows, cols) of the degraded frame where the warped clean image is defined.

    The largest upright rectangle inside both the frame and the clean image's footprint in
    it (less the outermost clean pixels, whose bicubic taps would read past its border),
    shrunk by ``margin`` degraded pixels on each side; (0, 0, 0, 0) if nothing is left.
    """
    height, width = alignment.size
    low = 1.5 / scale - 0.5  # the outermost clean pixel centres with all taps inside
    corners = torch.tensor(
        [
            [low, low, 1.0],
            [width - 1 - low, low, 1.0],
            [low, height - 1 - low, 1.0],
            [width - 1 - low, height - 1 - low, 1.0],
        ],
        dtype=torch.float64,
    )
    moved = corners @ _similarity(alignment).T  # top-left, top-right, bottom-left, bottom-right
    # Below a 45 degree turn, the inner corner of each side bounds the inner rectangle.
    left = max(float(moved[0, 0]), float(moved[2, 0]), 0.0) + margin
    right = min(float(moved[1, 0]), float(moved[3, 0]), width - 1.0) - margin
    top = max(float(moved[0, 1]), float(moved[1, 1]), 0.0) + margin
    bottom = min(float(moved[2, 1]), float(moved[3, 1]), height - 1.0) - margin
    first_col, last_col = math.ceil(left - 1e-6), math.floor(right + 1e-6)
    first_row, last_row = math.ceil(top - 1e-6), math.floor(bottom + 1e-6)
    if last_col < first_col or last_row < first_row:
        return 0, 0, 0, 0
    return first_row, first_col, last_row - first_row + 1, last_col - first_col + 1


def align_pair(
    degraded: Tensor, clean: Tensor, alignment: Alignment, scale: int = 1, margin: int = 0
) -> tuple[Tensor, Tensor]:
    """Undo ``alignment``: the degraded image re-exposed, the clean one warped, both cropped.

    Each part that :meth:`Alignment.is_identity` finds at the identity is left alone, so an
    already aligned, equally exposed pair comes back as it is, bit for bit.

    Args:
        degraded: (C, h, w) in [0, 1].
        clean: (C, s h, s w) in [0, 1].
        alignment: from :func:`estimate_alignment` on the pair.
        scale: super-resolution factor s.
        margin: degraded pixels dropped inside the overlap on each side (see
            :func:`overlap_box`).

    Returns:
        (C, rows, cols) degraded and (C, s rows, s cols) clean images of the overlap.
    """
    _require_frame(degraded, alignment, 1, "degraded")
    _require_frame(clean, alignment, scale, "clean")
    if not alignment.is_identity(geometry=False):
        degraded = correct_exposure(degraded, alignment)
    if alignment.is_identity(exposure=False):
        return degraded, clean
    top, left, rows, cols = box = overlap_box(alignment, scale, margin)
    return degraded[:, top : top + rows, left : left + cols], _resample(
        clean, alignment, scale, box
    )


def check_alignment(alignment: Alignment, scale: int = 1) -> None:
    """Raise :class:`InputError` (one line) unless ``alignment`` makes a usable pair.

    The pair must show one scene: a correlation of at least :data:`SAME_SCENE_CORRELATION`
    and a fit that stayed inside the limits of the search (:data:`MAX_ROTATION`,
    :data:`MAX_SCALE_CHANGE`); and the aligned pair must keep at least :data:`LEAST_OVERLAP`
    of the degraded image. The message names :data:`ALIGN_OFF`, which trains on the pair as
    it is.
    """
    advice = f"check data.input and data.target, or pass {ALIGN_OFF} to train on the pair as it is"
    if alignment.correlation < SAME_SCENE_CORRELATION:
        raise InputError(
            f"the pair's two images do not show the same scene (correlation "
            f"{alignment.correlation:.2f} after alignment, below {SAME_SCENE_CORRELATION}): "
            + advice
        )
    turn, change = abs(alignment.rotation), abs(alignment.scale - 1)
    if turn >= MAX_ROTATION - 1e-6 or change >= MAX_SCALE_CHANGE - 1e-6:
        raise InputError(
            f"the pair's two images do not show the same scene from nearly one viewpoint (the "
            f"best alignment turns by {alignment.rotation:.1f} deg and scales by "
            f"{alignment.scale:.3f}, the limits of the search): " + advice
        )
    _, _, rows, cols = overlap_box(alignment, scale)
    share = rows * cols / (alignment.size[0] * alignment.size[1])
    if share < LEAST_OVERLAP:
        raise InputError(
            f"the pair's two images overlap on only {share:.0%} of the degraded image after "
            f"alignment (shift {alignment.shift[0]:.1f}, {alignment.shift[1]:.1f} px, rotation "
            f"{alignment.rotation:.2f} deg, scale {alignment.scale:.3f}), less than "
            f"{LEAST_OVERLAP:.0%}: " + advice
        )


# ----- estimation ---------------------------------------------------------------------------


def _smooth(image: Tensor, sigma: float) -> Tensor:
    """(C, H, W) convolved with a Gaussian of ``sigma`` pixels, borders reflected."""
    radius = min(math.ceil(3 * sigma), image.shape[-1] - 1, image.shape[-2] - 1)
    if sigma <= 0 or radius < 1:
        return image
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = (kernel / kernel.sum()).to(image.dtype)
    padded = F.pad(image[None], (radius, radius, radius, radius), mode="reflect")[0]
    # Rows, then columns through a transposed copy: unfold-and-multiply along the contiguous
    # axis is twice as fast as conv2d with a one-channel kernel.
    rows = (padded.unfold(-1, kernel.numel(), 1) @ kernel).transpose(-1, -2).contiguous()
    return (rows.unfold(-1, kernel.numel(), 1) @ kernel).transpose(-1, -2).contiguous()


def _local_mean(image: Tensor, mask: Tensor, sigma: float) -> Tensor:
    """Gaussian-weighted mean of (C, H, W) ``image`` over ``mask`` (C, H, W), for large sigma.

    Computed on a block-averaged copy and upsampled bilinearly: it only needs to follow
    shapes much larger than a pixel.
    """
    factor = max(1, min(int(sigma / 2), min(image.shape[-2:]) // 8))
    pooled = torch.stack([image * mask, mask])
    if factor > 1:
        pooled = F.avg_pool2d(pooled, factor, ceil_mode=True)
    pooled = torch.stack([_smooth(plane, sigma / factor) for plane in pooled])
    if factor > 1:
        pooled = F.interpolate(pooled, scale_factor=factor, mode="bilinear", align_corners=False)
        pooled = pooled[..., : image.shape[-2], : image.shape[-1]]
    return pooled[0] / pooled[1].clamp_min(1e-6)


def _convolve_fft(image: Tensor, kernel: Tensor) -> Tensor:
    """(C, H, W) convolved with a (kh, kw) kernel through the FFT, borders reflected."""
    kh, kw = kernel.shape
    ph, pw = kh // 2, kw // 2
    padded = F.pad(image[None], (pw, pw, ph, ph), mode="reflect")[0]
    shape = padded.shape[-2:]
    spectrum = torch.fft.rfft2(padded) * torch.fft.rfft2(kernel.to(image.dtype), s=shape)
    full = torch.fft.irfft2(spectrum, s=shape)
    # The product is a circular convolution: its output (i, j) is centred on padded pixel
    # (i - kh // 2, j - kw // 2), so the image sits 2 * (kh // 2) rows in.
    return full[..., 2 * ph : 2 * ph + image.shape[-2], 2 * pw : 2 * pw + image.shape[-1]]


def _luma(image: Tensor) -> Tensor:
    """(C, H, W) -> (H, W): Rec. 601 luma of RGB, the mean otherwise."""
    if image.shape[0] == 3:
        return (image * torch.tensor(_LUMA, dtype=image.dtype)[:, None, None]).sum(0)
    return image.mean(0)


def _vertex(before: float, peak: float, after: float) -> float:
    """Offset of the top of the parabola through three samples from the middle one."""
    curvature = before - 2 * peak + after
    return 0.0 if curvature >= 0 else 0.5 * (before - after) / curvature


def _phase_correlation(degraded: Tensor, reference: Tensor, reach: float) -> tuple[float, float]:
    """(x, y) shift of ``degraded`` (H, W) from ``reference`` (H, W), within ``reach`` pixels.

    Both are mean-removed and Hann-windowed; the peak of the whitened cross-power spectrum
    is refined to a fraction of a pixel by a parabola along each axis.
    """
    height, width = degraded.shape
    window = torch.outer(
        torch.hann_window(height, periodic=False, dtype=degraded.dtype),
        torch.hann_window(width, periodic=False, dtype=degraded.dtype),
    )
    cross = (
        torch.fft.rfft2((degraded - degraded.mean()) * window)
        * torch.fft.rfft2((reference - reference.mean()) * window).conj()
    )
    magnitude = cross.abs()
    whitened = cross / (magnitude + 1e-9 * float(magnitude.max()))
    surface = torch.fft.fftshift(torch.fft.irfft2(whitened, s=(height, width)))
    cy, cx = height // 2, width // 2
    rows = (torch.arange(height) - cy).abs()[:, None]
    cols = (torch.arange(width) - cx).abs()[None, :]
    surface = torch.where(rows.maximum(cols) <= reach, surface, surface.min())
    row, col = divmod(int(surface.argmax()), width)
    peak = float(surface[row, col])
    dx = _vertex(float(surface[row, col - 1]), peak, float(surface[row, (col + 1) % width]))
    dy = _vertex(float(surface[row - 1, col]), peak, float(surface[(row + 1) % height, col]))
    return col - cx + dx, row - cy + dy


class _Level(NamedTuple):
    """One level of the pyramid: block-averaged images and the pixels the fit reads."""

    degraded: Tensor  # (C, h, w) the crop of the degraded image
    clipped: Tensor  # (C, h, w) share of each pixel that is clipped or beside a clipped one
    reference: Tensor  # (C, H, W) a margin wider than the crop
    factor: int  # full pixels per level pixel
    sigma: float  # smoothing of both sides, in level pixels
    stride: int  # the fit reads every stride-th pixel each way
    x: Tensor  # (n, m) float64: frame x of each pixel read
    y: Tensor  # (n, m) float64: its y
    ref_origin: tuple[int, int]  # (top, left) of the reference in the frame, full pixels


def _pool(image: Tensor, factor: int) -> Tensor:
    """(C, H, W) -> (C, H // f, W // f) block means."""
    return image if factor == 1 else F.avg_pool2d(image[None], factor)[0]


def _level(
    crop: tuple[Tensor, Tensor, tuple[int, int]],
    reference: tuple[Tensor, tuple[int, int]],
    factor: int,
    sigma: float,
) -> _Level:
    """One pyramid level: the images block-averaged by ``factor``, smoothed by ``sigma``.

    ``crop`` = (degraded, clipped, (top, left)) and ``reference`` = (image, (top, left)),
    origins in the frame; the fit reads about :data:`_FIT_PIXELS` of the level's pixels.
    """
    degraded, clipped, origin = crop
    pooled = _pool(degraded, factor)
    height, width = pooled.shape[-2:]
    stride = max(1, round(math.sqrt(height * width / _FIT_PIXELS)))
    offset = (factor - 1) / 2
    rows = origin[0] + offset + factor * torch.arange(0, height, stride, dtype=torch.float64)
    cols = origin[1] + offset + factor * torch.arange(0, width, stride, dtype=torch.float64)
    y, x = torch.meshgrid(rows, cols, indexing="ij")
    return _Level(
        pooled,
        _pool(clipped.to(pooled.dtype), factor),
        _pool(reference[0], factor),
        factor,
        sigma,
        stride,
        x,
        y,
        reference[1],
    )


class _Smoothed(NamedTuple):
    """A level's two images smoothed, for one extra blur."""

    blur: float  # variance (full pixels squared) of the extra blur of the degraded image
    sigma: float  # smoothing of the degraded image, level pixels
    degraded: Tensor  # (C, n, m) at the pixels the fit reads
    valid: Tensor  # (C, n, m) bool: unclipped, away from the borders
    stack: Tensor  # (4C, H, W): reference, its x and y derivatives, half its Laplacian
    margin: float  # level pixels at the reference's border that smoothing spoiled


def _smoothed(level: _Level, blur: float, last: _Smoothed | None = None) -> _Smoothed:
    """Smooth both images of ``level`` by its sigma, the sharper one by ``blur`` more.

    ``blur`` is the variance, in full pixels squared, of the Gaussian that the degraded
    image has beyond the reference (the reference's side when negative). A smoothed pixel
    is valid while at most :data:`_CLIPPED_SHARE` of it comes from clipped pixels.
    Derivatives are per full pixel. The degraded side of ``last`` is reused if it fits.
    """
    wide = math.sqrt(level.sigma**2 + abs(blur) / level.factor**2)
    sigma_d, sigma_r = (level.sigma, wide) if blur >= 0 else (wide, level.sigma)
    if last is not None and last.sigma == sigma_d:
        degraded, valid = last.degraded, last.valid
    else:
        degraded, valid = _smooth_degraded(level, sigma_d)
    reference = _smooth(level.reference, sigma_r)
    gx, gy, laplacian = (torch.zeros_like(reference) for _ in range(3))
    gx[..., 1:-1] = (reference[..., 2:] - reference[..., :-2]) / (2 * level.factor)
    gy[..., 1:-1, :] = (reference[..., 2:, :] - reference[..., :-2, :]) / (2 * level.factor)
    laplacian[..., 1:-1, 1:-1] = (
        reference[..., 2:, 1:-1]
        + reference[..., :-2, 1:-1]
        + reference[..., 1:-1, 2:]
        + reference[..., 1:-1, :-2]
        - 4 * reference[..., 1:-1, 1:-1]
    ) / (2 * level.factor**2)
    stack = torch.cat([reference, gx, gy, laplacian])
    return _Smoothed(blur, sigma_d, degraded, valid, stack, math.ceil(3 * sigma_r) + 2.0)


def _smooth_degraded(level: _Level, sigma: float) -> tuple[Tensor, Tensor]:
    """(C, n, m) the level's degraded image smoothed at the pixels the fit reads, and valid."""
    step = level.stride
    degraded = _smooth(level.degraded, sigma)[:, ::step, ::step]
    if bool(level.clipped.any()):
        valid = _smooth(level.clipped, sigma)[:, ::step, ::step] <= _CLIPPED_SHARE
    else:
        valid = torch.ones_like(degraded, dtype=torch.bool)
    border = math.ceil(3 * sigma) + 1
    rows = torch.arange(0, level.degraded.shape[-2], step)
    cols = torch.arange(0, level.degraded.shape[-1], step)
    valid &= ((rows >= border) & (rows < level.degraded.shape[-2] - border))[:, None]
    valid &= ((cols >= border) & (cols < level.degraded.shape[-1] - border))[None, :]
    return degraded, valid


def _warp(level: _Level, smoothed: _Smoothed, matrix: Tensor) -> tuple[Tensor, Tensor]:
    """The smoothed reference stack seen through ``matrix`` at the pixels the fit reads.

    Returns (4C, n, m): the reference, its x and y derivatives and half its Laplacian, all
    with respect to the degraded frame, and (n, m) bool: where the reference is valid.
    """
    inverse = torch.linalg.inv(matrix)
    offset = (level.factor - 1) / 2
    u = inverse[0, 0] * level.x + inverse[0, 1] * level.y + inverse[0, 2] - level.ref_origin[1]
    v = inverse[1, 0] * level.x + inverse[1, 1] * level.y + inverse[1, 2] - level.ref_origin[0]
    u, v = (u - offset) / level.factor, (v - offset) / level.factor
    height, width = smoothed.stack.shape[-2:]
    margin = smoothed.margin
    inside = (u >= margin) & (u <= width - 1 - margin) & (v >= margin) & (v <= height - 1 - margin)
    channels = smoothed.stack.shape[0] // 4
    reference = _sample(smoothed.stack[:channels], u, v)
    # The derivatives only steer the steps; bilinear is good enough and four times cheaper.
    gx, gy, laplacian = _sample(smoothed.stack[channels:], u, v, "bilinear").chunk(3)
    # Chain rule through x -> inverse @ x: the derivatives turn and scale with the map.
    a, b, c, d = (float(inverse[i, j]) for i, j in ((0, 0), (0, 1), (1, 0), (1, 1)))
    turned_x, turned_y = a * gx + c * gy, b * gx + d * gy
    return torch.cat([reference, turned_x, turned_y, abs(a * d - b * c) * laplacian]), inside


def _compose(matrix: Tensor, step: Tensor, centre: tuple[float, float], radius: float) -> Tensor:
    """``matrix`` followed by the small similarity ``step`` = (tx, ty, turn, stretch).

    ``turn`` and ``stretch`` are the motions they cause at ``radius`` pixels from ``centre``.
    """
    tx, ty, turn, stretch = (float(v) for v in step)
    angle, factor = turn / radius, 1 + stretch / radius
    cos, sin = factor * math.cos(angle), factor * math.sin(angle)
    cx, cy = centre
    delta = torch.tensor(
        [
            [cos, sin, cx + tx - cos * cx - sin * cy],
            [-sin, cos, cy + ty + sin * cx - cos * cy],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    return delta @ matrix


def _bounded(matrix: Tensor, size: tuple[int, int], max_shift: float) -> Tensor:
    """``matrix`` with its shift, rotation and scale clamped to what a second shot can do."""
    (x, y), rotation, scale = _geometry(matrix, size)
    clamped = Alignment(
        (max(-max_shift, min(max_shift, x)), max(-max_shift, min(max_shift, y))),
        max(-MAX_ROTATION, min(MAX_ROTATION, rotation)),
        max(1 - MAX_SCALE_CHANGE, min(1 + MAX_SCALE_CHANGE, scale)),
        (),
        (),
        0.0,
        size,
    )
    return _similarity(clamped)


def _fit_exposure(degraded: Tensor, reference: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """(C,) float64 weighted least-squares gain and offset of ``degraded`` on ``reference``.

    A channel without weight keeps gain 1 and offset 0.
    """
    total = weights.sum((1, 2))
    safe = total.clamp_min(1e-12)
    mean_d = (weights * degraded).sum((1, 2)) / safe
    mean_r = (weights * reference).sum((1, 2)) / safe
    dr, rr = degraded - mean_d[:, None, None], reference - mean_r[:, None, None]
    gain = (weights * dr * rr).sum((1, 2)) / (weights * rr * rr).sum((1, 2)).clamp_min(1e-12)
    gain = torch.where(total > 0, gain.clamp_min(_LEAST_GAIN), torch.ones_like(gain))
    offset = torch.where(total > 0, mean_d - gain * mean_r, torch.zeros_like(gain))
    return gain.double(), offset.double()


def _spread(residual: Tensor, mask: Tensor, most: int = 20_000) -> Tensor:
    """(C,) robust standard deviation (1.4826 median absolute value) of the masked residual."""
    spreads = []
    for values, keep in zip(residual, mask):
        picked = values[keep].abs()
        picked = picked[:: max(1, picked.numel() // most)]
        spreads.append(1.4826 * picked.median() if picked.numel() else values.new_tensor(1.0))
    return torch.stack(spreads).clamp_min(1e-6)


class _Fit(NamedTuple):
    """The state of the fit."""

    matrix: Tensor  # (3, 3) reference -> degraded frame
    blur: float  # variance of the degraded image's extra blur, full pixels squared
    gain: Tensor  # (C,) float64
    offset: Tensor  # (C,) float64


def _normal_equations(
    basis: Tensor, residual: Tensor, weights: Tensor, gain: Tensor
) -> tuple[Tensor, Tensor]:
    """Weighted normal equations of all parameters from the per-channel ``basis``.

    ``basis`` (C, N, 7) holds, per channel: the derivatives of the model along the motions
    tx, ty, turn, stretch over the gain (whose sign the motion flips), the blur's over the
    gain, the reference, and 1.
    """
    channels = basis.shape[0]
    size = 5 + 2 * channels
    weighted = basis * weights[..., None]
    blocks = (weighted.transpose(1, 2) @ basis).double()  # (C, 7, 7)
    sides = (weighted.transpose(1, 2) @ residual[..., None]).double()[..., 0]  # (C, 7)
    normal = torch.zeros(size, size, dtype=torch.float64)
    rhs = torch.zeros(size, dtype=torch.float64)
    for c in range(channels):
        columns = torch.tensor([0, 1, 2, 3, 4, 5 + c, 5 + channels + c])
        factors = torch.cat([-gain[c].expand(4), gain[c].view(1), gain.new_ones(2)])
        normal[columns[:, None], columns[None, :]] += factors[:, None] * blocks[c] * factors
        rhs[columns] += factors * sides[c]
    return normal, rhs


def _gauss_newton(
    level: _Level,
    fit: _Fit,
    frame: tuple[tuple[float, float], float, tuple[int, int]],
    max_shift: float,
    iterations: int = 12,
) -> _Fit:
    """Refine ``fit`` on one level by Gauss-Newton with Huber weights (IRLS).

    The model ``gain * smooth(reference)(T^-1 x) + offset`` is fitted to ``smooth(degraded)``.
    A step of the similarity moves the model by minus its gradient dotted with the step's
    displacement field; an extra blur of variance v changes it by v / 2 times its Laplacian
    (the heat equation). ``frame`` = (centre, radius, size): the turn and stretch are
    measured as motions at ``radius`` pixels from the centre, which keeps the normal
    equations well scaled.
    """
    centre, radius, size = frame
    channels = level.degraded.shape[0]
    dx = ((level.x - centre[0]) / radius).to(level.degraded.dtype)
    dy = ((level.y - centre[1]) / radius).to(level.degraded.dtype)
    matrix, blur, gain, offset = fit
    smoothed = _smoothed(level, blur)
    exposed = False
    for _ in range(iterations):
        if abs(smoothed.blur - blur) > _BLUR_STEP:
            smoothed = _smoothed(level, blur, smoothed)
        samples, inside = _warp(level, smoothed, matrix)
        warped, gx, gy, laplacian = samples.chunk(4)
        mask = smoothed.valid & inside
        if not exposed:
            # The exposure is linear: start each level from its least-squares value.
            gain, offset = _fit_exposure(smoothed.degraded, warped, mask.to(warped.dtype))
            exposed = True
        model = (
            gain.to(warped.dtype)[:, None, None] * warped + offset.to(warped.dtype)[:, None, None]
        )
        residual = smoothed.degraded - model
        # Huber weights: what the model cannot explain (occlusion, a blur of another shape)
        # must not pull the fit.
        limit = _HUBER * _spread(residual, mask)[:, None, None]
        weights = mask.to(warped.dtype) / (residual.abs() / limit).clamp_min(1)
        basis = torch.stack(
            [
                gx,
                gy,
                gx * dy - gy * dx,
                gx * dx + gy * dy,
                laplacian,
                warped,
                torch.ones_like(warped),
            ],
            -1,
        )
        normal, rhs = _normal_equations(
            basis.flatten(1, 2), residual.flatten(1), weights.flatten(1), gain
        )
        # The weak pull of the exposures towards none (see _PRIOR_PIXELS).
        prior = torch.cat(
            [
                torch.zeros(5, dtype=torch.float64),
                torch.full((channels,), _PRIOR_PIXELS * _PRIOR_SPREAD**2, dtype=torch.float64),
                torch.full((channels,), _PRIOR_PIXELS, dtype=torch.float64),
            ]
        )
        rhs -= prior * torch.cat([torch.zeros(5, dtype=torch.float64), gain - 1, offset])
        normal += torch.diag(prior + 1e-9 * float(normal.diagonal().mean()) + 1e-12)
        step = torch.linalg.solve(normal, rhs)
        if not bool(torch.isfinite(step).all()):
            break
        matrix = _bounded(_compose(matrix, step[:4], centre, radius), size, max_shift)
        blur = max(-_MAX_BLUR, min(_MAX_BLUR, blur + float(step[4])))
        # A negative gain would be a photographic negative, not an exposure.
        gain = (gain + step[5 : 5 + channels]).clamp_min(_LEAST_GAIN)
        offset = offset + step[5 + channels :]
        if float(step[:4].abs().max()) < 1e-3 * level.factor and abs(float(step[4])) < _BLUR_STEP:
            break
    return _Fit(matrix, blur, gain, offset)


def _correlation(level: _Level, fit: _Fit) -> float:
    """Normalised cross-correlation of a level's degraded image with the fitted model.

    Both lose their local mean (a Gaussian of :data:`_SCENE_BACKGROUND` pixels, over the
    valid pixels only) first: large smooth shapes match in any two photos, texture does not.
    """
    smoothed = _smoothed(level, fit.blur)
    samples, inside = _warp(level, smoothed, fit.matrix)
    warped = samples.chunk(4)[0]
    mask = (smoothed.valid & inside).to(warped.dtype)
    model = fit.gain.to(warped.dtype)[:, None, None] * warped
    background = _SCENE_BACKGROUND / (level.factor * level.stride)
    model = model - _local_mean(model, mask, background)
    degraded = smoothed.degraded - _local_mean(smoothed.degraded, mask, background)
    covariance = variance_d = variance_m = 0.0
    for d, m, keep in zip(degraded.double(), model.double(), mask > 0):
        if int(keep.sum()) < 2:
            continue
        d, m = d[keep] - d[keep].mean(), m[keep] - m[keep].mean()
        covariance += float((d * m).sum())
        variance_d += float((d * d).sum())
        variance_m += float((m * m).sum())
    if variance_d <= 0 or variance_m <= 0:
        return 0.0
    return covariance / math.sqrt(variance_d * variance_m)


def _reference(
    clean: Tensor, scale: int, kernel: Tensor | None, box: tuple[int, int, int, int]
) -> Tensor:
    """``D(kernel * clean)`` over ``box`` = (top, left, rows, cols) of the degraded frame.

    The convolution reads the clean image past the box where it can, so that only the
    image's own borders are reflected.
    """
    top, left, rows, cols = box
    reach = 0 if kernel is None else max(kernel.shape) // 2
    big_height, big_width = clean.shape[-2:]
    first_row, first_col = max(0, scale * top - reach), max(0, scale * left - reach)
    last_row = min(big_height, scale * (top + rows) + reach)
    last_col = min(big_width, scale * (left + cols) + reach)
    sharp = clean[:, first_row:last_row, first_col:last_col].float()
    if kernel is not None:
        sharp = _convolve_fft(sharp, kernel.detach().cpu().float())
    sharp = sharp[
        :,
        scale * top - first_row : scale * (top + rows) - first_row,
        scale * left - first_col : scale * (left + cols) - first_col,
    ]
    return bicubic_downscale(sharp[None], scale)[0] if scale > 1 else sharp


def estimate_alignment(
    degraded: Tensor,
    clean: Tensor,
    scale: int = 1,
    kernel: Tensor | None = None,
    max_shift: float = 32.0,
    max_pixels: int = 1_000_000,
) -> Alignment:
    """Estimate the similarity transform and exposure between the two images of a pair.

    Coarse to fine: the translation by phase correlation of the smoothed lumas, then all four
    geometric parameters, a gain and offset per channel and an extra Gaussian blur by robust
    Gauss-Newton on a pyramid, comparing the degraded image with the reference
    ``D(kernel * clean)`` (``D`` the bicubic downscale) seen through the transform, both
    smoothed by one Gaussian (2 pixels at the finest level, 1 with ``kernel``). The extra
    blur absorbs most of an unknown blur's effect on the gain; an off-centre blur still reads
    as a shift (see :func:`kernel_centroid`) unless ``kernel`` holds it. Clipped pixels (and
    their neighbours) and borders are ignored.

    Args:
        degraded: (C, h, w) in [0, 1].
        clean: (C, s h, s w) in [0, 1].
        scale: super-resolution factor s.
        kernel: (k, k) blur of the pair at the clean image's resolution, if known.
        max_shift: largest translation looked for, in degraded pixels (at most a quarter of
            the crop).
        max_pixels: the fit uses the centre crop of the degraded image of about this many
            pixels.

    Returns:
        The :class:`Alignment`; :func:`check_alignment` tells whether it is usable.
    """
    channels, height, width = degraded.shape
    if clean.shape != (channels, scale * height, scale * width):
        raise InputError(
            f"alignment needs a clean image {scale} times the degraded one with as many "
            f"channels, got {tuple(clean.shape)} for {tuple(degraded.shape)}"
        )
    if min(height, width) < 32:
        raise InputError(f"image {width}x{height} is too small to align (32x32 at least)")
    shrink = min(1.0, math.sqrt(max_pixels / (height * width)))
    rows, cols = (
        min(height, max(32, int(height * shrink))),
        min(width, max(32, int(width * shrink))),
    )
    top, left = (height - rows) // 2, (width - cols) // 2
    # Beyond a quarter of the crop, the overlap left is too small to tell two scenes apart.
    max_shift = min(max_shift, min(rows, cols) / 4)
    # The reference reaches past the crop by the largest motion looked for, and some.
    turn = MAX_SCALE_CHANGE + math.radians(MAX_ROTATION)
    reach = math.ceil(max_shift + turn * math.hypot(rows, cols) / 2) + 16
    ref_top, ref_left = max(0, top - reach), max(0, left - reach)
    ref_rows, ref_cols = (
        min(height, top + rows + reach) - ref_top,
        min(width, left + cols + reach) - ref_left,
    )
    reference = _reference(
        clean.detach().cpu(), scale, kernel, (ref_top, ref_left, ref_rows, ref_cols)
    )
    target = degraded.detach().cpu()[:, top : top + rows, left : left + cols].float()
    clipped = (target <= _DARKEST) | (target >= _BRIGHTEST)
    # Noise is clipped beside clipped pixels too, which biases their mean.
    clipped = F.max_pool2d(clipped.float()[None], 5, 1, 2)[0] > 0
    crop = (target, clipped, (top, left))
    wide = (reference, (ref_top, ref_left))

    same = reference[
        :, top - ref_top : top - ref_top + rows, left - ref_left : left - ref_left + cols
    ]
    shift = _phase_correlation(
        _smooth(_luma(target)[None], _FINE_SIGMA)[0].double(),
        _smooth(_luma(same)[None], _FINE_SIGMA)[0].double(),
        max_shift,
    )
    start = Alignment(shift, 0.0, 1.0, (1.0,) * channels, (0.0,) * channels, 0.0, (height, width))
    fit = _Fit(
        _similarity(start),
        0.0,
        torch.ones(channels, dtype=torch.float64),
        torch.zeros(channels, dtype=torch.float64),
    )
    frame = (((width - 1) / 2, (height - 1) / 2), math.hypot(rows, cols) / 2, (height, width))
    fine = _FINE_SIGMA if kernel is None else _FINE_SIGMA_WITH_KERNEL
    factors = [f for f in (8, 4, 2) if min(rows, cols) // f >= _SMALLEST_LEVEL]
    for factor, sigma in [*((f, _LEVEL_SIGMA) for f in factors), (1, fine)]:
        fit = _gauss_newton(_level(crop, wide, factor, sigma), fit, frame, max_shift)
    shift, rotation, magnification = _geometry(fit.matrix, (height, width))
    return Alignment(
        shift,
        rotation,
        magnification,
        tuple(float(g) for g in fit.gain),
        tuple(float(o) for o in fit.offset),
        _correlation(_level(crop, wide, 1, _SCENE_SIGMA), fit),
        (height, width),
    )
