"""The downscaling kernels of common resize routines (``functional.downscaling``'s convention).

A resize routine that shrinks by an integer factor s weighs the high-resolution pixels around
each output pixel's sample point by a filter: stretched by s when it antialiases (MATLAB's
``imresize``, Pillow, ``torch.nn.functional.interpolate(..., antialias=True)``), at its
native width when it does not (OpenCV's ``INTER_CUBIC`` and ``INTER_LINEAR``, ``interpolate``
without antialiasing). The sample point is the centre of the s x s block, except for nearest
neighbour, which takes one pixel of the block: Pillow the one below and right of the centre,
OpenCV and torch the block's first. Each routine's kernel is separable, (8 s, 8 s), sums to 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.downscaling import kernel_size


def keys_cubic(x: Tensor, a: float) -> Tensor:
    """Keys' cubic convolution filter with parameter ``a`` (MATLAB, Pillow -0.5; OpenCV -0.75)."""
    ax = x.abs()
    near = ((a + 2) * ax**3 - (a + 3) * ax**2 + 1) * (ax <= 1)
    far = (a * ax**3 - 5 * a * ax**2 + 8 * a * ax - 4 * a) * ((ax > 1) & (ax < 2))
    return near + far


def triangle(x: Tensor) -> Tensor:
    """The linear-interpolation filter, support 1."""
    return (1 - x.abs()).clamp_min(0)


def box(x: Tensor) -> Tensor:
    """The area-averaging filter, support 1/2."""
    return (x.abs() < 0.5).to(x.dtype)


def lanczos3(x: Tensor) -> Tensor:
    """Lanczos' windowed sinc with three lobes."""
    return torch.sinc(x) * torch.sinc(x / 3) * (x.abs() < 3)


class ResizeRoutine(NamedTuple):
    """How one family of resize routines shrinks an image.

    Attributes:
        name: the routines, in words.
        filter: the 1-D filter, a function of distance in (stretched) pixels.
        antialias: whether the filter is stretched by the factor.
        nearest: for nearest neighbour, which pixel of each s x s block is taken: ``"middle"``
            (pixel s // 2 along each axis) or ``"first"``; ``filter`` is then unused.
    """

    name: str
    filter: Callable[[Tensor], Tensor]
    antialias: bool = True
    nearest: str | None = None


#: The resize routines whose kernels ``resize_kernel`` makes, by key.
ROUTINES: dict[str, ResizeRoutine] = {
    "bicubic": ResizeRoutine(
        "antialiased bicubic (MATLAB imresize, Pillow BICUBIC, torch antialias)",
        lambda x: keys_cubic(x, -0.5),
    ),
    "bilinear": ResizeRoutine("antialiased bilinear (MATLAB, Pillow BILINEAR)", triangle),
    "box": ResizeRoutine("area averaging (Pillow BOX, OpenCV INTER_AREA, torch area)", box),
    "lanczos3": ResizeRoutine("Lanczos-3 (MATLAB, Pillow LANCZOS)", lanczos3),
    "cubic_sampled": ResizeRoutine(
        "bicubic without antialiasing (OpenCV INTER_CUBIC, torch bicubic)",
        lambda x: keys_cubic(x, -0.75),
        antialias=False,
    ),
    "linear_sampled": ResizeRoutine(
        "bilinear without antialiasing (OpenCV INTER_LINEAR, torch bilinear)",
        triangle,
        antialias=False,
    ),
    "nearest_middle": ResizeRoutine("nearest neighbour (Pillow NEAREST)", box, nearest="middle"),
    "nearest_first": ResizeRoutine(
        "nearest neighbour (OpenCV, torch nearest)", box, nearest="first"
    ),
}


def resize_taps(routine: ResizeRoutine, scale: int) -> Tensor:
    """(8 s,) the 1-D weights of ``routine`` shrinking by ``scale``, summing to 1."""
    size = kernel_size(scale)
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2  # from the block centre
    if routine.nearest is not None:
        taken = scale // 2 if routine.nearest == "middle" else 0
        # Kernels convolve: the pixel at offset d from the centre is weighted by the tap at -d.
        return (offsets == (scale - 1) / 2 - taken).double()  # half-integers: exact
    taps = routine.filter(offsets / scale if routine.antialias else offsets)
    return taps / taps.sum()


def resize_kernel(key: str, scale: int) -> Tensor:
    """(8 s, 8 s) the downscaling kernel of the resize routines ``ROUTINES[key]`` at ``scale``.

    >>> from oneshot_lightning.functional.downscaling import bicubic_kernel
    >>> bool(torch.allclose(resize_kernel("bicubic", 2), bicubic_kernel(2)))
    True
    """
    if key not in ROUTINES:
        raise InputError(f"unknown resize routine {key!r}: one of {', '.join(ROUTINES)}")
    taps = resize_taps(ROUTINES[key], scale)
    return torch.outer(taps, taps).float()
