"""Alignment of real pairs, checked on synthetic pairs with known motion and exposure.

The misaligned degraded images are made by a resampling path independent of the module's:
``grid_sample`` with ``align_corners=True`` on coordinates computed here from the forward
model (content at p shows at c + scale * R(rotation) (p - c) + shift, R counter-clockwise as
displayed), so that a sign or convention error in ``warp_clean`` cannot cancel out.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import oneshot_lightning
from oneshot_lightning.data.io import read_image
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.alignment import (
    ALIGN_OFF,
    Alignment,
    align_pair,
    check_alignment,
    estimate_alignment,
    kernel_centroid,
    overlap_box,
    warp_clean,
)
from oneshot_lightning.functional.kernels import convolve, disk_kernel, gaussian_kernel
from oneshot_lightning.functional.resize import bicubic_downscale

SAMPLES = Path(oneshot_lightning.__file__).parent / "data" / "sample"


@pytest.fixture(autouse=True)
def one_thread():
    # Small images: a second thread only adds overhead, and much of it on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    return read_image(SAMPLES / "astronaut.png")  # (3, 256, 256)


@pytest.fixture(scope="module")
def coffee() -> torch.Tensor:
    return read_image(SAMPLES / "coffee.png")  # (3, 192, 192)


def moved(image: torch.Tensor, shift=(0.0, 0.0), rotation=0.0, scale=1.0) -> torch.Tensor:
    """``image`` with its content moved as the forward model says, about its centre."""
    _, height, width = image.shape
    cx, cy = (width - 1) / 2, (height - 1) / 2
    y, x = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    # Invert p -> c + scale * R (p - c) + shift, R = [[cos, sin], [-sin, cos]] (y down).
    cos, sin = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
    u, v = x - cx - shift[0], y - cy - shift[1]
    source_x = cx + (cos * u - sin * v) / scale
    source_y = cy + (sin * u + cos * v) / scale
    grid = torch.stack([2 * source_x / (width - 1) - 1, 2 * source_y / (height - 1) - 1], -1)
    return F.grid_sample(
        image[None], grid[None].float(), mode="bicubic", padding_mode="border", align_corners=True
    )[0].clamp(0, 1)


def degrade(
    clean: torch.Tensor,
    kernel: torch.Tensor | None,
    noise: float,
    seed: int = 0,
    gain=None,
    offset=None,
    scale: int = 1,
) -> torch.Tensor:
    """Blur, downscale, expose, add noise, clip and save in 8 bits: (C, H, W) -> (C, h, w)."""
    image = clean[None] if kernel is None else convolve(clean[None], kernel)
    image = (bicubic_downscale(image, scale) if scale > 1 else image)[0]
    if gain is not None:
        image = image * torch.tensor(gain)[:, None, None] + torch.tensor(offset)[:, None, None]
    generator = torch.Generator().manual_seed(seed)
    image = image + noise * torch.randn(image.shape, generator=generator)
    return torch.round(image.clamp(0, 1) * 255) / 255


def shake() -> torch.Tensor:
    """A one-sided 15x15 camera-shake kernel whose mass sits (3.5, 0.9) px off its centre."""
    kernel = torch.zeros(15, 15)
    for step in range(8):
        kernel[7 + step // 3, 7 + step] = 1.0
    return kernel / kernel.sum()


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / (a - b).square().mean()))


@pytest.mark.parametrize(
    ("shift", "rotation", "scale", "gain", "offset"),
    [
        ((2.3, -1.6), 0.0, 1.0, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)),
        ((0.4, 0.7), 0.5, 1.0, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)),
        ((-12.5, 8.2), -1.5, 1.01, (0.6, 0.6, 0.6), (0.03, 0.03, 0.03)),
        ((1.0, -0.5), 2.0, 0.99, (0.5, 1.0, 1.8), (0.05, -0.03, 0.0)),
    ],
    ids=["shift", "subpixel-turn", "far-turn-zoom-dark", "per-channel-exposure"],
)
def test_a_known_motion_and_exposure_are_recovered(
    astronaut, shift, rotation, scale, gain, offset
) -> None:
    crop = (slice(None), slice(32, 224), slice(32, 224))  # the reference reaches past the crop
    degraded = degrade(
        moved(astronaut, shift, rotation, scale)[crop],
        gaussian_kernel(11, 1.6),
        0.01,
        0,
        gain,
        offset,
    )
    found = estimate_alignment(degraded, astronaut[crop])
    assert found.shift == pytest.approx(shift, abs=0.05)
    assert found.rotation == pytest.approx(rotation, abs=0.02)
    assert found.scale == pytest.approx(scale, abs=0.001)
    assert found.gain == pytest.approx(gain, rel=0.02)
    assert found.offset == pytest.approx(offset, abs=0.01)
    assert found.correlation > 0.95
    assert not found.is_identity()
    check_alignment(found)


def test_an_occluded_fifth_of_the_image_does_not_pull_the_fit(astronaut, coffee) -> None:
    crop = (slice(None), slice(32, 224), slice(32, 224))
    degraded = degrade(moved(astronaut, (2.3, -1.6), 1.0)[crop], gaussian_kernel(11, 1.6), 0.01)
    degraded[:, 20:106, 30:116] = coffee[:, :86, :86]  # something passed in front
    found = estimate_alignment(degraded, astronaut[crop])
    assert found.shift == pytest.approx((2.3, -1.6), abs=0.05)
    assert found.rotation == pytest.approx(1.0, abs=0.02)
    assert found.gain == pytest.approx((1.0, 1.0, 1.0), abs=0.02)


def test_a_motion_is_told_from_the_given_kernel_s_own_shift(astronaut) -> None:
    crop = (slice(None), slice(32, 224), slice(32, 224))
    degraded = degrade(moved(astronaut, (2.3, -1.6), 0.5)[crop], shake(), 0.01)
    found = estimate_alignment(degraded, astronaut[crop], kernel=shake())
    assert found.shift == pytest.approx((2.3, -1.6), abs=0.05)
    assert found.rotation == pytest.approx(0.5, abs=0.02)


def test_a_motion_is_recovered_at_twice_the_scale(astronaut) -> None:
    # Moving the clean image by 2 t clean pixels moves the degraded one by t: the pixel
    # centres of both share the image's centre.
    degraded = degrade(
        moved(astronaut, (2.6, -1.2), 0.7, 1.005), gaussian_kernel(11, 1.2), 0.01, scale=2
    )
    found = estimate_alignment(degraded, astronaut, scale=2)
    assert found.shift == pytest.approx((1.3, -0.6), abs=0.05)
    assert found.rotation == pytest.approx(0.7, abs=0.05)
    assert found.scale == pytest.approx(1.005, abs=0.002)


def test_aligning_a_pair_undoes_its_motion_and_exposure(astronaut) -> None:
    kernel, gain, offset = gaussian_kernel(11, 1.6), (0.7, 0.9, 1.3), (0.03, 0.0, -0.02)
    crop = (slice(None), slice(32, 224), slice(32, 224))
    clean = astronaut[crop]
    degraded = degrade(
        moved(astronaut, (3.4, -2.2), 1.0, 1.01)[crop], kernel, 0.01, 1, gain, offset
    )
    found = estimate_alignment(degraded, clean)
    fixed, target = align_pair(degraded, clean, found)
    assert target.shape == fixed.shape and fixed.shape[-1] < clean.shape[-1]
    inner = (slice(None), slice(8, -8), slice(8, -8))  # away from the blur's borders
    aligned = psnr(fixed[inner], convolve(target[None], kernel)[0][inner])
    # The same degradation without the motion, its exposure undone exactly.
    still = degrade(clean, kernel, 0.01, 1, gain, offset)
    still = (still - torch.tensor(offset)[:, None, None]) / torch.tensor(gain)[:, None, None]
    reference = psnr(still.clamp(0, 1)[inner], convolve(clean[None], kernel)[0][inner])
    assert aligned == pytest.approx(reference, abs=0.5)
    unaligned = psnr(degraded[inner], convolve(clean[None], kernel)[0][inner])
    assert unaligned < reference - 10


@pytest.mark.parametrize(
    ("kernel", "noise", "scale", "passed"),
    [
        (gaussian_kernel(11, 1.6), 0.01, 1, False),
        (disk_kernel(3.0), 0.02, 1, False),
        (shake(), 0.01, 1, True),
        (gaussian_kernel(11, 1.0), 0.01, 2, False),
    ],
    ids=["gaussian", "defocus", "shake-kernel-given", "x2"],
)
def test_an_aligned_pair_is_left_as_it_is(astronaut, kernel, noise, scale, passed) -> None:
    degraded = degrade(astronaut, kernel, noise, scale=scale)
    found = estimate_alignment(degraded, astronaut, scale, kernel if passed else None)
    assert found.is_identity(), found
    fixed, target = align_pair(degraded, astronaut, found, scale)
    assert fixed is degraded and target is astronaut


def test_an_off_centre_kernel_reads_as_a_shift_unless_it_is_given(astronaut) -> None:
    degraded = degrade(astronaut, shake(), 0.01)
    found = estimate_alignment(degraded, astronaut)
    assert found.shift == pytest.approx(kernel_centroid(shake()), abs=0.3)
    assert not found.is_identity()


@pytest.mark.parametrize("scenes", ["astronaut-coffee", "far-crops"])
def test_two_different_scenes_are_refused(astronaut, coffee, scenes) -> None:
    if scenes == "astronaut-coffee":
        degraded, clean = degrade(astronaut[:, 32:224, 32:224], None, 0.01), coffee
    else:
        degraded = degrade(astronaut[:, :128, :128], disk_kernel(3.0), 0.02)
        clean = astronaut[:, 128:, 128:]
    found = estimate_alignment(degraded, clean)
    assert found.correlation < 0.3
    with pytest.raises(InputError, match="same scene") as refusal:
        check_alignment(found)
    assert ALIGN_OFF in str(refusal.value) and "\n" not in str(refusal.value)


def test_a_pair_that_barely_overlaps_is_refused() -> None:
    far = Alignment((70.0, 0.0), 0.0, 1.0, (1.0,), (0.0,), 0.99, (100, 100))
    assert overlap_box(far)[3] < 50
    with pytest.raises(InputError, match="overlap") as refusal:
        check_alignment(far)
    assert "--data.align false" in str(refusal.value)


def test_the_warp_moves_content_as_the_alignment_says() -> None:
    # A dot at (x, y) = (28, 20) of a 64x48 frame (centre (31.5, 23.5)), clean image x2.
    clean = torch.zeros(1, 96, 128)
    clean[0, 40:42, 56:58] = 1.0  # clean pixels 56-57 sit at degraded x 27.75-28.25

    def dot(image: torch.Tensor) -> tuple[float, float]:
        weights = image[0].clamp_min(0)
        rows, cols = torch.meshgrid(
            torch.arange(image.shape[1], dtype=torch.float64),
            torch.arange(image.shape[2], dtype=torch.float64),
            indexing="ij",
        )
        total = weights.sum()
        x = float((weights * cols).sum() / total)
        y = float((weights * rows).sum() / total)
        return (x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5  # in degraded pixels

    assert dot(clean) == pytest.approx((28.0, 20.0), abs=1e-6)
    shifted = Alignment((3.0, -2.0), 0.0, 1.0, (1.0,), (0.0,), 1.0, (48, 64))
    assert dot(warp_clean(clean, shifted, 2)) == pytest.approx((31.0, 18.0), abs=0.05)
    # Turning counter-clockwise on screen by 90 degrees takes (-3.5, -3.5) from the centre
    # to (-3.5, +3.5): left-above to left-below.
    turned = Alignment((0.0, 0.0), 90.0, 1.0, (1.0,), (0.0,), 1.0, (48, 64))
    assert dot(warp_clean(clean, turned, 2)) == pytest.approx((28.0, 27.0), abs=0.05)
    grown = Alignment((0.0, 0.0), 0.0, 2.0, (1.0,), (0.0,), 1.0, (48, 64))
    assert dot(warp_clean(clean, grown, 2)) == pytest.approx((24.5, 16.5), abs=0.05)


def test_the_overlap_is_where_the_warped_clean_image_is_defined() -> None:
    alignment = Alignment((5.4, -3.0), 1.0, 1.0, (1.0,), (0.0,), 1.0, (100, 120))
    top, left, rows, cols = overlap_box(alignment, scale=2)
    # Moved right by 5.4 and up by 3, turned by 1 degree (0.87 px of shear over 50 px).
    assert 6 <= left <= 8 and top == 0
    assert 110 <= left + cols <= 120 and 94 <= top + rows <= 97
    assert overlap_box(alignment, scale=2, margin=4) == (top + 4, left + 4, rows - 8, cols - 8)


def test_aligning_keeps_the_scale_between_the_crops() -> None:
    degraded, clean = torch.rand(3, 40, 50), torch.rand(3, 120, 150)
    alignment = Alignment((1.5, 2.5), 0.3, 1.0, (0.8, 1.0, 1.2), (0.0,) * 3, 1.0, (40, 50))
    fixed, target = align_pair(degraded, clean, alignment, 3)
    assert target.shape[-2:] == (3 * fixed.shape[-2], 3 * fixed.shape[-1])
    assert fixed.min() >= 0 and fixed.max() <= 1


def test_kernel_centroid_of_a_shifted_delta() -> None:
    delta = torch.zeros(7, 7)
    delta[1, 5] = 1.0  # two columns right, two rows up
    assert kernel_centroid(delta) == pytest.approx((2.0, -2.0))
    assert kernel_centroid(gaussian_kernel(9, 1.5)) == pytest.approx((0.0, 0.0), abs=1e-6)


def test_a_pair_of_mismatched_sizes_is_refused() -> None:
    with pytest.raises(InputError, match="2 times"):
        estimate_alignment(torch.rand(3, 40, 40), torch.rand(3, 80, 82), scale=2)
