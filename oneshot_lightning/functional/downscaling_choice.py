"""The safest of several plausible downscaling kernels: the one whose worst case is best.

When a photo's spectrum cannot tell some kernels apart, each of them may have made it. The
photo stands in for its own original: shrunk by each plausible kernel j, bicubic-upscaled
and back-projected with each candidate kernel i, it gives the gain of i when j is the truth
(dB of PSNR over plain bicubic). The choice is the candidate whose smallest gain over the
plausible truths is largest, "none" (no back-projection, gain 0) included: a kernel that
would hurt badly were another plausible kernel true is not chosen. Photos are (1, 1, H, W)
grey in [0, 1].
"""

from __future__ import annotations

from torch import Tensor

from oneshot_lightning.functional.back_projection import back_project
from oneshot_lightning.functional.downscaling import kernel_downscale
from oneshot_lightning.functional.quantize import quantize
from oneshot_lightning.functional.resize import bicubic_upscale

#: Back-projection iterations of the comparison (the zero-shot configs use 4).
ITERATIONS = 4


def psnr_gain(output: Tensor, reference: Tensor, start: Tensor, border: int) -> float:
    """PSNR of ``output`` minus that of ``start``, both against ``reference``, in dB."""

    def error(image: Tensor) -> Tensor:
        return (image - reference)[..., border:-border, border:-border].square().mean()

    return float(10 * (error(start) / error(output).clamp_min(1e-12)).log10())


def back_projection_gains(
    photo: Tensor, truths: list[Tensor], candidates: list[Tensor], scale: int
) -> list[list[float]]:
    """``gains[i][j]``: back-projecting with ``candidates[i]`` a copy shrunk by ``truths[j]``.

    Each copy is 8-bit, as the photo is; gains are over its bicubic upscaling, in dB.
    """
    height, width = (side // scale * scale for side in photo.shape[-2:])
    original = photo[..., :height, :width].double()
    gains: list[list[float]] = [[] for _ in candidates]
    for truth in truths:
        small = quantize(kernel_downscale(original, truth.double(), scale))
        start = bicubic_upscale(small, scale)
        for row, kernel in zip(gains, candidates):
            output = back_project(start, small, scale, ITERATIONS, kernel.double())
            row.append(psnr_gain(quantize(output.clamp(0, 1)), original, start.clamp(0, 1), scale))
    return gains


def safest_kernel(photo: Tensor, plausible: list[Tensor], scale: int) -> int | None:
    """Index of the kernel of ``plausible`` with the best worst-case gain; ``None``: none.

    ``None`` when every kernel would lose against plain bicubic for some plausible truth.
    """
    if len(plausible) == 1:
        return 0
    gains = back_projection_gains(photo, plausible, plausible, scale)
    worst = [min(row) for row in gains]
    best = max(range(len(plausible)), key=worst.__getitem__)
    return best if worst[best] > 0 else None
