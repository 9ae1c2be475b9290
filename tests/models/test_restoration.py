import pytest
import torch

from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import RNNSparseCoder


def random_module(scale: int, self_ensemble: bool) -> RestorationModule:
    net = RNNSparseCoder(patch_size=5, latent=32, scale=scale)
    with torch.no_grad():
        net.decoder.weight.normal_(0, 0.3)
    return RestorationModule(net, self_ensemble=self_ensemble).eval()


@pytest.mark.parametrize("scale", [1, 2])
def test_self_ensemble_commutes_with_flips_and_transposes(scale: int) -> None:
    module = random_module(scale, self_ensemble=True)
    image = torch.rand(1, 3, 14, 11) * 0.8
    with torch.no_grad():
        restored = module.restore(image)
        assert restored.shape == (1, 3, 14 * scale, 11 * scale)
        # Averaging over the whole group makes the result equivariant, exactly.
        torch.testing.assert_close(module.restore(image.flip(-1)), restored.flip(-1))
        torch.testing.assert_close(
            module.restore(image.transpose(-1, -2)), restored.transpose(-1, -2)
        )
        # ... which a single pass of a random net is not.
        single = random_module(scale, self_ensemble=False)
        single.load_state_dict(module.state_dict())
        plain = single.restore(image)
        assert (single.restore(image.flip(-1)) - plain.flip(-1)).abs().max() > 1e-3
        assert (restored - plain).abs().max() > 1e-4
