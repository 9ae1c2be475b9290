"""Resize routines' kernels against the routines themselves: Pillow, torch, OpenCV, MATLAB's."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import bicubic_kernel, kernel_downscale
from oneshot_lightning.functional.resize_kernels import ROUTINES, resize_kernel


def pillow(method: Image.Resampling) -> Callable[[Tensor, int], Tensor]:
    """Pillow's resize of a (1, 1, H, W) float image by 1 / s, in 32-bit float mode."""

    def shrink(image: Tensor, scale: int) -> Tensor:
        picture = Image.fromarray(image[0, 0].numpy().astype(np.float32), mode="F")
        size = (image.shape[-1] // scale, image.shape[-2] // scale)
        return torch.from_numpy(np.array(picture.resize(size, method)))[None, None].double()

    return shrink


def interpolate(mode: str, antialias: bool = False) -> Callable[[Tensor, int], Tensor]:
    """``torch.nn.functional.interpolate`` by 1 / s."""
    corners = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}

    def shrink(image: Tensor, scale: int) -> Tensor:
        return F.interpolate(
            image, scale_factor=1 / scale, mode=mode, antialias=antialias, **corners
        )

    return shrink


ROUTINE_CASES = [
    ("bicubic", pillow(Image.Resampling.BICUBIC)),
    ("bicubic", interpolate("bicubic", antialias=True)),
    ("bilinear", pillow(Image.Resampling.BILINEAR)),
    ("box", pillow(Image.Resampling.BOX)),
    ("box", interpolate("area")),
    ("lanczos3", pillow(Image.Resampling.LANCZOS)),
    ("cubic_sampled", interpolate("bicubic")),
    ("linear_sampled", interpolate("bilinear")),
    ("nearest_middle", pillow(Image.Resampling.NEAREST)),
    ("nearest_first", interpolate("nearest")),
]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize(("key", "routine"), ROUTINE_CASES)
def test_each_kernel_downscales_as_its_routine_away_from_borders(
    key: str, routine: Callable[[Tensor, int], Tensor], scale: int
) -> None:
    image = torch.rand(1, 1, 24 * scale, 24 * scale, dtype=torch.float64)
    kernel = resize_kernel(key, scale).double()
    assert kernel.shape == (8 * scale + scale % 2,) * 2
    assert kernel.sum().item() == pytest.approx(1, abs=1e-6)
    inner = (..., slice(5, -5), slice(5, -5))  # the routines' borders differ
    expected = routine(image, scale)
    assert torch.allclose(kernel_downscale(image, kernel, scale)[inner], expected[inner], atol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("cv2") is None, reason="OpenCV is not installed")
@pytest.mark.parametrize("scale", [2, 4])
def test_opencv_routines_are_the_sampled_box_and_nearest_kernels(scale: int) -> None:
    import cv2

    image = np.random.default_rng(0).random((24 * scale, 24 * scale))
    size = (24, 24)
    cases = {
        "cubic_sampled": cv2.INTER_CUBIC,
        "linear_sampled": cv2.INTER_LINEAR,
        "box": cv2.INTER_AREA,
        "nearest_first": cv2.INTER_NEAREST,
    }
    for key, flag in cases.items():
        expected = torch.from_numpy(cv2.resize(image, size, interpolation=flag))
        found = kernel_downscale(
            torch.from_numpy(image)[None, None], resize_kernel(key, scale).double(), scale
        )[0, 0]
        assert torch.allclose(found[5:-5, 5:-5], expected[5:-5, 5:-5], atol=1e-9), key


def test_matlab_bicubic_is_the_bicubic_routine() -> None:
    for scale in (2, 3, 4):
        assert torch.allclose(resize_kernel("bicubic", scale), bicubic_kernel(scale), atol=1e-7)


def test_every_routine_has_words_and_an_unknown_one_is_refused() -> None:
    assert all(routine.name for routine in ROUTINES.values())
    with pytest.raises(InputError, match=r"unknown resize routine .cubic.: one of bicubic"):
        resize_kernel("cubic", 2)
