"""Two noisy images from one: fresh noise added and taken off (Recorrupted-to-Recorrupted)."""

from __future__ import annotations

import torch
from torch import Tensor


def recorrupt(
    noisy: Tensor,
    sigma: float,
    alpha: float = 0.5,
    generator: torch.Generator | None = None,
    shared: bool = False,
) -> tuple[Tensor, Tensor]:
    """An input and a target whose noises are independent, from (B, C, H, W) noisy images.

    For white Gaussian noise of deviation ``sigma`` (in image units), with fresh noise
    ``z ~ N(0, sigma^2)``: the input ``noisy + alpha z`` carries noise of deviation
    ``sigma sqrt(1 + alpha^2)`` and the target ``noisy - z / alpha`` noise uncorrelated with
    it, hence independent (Pang et al., CVPR 2021). A net trained to map one to the other in
    squared error learns the clean image's expectation, as if trained on clean targets,
    and at full resolution (unlike pair downsampling). ``shared``: one draw for all C
    channels, for images whose noise is the same in every channel (grey content stored as
    RGB), where independent draws would leave the input's noise in the target's other
    channels. Returns two (B, C, H, W) tensors.

    Example:
        >>> import torch
        >>> draws = torch.Generator().manual_seed(0)
        >>> clean = torch.full((1, 1, 256, 256), 0.5)
        >>> noisy = clean + 0.1 * torch.randn(clean.shape, generator=draws)
        >>> given, wanted = recorrupt(noisy, 0.1, generator=draws)
        >>> abs(((given - clean) * (wanted - clean)).mean().item()) < 1e-3  # uncorrelated
        True
    """
    batch, channels, height, width = noisy.shape
    shape = (batch, 1 if shared else channels, height, width)
    fresh = sigma * torch.randn(shape, generator=generator, device=noisy.device)
    return noisy + alpha * fresh, noisy - fresh / alpha
