"""Every net's whole-image form equals its patch path; super-resolution starts at bicubic."""

import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.patches import center_crop
from oneshot_lightning.functional.resize import bicubic_upscale
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import BicubicInput, RNNPatch2Patch, RNNSparseCoder, UNet
from tests.models.test_rnn import every_window


def randomise_decoder(net: RNNSparseCoder) -> None:
    with torch.no_grad():
        net.decoder.weight.normal_(0, 0.3)
        net.decoder.bias.normal_(0, 0.1)


def patchwise(net: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Run ``net`` window by window on (C, H, W) and tile the centre sub-pixels."""
    s, p = net.scale, net.patch_size
    rows, cols = image.shape[-2] - p + 1, image.shape[-1] - p + 1
    out = center_crop(net(every_window(image, p)), s)  # (N, C, s, s)
    out = out.view(rows, cols, image.shape[0], s, s).permute(2, 0, 3, 1, 4)
    return out.reshape(image.shape[0], rows * s, cols * s)


@pytest.mark.parametrize(("scale", "residual"), [(2, True), (3, False), (4, True)])
def test_pixel_shuffle_rnn_whole_image_equals_patches(scale: int, residual: bool) -> None:
    net = RNNSparseCoder(3, 7, latent=48, residual=residual, band_rows=3, scale=scale)
    randomise_decoder(net)
    image = torch.rand(1, 3, 15, 12)
    with torch.no_grad():
        whole = net.forward_valid(image)
        assert whole.shape == (1, 3, 9 * scale, 6 * scale)
        torch.testing.assert_close(whole[0], patchwise(net, image[0]), rtol=0, atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3])
def test_bicubic_input_whole_image_equals_patches(scale: int) -> None:
    inner = RNNSparseCoder(3, 7, latent=48, band_rows=5)
    randomise_decoder(inner)
    net = BicubicInput(inner, scale)
    image = torch.rand(1, 3, 16, 14)
    with torch.no_grad():
        whole = net.forward_valid(image)
        rows, cols = 16 - net.patch_size + 1, 14 - net.patch_size + 1
        assert whole.shape == (1, 3, rows * scale, cols * scale)
        torch.testing.assert_close(whole[0], patchwise(net, image[0]), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "net", [RNNSparseCoder(3, 7, 48, scale=2), BicubicInput(RNNSparseCoder(3, 7, 48), 2)]
)
def test_untrained_sr_nets_give_bicubic_upscaling(net: torch.nn.Module) -> None:
    image = torch.rand(1, 3, 24, 24, dtype=torch.float64)
    net = net.double()
    with torch.no_grad():
        out = net.forward_valid(image)
    margin = net.patch_size // 2
    expected = bicubic_upscale(image, 2)[..., 2 * margin : -2 * margin, 2 * margin : -2 * margin]
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("inner", [RNNPatch2Patch(3, 5, latent=32), UNet(width=4)])
def test_bicubic_input_needs_a_patch2pixel_net(inner: torch.nn.Module) -> None:
    with pytest.raises(InputError, match="Patch2Pixel"):
        BicubicInput(inner, scale=2)


def test_a_net_without_the_interface_is_refused() -> None:
    with pytest.raises(InputError, match="lacks channels, patch_size, context"):
        RestorationModule(torch.nn.Conv2d(3, 3, 3))
