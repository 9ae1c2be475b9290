"""Iterative back-projection (Irani and Peleg 1991): make a super-resolved image fit its input.

When the low-resolution input was made by MATLAB-style bicubic downscaling, a faithful output
x of input y satisfies ``down(x) = y``. Each iteration adds the bicubic upscaling of what is
still missing, ``x += up(y - down(x))``: the output keeps its detail and regains the input's
exact low frequencies. Plain bicubic upscaling does not satisfy it (its downscale blurs), so
back-projection improves bicubic interpolation itself, and a net's output on top of that.
"""

from __future__ import annotations

from torch import Tensor

from oneshot_lightning.functional.resize import bicubic_downscale, bicubic_upscale


def back_project(output: Tensor, image: Tensor, scale: int, iterations: int = 1) -> Tensor:
    """(B, C, s h, s w) ``output`` corrected ``iterations`` times towards (B, C, h, w) ``image``.

    ``image`` is the low-resolution input and ``scale`` s the factor between them; the
    result is not clipped.

    >>> import torch
    >>> low = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    >>> fitted = back_project(torch.zeros(1, 1, 16, 16, dtype=torch.float64), low, 2, 30)
    >>> bool((bicubic_downscale(fitted, 2) - low).abs().max() < 1e-3)
    True
    """
    for _ in range(iterations):
        output = output + bicubic_upscale(image - bicubic_downscale(output, scale), scale)
    return output
