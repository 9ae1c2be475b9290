"""Recorruption: the noise levels of its two images and the independence of their noise."""

from __future__ import annotations

import torch

from oneshot_lightning.functional import recorrupt


def test_the_two_noises_are_uncorrelated_at_the_stated_levels() -> None:
    draws = torch.Generator().manual_seed(0)
    clean = torch.rand(1, 3, 256, 256, generator=draws)
    sigma, alpha = 0.1, 0.5
    noisy = clean + sigma * torch.randn(clean.shape, generator=draws)
    given, wanted = recorrupt(noisy, sigma, alpha, draws)
    first, second = (given - clean).flatten(), (wanted - clean).flatten()
    assert abs(torch.corrcoef(torch.stack([first, second]))[0, 1].item()) < 0.01
    # Input: sigma sqrt(1 + alpha^2); target: sigma sqrt(1 + 1 / alpha^2).
    assert abs(first.std().item() - sigma * (1 + alpha**2) ** 0.5) < 0.002
    assert abs(second.std().item() - sigma * (1 + alpha**-2) ** 0.5) < 0.004
    # The target averages to the noisy image (its fresh noise has zero mean), not the clean.
    assert abs((wanted - noisy).mean().item()) < 0.002


def test_a_wrong_level_leaves_the_noises_correlated() -> None:
    """Told half the true level, the target keeps the noise that the input shows."""
    draws = torch.Generator().manual_seed(1)
    noise = 0.1 * torch.randn(1, 1, 256, 256, generator=draws)
    given, wanted = recorrupt(noise, 0.05, 0.5, draws)
    assert torch.corrcoef(torch.stack([given.flatten(), wanted.flatten()]))[0, 1].item() > 0.4


def test_one_generator_seed_gives_one_draw() -> None:
    image = torch.rand(1, 1, 16, 16)
    first = recorrupt(image, 0.1, 0.5, torch.Generator().manual_seed(3))
    second = recorrupt(image, 0.1, 0.5, torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second)


def test_shared_draws_keep_equal_channels_equal() -> None:
    """Grey stored as RGB: one draw for all channels, else the target's other channels keep
    the noise the input shows."""
    draws = torch.Generator().manual_seed(2)
    grey = (0.5 + 0.1 * torch.randn(1, 1, 128, 128, generator=draws)).expand(1, 3, 128, 128)
    given, wanted = recorrupt(grey, 0.1, 0.5, draws, shared=True)
    assert (given == given[:, :1]).all() and (wanted == wanted[:, :1]).all()
    given, wanted = recorrupt(grey, 0.1, 0.5, draws)
    across = torch.corrcoef(torch.stack([given[:, 0].flatten(), wanted[:, 1].flatten()]))
    assert across[0, 1].item() > 0.3
