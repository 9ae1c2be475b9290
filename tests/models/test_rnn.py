import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.patches import extract_patches
from oneshot_lightning.models.nets import RNNSparseCoder


def every_window(image: torch.Tensor, size: int) -> torch.Tensor:
    """All (size x size) windows of (C, H, W), row-major: (N, C, size, size)."""
    rows, cols = image.shape[-2] - size + 1, image.shape[-1] - size + 1
    top, left = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    return extract_patches(image, top.flatten(), left.flatten(), size)


@pytest.mark.parametrize(
    ("channels", "patch_size", "band_rows", "residual"),
    [(3, 7, 4, False), (3, 15, 16, True), (1, 5, 3, True)],
)
def test_fully_convolutional_form_equals_patch_path(
    channels: int, patch_size: int, band_rows: int, residual: bool
) -> None:
    net = RNNSparseCoder(channels, patch_size, latent=64, residual=residual, band_rows=band_rows)
    with torch.no_grad():  # a decoder that is not zero and a non-trivial threshold
        net.decoder.weight.normal_(0, 0.3)
        net.decoder.bias.normal_(0, 0.1)
        net.encoder.bias.normal_(0, 0.1)
    image = torch.rand(2, channels, 33, 29)  # 33 - p + 1 rows: not a multiple of band_rows
    with torch.no_grad():
        whole = net.forward_valid(image)
        rows, cols = whole.shape[-2:]
        for index in range(2):
            patches = net(every_window(image[index], patch_size))  # (N, C, 1, 1)
            expected = patches[:, :, 0, 0].T.reshape(channels, rows, cols)
            torch.testing.assert_close(whole[index], expected, rtol=0, atol=1e-5)


def test_patch_path_shapes_and_gradients() -> None:
    net = RNNSparseCoder(patch_size=5, latent=32)
    torch.nn.init.normal_(net.decoder.weight, std=0.1)  # the zero start blocks gradients below it
    patches = torch.rand(8, 3, 5, 5)
    out = net(patches)
    assert out.shape == (8, 3, 1, 1)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


def test_decoder_starts_at_zero_so_the_residual_net_starts_as_identity() -> None:
    net = RNNSparseCoder(patch_size=5, latent=32)
    patches = torch.rand(4, 3, 5, 5)
    torch.testing.assert_close(net(patches)[:, :, 0, 0], patches[:, :, 2, 2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"patch_size": 8}, "odd"),
        ({"latent": 10}, "over-complete"),
        ({"band_rows": 0}, "band_rows"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        RNNSparseCoder(**kwargs)


def test_image_smaller_than_a_patch() -> None:
    with pytest.raises(InputError, match="smaller than one 11x11 patch"):
        RNNSparseCoder().forward_valid(torch.rand(1, 3, 10, 40))
