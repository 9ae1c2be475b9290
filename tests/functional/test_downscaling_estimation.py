"""How a photo was shrunk, from the photo alone, on the bundled sample."""

from __future__ import annotations

import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    bicubic_downscale,
    bicubic_kernel,
    downscaling_gaussian,
    estimate_downscaling,
    kernel_downscale,
    quantize,
    relative_error,
    resize_kernel,
    resize_routine,
)
from oneshot_lightning.functional.back_projection import back_project
from oneshot_lightning.functional.downscaling_choice import (
    back_projection_gains,
    psnr_gain,
    safest_kernel,
)
from oneshot_lightning.functional.downscaling_estimation import Downscaling, trusted_gaussian
from oneshot_lightning.functional.patch_recurrence import recurrence_gaussian
from oneshot_lightning.functional.resize import bicubic_upscale
from oneshot_lightning.functional.spectrum_fit import spectrum_misfits
from oneshot_lightning.functional.texture import luma


@pytest.fixture(scope="module")
def original() -> torch.Tensor:
    """(1, 3, 400, 400): the sample's centre, as the unknown high-resolution original."""
    return read_image(SAMPLE_IMAGE)[None, :, 56:456, 56:456]


def shrunk(original: torch.Tensor, routine: str) -> torch.Tensor:
    """(3, 200, 200): ``original`` shrunk x2 by the resize routine, 8-bit."""
    return quantize(kernel_downscale(original, resize_kernel(routine, 2), 2))[0]


def back_projection_gain(original: torch.Tensor, photo: torch.Tensor, kernel) -> float:
    """dB of PSNR (luma) that 4 back-projections with ``kernel`` add to bicubic x2."""
    start = bicubic_upscale(photo[None], 2)
    output = start if kernel is None else back_project(start, photo[None], 2, 4, kernel)
    grey = [luma(image.clamp(0, 1)) for image in (output, original, start)]
    return psnr_gain(*grey, border=4)


def test_a_wide_anisotropic_kernel_is_found_far_closer_than_bicubic(original) -> None:
    truth = downscaling_gaussian(2, 2.0, 1.2, 45)
    photo = quantize(kernel_downscale(original, truth, 2))[0]
    found = estimate_downscaling(photo, 2, camera=True)
    assert found.description.startswith("Gaussian") and found.back_project
    assert relative_error(found.kernel, truth) < 0.3 * relative_error(bicubic_kernel(2), truth)
    assert back_projection_gain(original, photo, found.kernel) > 1.0


def test_the_recurrence_search_finds_the_gaussian(original) -> None:
    truth = downscaling_gaussian(2, 1.6, 1.0, 30)
    photo = quantize(kernel_downscale(original, truth, 2))[0]
    found = recurrence_gaussian(photo, 2)
    assert found.is_gaussian
    assert relative_error(found.kernel, truth) < 0.4


@pytest.mark.parametrize("routine", ["bicubic", "cubic_sampled", "box", "nearest_middle"])
def test_back_projection_with_the_found_kernel_never_loses_to_bicubic(original, routine) -> None:
    """The reason for the estimate: MATLAB's kernel assumed loses up to 2 dB on such photos."""
    photo = shrunk(original, routine)
    found = estimate_downscaling(photo, 2)
    kernel = found.at(2) if found.back_project else None
    assert back_projection_gain(original, photo, kernel) >= 0
    assert found.back_project or found.alternatives, "an unsafe choice names the others"


def test_assuming_matlab_for_a_sharp_resize_loses_to_bicubic(original) -> None:
    """What the estimate guards against (so the test above can fail)."""
    photo = shrunk(original, "cubic_sampled")
    assert back_projection_gain(original, photo, bicubic_kernel(2)) < -0.5


def test_the_spectrum_prefers_the_true_routine_to_a_far_one(original) -> None:
    grey = luma(shrunk(original, "bilinear")[None])[0, 0]
    bilinear, nearest = (resize_kernel(key, 2) for key in ("bilinear", "nearest_first"))
    misfits = spectrum_misfits(grey, [bilinear, nearest], 2)
    assert misfits[0] < misfits[1]


def test_the_safest_kernel_is_none_when_every_one_can_lose(original) -> None:
    grey = luma(shrunk(original, "bicubic")[None])
    wide, sharp = resize_kernel("bilinear", 2), resize_kernel("nearest_middle", 2)
    gains = back_projection_gains(grey, [wide, sharp], [wide, sharp], 2)
    assert gains[0][1] < 0 and gains[1][0] < gains[0][0]  # wrong kernels hurt
    assert safest_kernel(grey, [wide], 2) == 0
    choice = safest_kernel(grey, [wide, sharp], 2)
    worst = [min(row) for row in gains]
    assert choice is None if max(worst) <= 0 else worst[choice] == max(worst)


def test_a_routine_is_its_kernel_at_any_factor() -> None:
    routine = resize_routine("bicubic", 2)
    assert torch.equal(routine.kernel, bicubic_kernel(2))
    assert torch.equal(routine.at(4), bicubic_kernel(4))


def test_a_step_kernel_repeats_for_a_power_of_its_factor(original) -> None:
    truth = downscaling_gaussian(2, 1.4, 1.4, 0)
    found = estimate_downscaling(quantize(kernel_downscale(original, truth, 2))[0], 2, True)
    assert found.routine is None
    assert found.at(4).shape == (32, 32)
    assert found.at(4).sum().item() == pytest.approx(1, abs=1e-5)
    with pytest.raises(InputError, match="not a power"):
        found.at(3)


def test_a_matlab_photo_keeps_a_kernel_as_safe_as_bicubic(original) -> None:
    photo = quantize(bicubic_downscale(original, 2))[0]
    found = estimate_downscaling(photo, 2)
    kernel = found.at(2) if found.back_project else None
    assert back_projection_gain(original, photo, kernel) >= 0


def test_a_photo_too_small_is_one_clear_line() -> None:
    with pytest.raises(InputError, match="needs at least 32x32 pixels"):
        estimate_downscaling(torch.rand(3, 20, 40), 2)


@pytest.mark.parametrize(
    ("misfits", "iterations"),
    [
        ({"camera": 1.0, "bilinear": 1.5, "bicubic": 2.0}, None),  # alone: the model's own
        ({"camera": 1.0, "bilinear": 1.3, "bicubic": 2.0}, 4),  # a routine fits too
        ({"camera": 1.1, "bilinear": 1.0, "box": 1.2}, 4),  # it even fits better
    ],
)
def test_a_camera_gaussian_in_doubt_is_back_projected_less(misfits, iterations) -> None:
    gaussian = Downscaling(downscaling_gaussian(2, 1.4, 1.0, 30), 2, "Gaussian")
    trusted = trusted_gaussian(gaussian, misfits)
    assert torch.equal(trusted.kernel, gaussian.kernel) and trusted.back_project
    assert trusted.iterations == iterations
    assert iterations is None or "bilinear" in trusted.description


def test_full_trust_in_a_gaussian_over_a_smoother_routine_is_what_hurts(original) -> None:
    """Why doubt limits the iterations: a Gaussian fitted to a bilinear photo over-sharpens."""
    photo = shrunk(original, "bilinear")
    wide = downscaling_gaussian(2, 1.6, 1.6, 0)  # wider than Pillow's bilinear x2

    def gain(iterations: int) -> float:
        start = bicubic_upscale(photo[None], 2)
        output = back_project(start, photo[None], 2, iterations, wide)
        return psnr_gain(*[luma(x.clamp(0, 1)) for x in (output, original, start)], border=4)

    assert gain(16) < gain(4)
