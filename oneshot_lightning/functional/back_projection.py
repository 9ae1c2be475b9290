"""Iterative back-projection (Irani and Peleg 1991): make a super-resolved image fit its input.

When the low-resolution input was made by MATLAB-style bicubic downscaling (or another
known kernel), a faithful output x of input y satisfies ``down(x) = y``. Each iteration adds
the bicubic upscaling of what is still missing, ``x += up(y - down(x))``: the output keeps
its detail and regains the input's exact low frequencies. Plain bicubic upscaling does not
satisfy it (its downscale blurs), so back-projection improves bicubic interpolation itself,
and a net's output on top of that.
"""

from __future__ import annotations

from torch import Tensor

from oneshot_lightning.functional.downscaling import kernel_downscale
from oneshot_lightning.functional.resize import bicubic_downscale, bicubic_upscale


def back_project(
    output: Tensor, image: Tensor, scale: int, iterations: int = 1, kernel: Tensor | None = None
) -> Tensor:
    """(B, C, s h, s w) ``output`` corrected ``iterations`` times towards (B, C, h, w) ``image``.

    ``image`` is the low-resolution input and ``scale`` s the factor between them; ``kernel``
    the (K, K) downscaling kernel that made it (``functional.downscaling``), MATLAB's bicubic
    when ``None``. The missing part is always upscaled bicubically. The result is not clipped.

    >>> import torch
    >>> low = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    >>> fitted = back_project(torch.zeros(1, 1, 16, 16, dtype=torch.float64), low, 2, 30)
    >>> bool((bicubic_downscale(fitted, 2) - low).abs().max() < 1e-3)
    True
    """
    for _ in range(iterations):
        if kernel is None:
            smaller = bicubic_downscale(output, scale)
        else:
            smaller = kernel_downscale(output, kernel, scale)
        output = output + bicubic_upscale(image - smaller, scale)
    return output
