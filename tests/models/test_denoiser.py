"""DenoisingUNet: identity at the start, any image size, the receptive radius it declares."""

from __future__ import annotations

import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import DenoisingUNet, RestorationNet, WholeImageNet


def randomised(net: DenoisingUNet) -> DenoisingUNet:
    """The net with a non-zero last layer, so its output depends on its input."""
    with torch.no_grad():
        net.tail.weight.normal_(0, 0.05)
    return net.eval()


def test_untrained_net_is_the_identity_and_keeps_any_size() -> None:
    net = DenoisingUNet(channels=3, widths=(8, 16), blocks=1, patch_size=16)
    assert isinstance(net, RestorationNet) and isinstance(net, WholeImageNet)
    for shape in [(2, 3, 16, 16), (1, 3, 37, 50), (1, 3, 5, 3)]:
        image = torch.rand(shape)
        with torch.no_grad():
            torch.testing.assert_close(net.restore(image), image, rtol=0, atol=0)


def test_each_output_reads_no_further_than_the_declared_radius() -> None:
    torch.manual_seed(0)
    net = randomised(DenoisingUNet(channels=1, widths=(4, 8, 8), blocks=1, patch_size=16))
    side = 4 * net.radius  # a multiple of 8: no padding that would mirror the change
    image = torch.rand(1, 1, side, side)
    changed = image.clone()
    changed[..., 0, 0] += 1.0
    with torch.no_grad():
        difference = (net.restore(changed) - net.restore(image)).abs()[0, 0]
    reached = torch.nonzero(difference > 0)
    assert reached.max() <= net.radius  # the declared bound holds
    assert reached.max() > net.radius // 2  # and is not loose by more than twice


def test_training_and_whole_image_forms_agree_on_shapes() -> None:
    net = DenoisingUNet(channels=3, widths=(8, 16), blocks=1, patch_size=16, margin=2)
    with torch.no_grad():
        assert net(torch.rand(4, 3, 16, 16)).shape == (4, 3, 12, 12)
        r = net.context // 2
        assert net.forward_valid(torch.rand(1, 3, 10 + 2 * r, 7 + 2 * r)).shape == (1, 3, 10, 7)


def test_module_restores_tiles_that_match_the_whole_image() -> None:
    torch.manual_seed(0)
    net = randomised(DenoisingUNet(channels=3, widths=(4, 8), blocks=1, patch_size=16))
    whole = RestorationModule(net, tile_size=1024).eval()
    tiled = RestorationModule(net, tile_size=32).eval()
    image = torch.rand(1, 3, 70, 90)
    with torch.no_grad():
        torch.testing.assert_close(tiled.restore(image), whole.restore(image), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"patch_size": 20}, "net.patch_size 20 must be a multiple of 8"),
        ({"widths": ()}, "net.widths"),
        ({"blocks": 0}, "net.blocks"),
        ({"patch_size": 16, "margin": 8}, "net.margin"),
    ],
)
def test_bad_settings_name_the_flag(kwargs: dict, names: str) -> None:
    with pytest.raises(InputError, match=names):
        DenoisingUNet(**{"widths": (8, 16, 16), **kwargs})
