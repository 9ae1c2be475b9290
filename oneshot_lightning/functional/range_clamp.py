"""Keep a super-resolved image within the range of its input's neighbourhoods.

A net trained on one photo can meet structures at test time that its training pairs showed
only aliased (thin lines a pixel or two wide): it then draws them far too dark or too
bright. Bicubic interpolation stays close to the range of the pixels around it; clipping the
net's output to that range, widened by a margin, removes such overshoot and keeps detail
inside the range.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def clamp_to_neighbourhood(
    output: Tensor, image: Tensor, scale: int, window: int = 3, margin: float = 0.02
) -> Tensor:
    """(B, C, s h, s w) ``output`` clipped to its (B, C, h, w) ``image``'s local ranges.

    Each output pixel stays within [min - margin, max + margin] of the ``window`` x
    ``window`` input pixels around the input pixel it lies in (borders replicated); per
    channel, ``margin`` in full-scale units.

    >>> import torch
    >>> image = torch.tensor([[[[0.2, 0.4], [0.4, 0.6]]]])
    >>> clamp_to_neighbourhood(torch.ones(1, 1, 4, 4), image, 2, margin=0.0).max().item()
    0.6000000238418579
    """
    pad = (window // 2,) * 4
    high = F.max_pool2d(F.pad(image, pad, mode="replicate"), window, stride=1)
    low = -F.max_pool2d(F.pad(-image, pad, mode="replicate"), window, stride=1)
    # Nearest-neighbour enlargement repeats each range over its s x s output pixels (and
    # exports to ONNX at any size, where repeat_interleave does not).
    high = F.interpolate(high, scale_factor=scale, mode="nearest") + margin
    low = F.interpolate(low, scale_factor=scale, mode="nearest") - margin
    return output.maximum(low).minimum(high)
