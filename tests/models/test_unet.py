import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import UNet


def randomise_head(net: UNet) -> UNet:
    with torch.no_grad():
        net.head.weight.normal_(0, 0.1)
    return net


def test_patch_shapes_and_identity_start() -> None:
    net = UNet(width=8, depth=2, patch_size=20, margin=4)
    patches = torch.rand(5, 3, 20, 20)
    out = net(patches)
    assert out.shape == (5, 3, 12, 12)
    torch.testing.assert_close(out, patches[..., 4:-4, 4:-4])


@pytest.mark.parametrize("size", [(21, 19), (16, 16), (9, 30)])
def test_any_patch_size(size: tuple[int, int]) -> None:
    net = randomise_head(UNet(width=8, depth=3, margin=2, patch_size=8))
    out = net(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, size[0] - 4, size[1] - 4)
    out.mean().backward()
    assert net.encoders[0][0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("depth", [1, 2])
def test_tiled_restoration_has_no_seams(depth: int) -> None:
    net = randomise_head(UNet(width=4, depth=depth, margin=2, patch_size=8))
    image = torch.rand(1, 3, 70, 61)
    with torch.no_grad():
        whole = RestorationModule(net, tile_size=512).restore_once(image)
        tiles = RestorationModule(net, tile_size=18).restore_once(image)  # rounded to the grid
        assert whole.shape == image.shape
        torch.testing.assert_close(tiles, whole, rtol=0, atol=1e-5)
        # One pixel less of overlap than the receptive radius, and the seams show.
        net.radius -= 1
        net.context -= 2
        assert (RestorationModule(net, tile_size=18).restore_once(image) - whole).abs().max() > 1e-4


def test_bad_settings() -> None:
    with pytest.raises(InputError, match="twice net\\.margin"):
        UNet(patch_size=16, margin=8)
    with pytest.raises(InputError, match="positive"):
        UNet(depth=0)


def test_tiles_off_the_pooling_grid_would_show_seams() -> None:
    net = randomise_head(UNet(width=4, depth=2, margin=2, patch_size=8))
    image = torch.rand(1, 3, 70, 61)
    with torch.no_grad():
        whole = RestorationModule(net, tile_size=512).restore_once(image)
        net.stride = 1  # let tiles start off the 4-pixel pooling grid
        tiles = RestorationModule(net, tile_size=18).restore_once(image)
    assert (tiles - whole).abs().max() > 1e-4
