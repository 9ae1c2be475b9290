import pytest
import torch
from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.tiling import (
    match_channels,
    pad_for_patches,
    restore_channels,
    tiled,
    tiled_whole,
)
from oneshot_lightning.models.nets import RNNSparseCoder


def test_tiled_equals_untiled() -> None:
    net = RNNSparseCoder(patch_size=5, latent=32)
    with torch.no_grad():
        net.decoder.weight.normal_(0, 0.3)
        padded = pad_for_patches(torch.rand(1, 3, 37, 41), 5)
        whole = net.forward_valid(padded)
        for tile in (8, 13, 64):
            torch.testing.assert_close(
                tiled(net.forward_valid, padded, 5, tile), whole, rtol=0, atol=1e-5
            )


def test_tiles_with_scaled_output() -> None:
    def upsample_valid(x: torch.Tensor) -> torch.Tensor:  # context 3, output scale 2
        return x[..., 1:-1, 1:-1].repeat_interleave(2, -1).repeat_interleave(2, -2)

    padded = torch.rand(1, 1, 12, 10)
    expected = upsample_valid(padded)
    torch.testing.assert_close(tiled(upsample_valid, padded, 3, 4, scale=2), expected)


def test_channel_matching_round_trips() -> None:
    grey, rgb = torch.rand(2, 1, 4, 5), torch.rand(2, 3, 4, 5)
    assert match_channels(grey, 3).shape == (2, 3, 4, 5)
    torch.testing.assert_close(restore_channels(match_channels(grey, 3), 1), grey)
    assert match_channels(rgb, 1).shape == (6, 1, 4, 5)
    torch.testing.assert_close(restore_channels(match_channels(rgb, 1), 3), rgb)
    with pytest.raises(InputError, match="4-channel"):
        match_channels(torch.rand(1, 4, 3, 3), 3)


def test_padding_refuses_images_too_small_to_mirror() -> None:
    assert pad_for_patches(torch.rand(1, 1, 5, 9), 9).shape == (1, 1, 13, 17)
    message = r"\(30x4\) is smaller than 5x5, the least for a net that reads 9x9"
    with pytest.raises(InputError, match=message):
        pad_for_patches(torch.rand(1, 1, 4, 30), 9)


@pytest.mark.parametrize("scale", [1, 2])
def test_tiled_whole_equals_whole_for_a_local_function(scale: int) -> None:
    """A function whose output reads at most ``margin`` pixels away tiles exactly."""
    image = torch.rand(2, 3, 37, 29)

    def blur_then_enlarge(x: Tensor) -> Tensor:
        # Replicate padding: a tile that meets the image border sees that border.
        blurred = torch.nn.functional.avg_pool2d(
            torch.nn.functional.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1
        )
        return blurred.repeat_interleave(scale, -2).repeat_interleave(scale, -1)

    whole = blur_then_enlarge(image)
    tiles = tiled_whole(blur_then_enlarge, image, margin=2, tile=8, scale=scale)
    torch.testing.assert_close(tiles, whole)
    torch.testing.assert_close(tiled_whole(blur_then_enlarge, image, 2, 64, scale), whole)
