"""Where noise is far from clipping: the mask and the blend weight."""

from __future__ import annotations

import torch

from oneshot_lightning.functional import unclipped_mask, unclipped_weight, window_mean


def banded(sigma: float = 0.1, seed: int = 0) -> torch.Tensor:
    """(1, 1, 64, 96): black, mid-grey and white bands of 32 columns, noisy and clipped."""
    clean = torch.cat([torch.full((64, 32), v) for v in (0.0, 0.5, 1.0)], dim=1)[None, None]
    noise = sigma * torch.randn(clean.shape, generator=torch.Generator().manual_seed(seed))
    return (clean + noise).clamp(0, 1)


def test_the_mask_follows_window_means_not_single_pixels() -> None:
    image = banded()
    mask = unclipped_mask(image, 0.1)
    # Inside the bands, away from their edges: clipped at black and white, free in the grey.
    assert not mask[..., :, 4:28].any() and not mask[..., :, 68:92].any()
    assert mask[..., :, 36:60].all()  # single noisy pixels reach 0.2 and 0.8; their means do not
    # Without the window, single pixels decide (and some grey ones fall outside).
    assert not unclipped_mask(image, 0.1, window=1)[..., :, 36:60].all()


def test_the_weight_is_the_masks_window_share() -> None:
    image = banded()
    weight = unclipped_weight(image, 0.1)
    assert weight.min() >= 0 and weight.max() <= 1
    mask = unclipped_mask(image, 0.1).float()
    torch.testing.assert_close(weight, window_mean(mask, 7))
    # It changes over a window at a band's edge, not in one step.
    edge = weight[0, 0, 32, 26:40]
    assert (edge > 0).sum() > (mask[0, 0, 32, 26:40] > 0).sum()


def test_a_larger_margin_counts_fewer_pixels() -> None:
    image = banded() * 0.3 + 0.1  # dark: the whole image within 0.4 of black
    assert unclipped_mask(image, 0.1, margin=1).sum() > unclipped_mask(image, 0.1, margin=3).sum()
    assert unclipped_mask(image, 0.1, margin=0).all()
