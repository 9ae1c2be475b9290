import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import RNNPatch2Patch
from tests.models.test_rnn import every_window


def trained_looking(net: RNNPatch2Patch) -> RNNPatch2Patch:
    with torch.no_grad():  # a decoder that is not zero, so outputs differ from the input
        net.decoder.weight.normal_(0, 0.3)
        net.decoder.bias.normal_(0, 0.1)
    return net


def grid_average(net: RNNPatch2Patch, image: torch.Tensor) -> torch.Tensor:
    """Reference: restore every grid patch of (C, H, W) one by one and average per pixel."""
    p, stride = net.patch_size, net.stride
    total, count = torch.zeros_like(image), torch.zeros_like(image)
    for top in range(0, image.shape[-2] - p + 1, stride):
        for left in range(0, image.shape[-1] - p + 1, stride):
            restored = net(image[None, :, top : top + p, left : left + p])[0]
            total[:, top : top + p, left : left + p] += restored
            count[:, top : top + p, left : left + p] += 1
    q = p - 1
    return (total / count)[:, q:-q, q:-q]


@pytest.mark.parametrize(("stride", "residual"), [(1, True), (2, False), (3, True), (5, True)])
def test_whole_image_is_the_average_of_grid_patches(stride: int, residual: bool) -> None:
    net = trained_looking(RNNPatch2Patch(3, 5, latent=32, residual=residual, stride=stride))
    net.chunk_rows = 2  # several chunks, the last one partial
    image = torch.rand(1, 3, 23, 20)
    with torch.no_grad():
        whole = net.forward_valid(image)
        assert whole.shape == (1, 3, 23 - 8, 20 - 8)
        torch.testing.assert_close(whole[0], grid_average(net, image[0]), rtol=0, atol=1e-5)


def test_patches_start_as_the_input() -> None:
    net = RNNPatch2Patch(3, 7, latent=32)
    patches = every_window(torch.rand(3, 9, 9), 7)
    torch.testing.assert_close(net(patches), patches)


@pytest.mark.parametrize("stride", [1, 3])
def test_tiled_restoration_has_no_seams(stride: int) -> None:
    net = trained_looking(RNNPatch2Patch(3, 5, latent=32, stride=stride))
    image = torch.rand(1, 3, 40, 37)
    with torch.no_grad():
        whole = RestorationModule(net, tile_size=512).restore_once(image)
        # 10 is not a multiple of 3: the module rounds tiles down to the grid (9).
        tiles = RestorationModule(net, tile_size=10).restore_once(image)
    assert whole.shape == image.shape
    torch.testing.assert_close(tiles, whole, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"stride": 0}, "stride"), ({"stride": 6}, "stride"), ({"chunk_rows": 0}, "chunk_rows")],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RNNPatch2Patch(3, 5, latent=32, **kwargs)


def test_whole_image_form_trains() -> None:
    net = trained_looking(RNNPatch2Patch(3, 5, latent=32, stride=2))
    net.forward_valid(torch.rand(2, 3, 20, 20)).square().mean().backward()
    for parameter in (net.encoder.weight, net.recurrence.weight, net.decoder.weight):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0
