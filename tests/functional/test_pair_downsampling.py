"""Two noisy views of one image: sizes, what they average, and the independence of their noise."""

from __future__ import annotations

import torch

from oneshot_lightning.functional.pair_downsampling import pair_downsample


def test_views_are_half_size_and_average_the_diagonals() -> None:
    image = torch.rand(2, 3, 9, 12)
    first, second = pair_downsample(image)
    assert first.shape == second.shape == (2, 3, 4, 6)  # the odd last row is left out
    torch.testing.assert_close(first[..., 1, 2], (image[..., 2, 4] + image[..., 3, 5]) / 2)
    torch.testing.assert_close(second[..., 1, 2], (image[..., 2, 5] + image[..., 3, 4]) / 2)


def test_white_noise_is_independent_between_the_views() -> None:
    noise = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(0))
    first, second = pair_downsample(noise)
    correlation = torch.corrcoef(torch.stack([first.flatten(), second.flatten()]))[0, 1]
    assert abs(correlation.item()) < 0.01
    # Each view averages two pixels: half the noise variance.
    assert abs(first.var().item() - 0.5) < 0.02
    # Noise that is correlated between neighbours (e.g. after demosaicing) is not.
    blurred = torch.nn.functional.avg_pool2d(noise, 3, 1, 1)
    correlated = torch.corrcoef(torch.stack([v.flatten() for v in pair_downsample(blurred)]))
    assert correlated[0, 1].item() > 0.5
