import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.models.nets import PatchDiscriminator


@pytest.mark.parametrize(("layers", "side"), [(1, 8), (2, 4), (3, 2)])
def test_one_logit_per_region(layers: int, side: int) -> None:
    net = PatchDiscriminator(channels=3, width=8, layers=layers)
    assert net(torch.rand(4, 3, 16, 16)).shape == (4, 1, side, side)


def test_spectral_norm_bounds_each_layer() -> None:
    net = PatchDiscriminator(width=8)
    for _ in range(20):  # power iterations run in training mode
        net(torch.rand(2, 3, 16, 16))
    for layer in net.layers:
        if isinstance(layer, torch.nn.Conv2d):
            sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2)
            assert sigma < 1.05


def test_bad_settings() -> None:
    with pytest.raises(InputError, match="positive"):
        PatchDiscriminator(layers=0)
