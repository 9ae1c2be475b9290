import pytest
import torch

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import Downscaling, back_project, bicubic_kernel
from oneshot_lightning.hand_over import TrainingPair
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


def test_passes_restore_on_the_last_output_then_back_project() -> None:
    """Gradual super-resolution: a x2 net twice is x4, each pass read from the last output."""
    net = RNNSparseCoder(patch_size=5, latent=32, scale=2)
    with torch.no_grad():
        net.decoder.weight.normal_(0, 0.3)
    module = RestorationModule(net, passes=2, back_projection=3).eval()
    assert module.scale == 4
    image = torch.rand(1, 3, 9, 13) * 0.8
    with torch.no_grad():
        once = RestorationModule(net).eval().restore(image)
        twice = RestorationModule(net).eval().restore_once(once)  # clipped at the very end
        expected = back_project(twice, image, 4, 3).clamp(0, 1)
        torch.testing.assert_close(module.restore(image), expected)
        # Validation scores the step that trains: one pass, no back-projection.
        torch.testing.assert_close(module.restore_step(image), once)


@pytest.mark.parametrize(
    ("settings", "flag"),
    [
        ({"back_projection": 2}, "model.back_projection"),
        ({"passes": 2}, "model.passes"),
        ({"back_projection": -1, "scale": 2}, "model.back_projection"),
        ({"overshoot_margin": -0.1}, "model.overshoot_margin"),
    ],
)
def test_settings_a_net_cannot_use_are_one_line(settings: dict[str, int], flag: str) -> None:
    net = RNNSparseCoder(patch_size=5, latent=32, scale=settings.pop("scale", 1))
    with pytest.raises(InputError, match=flag):
        RestorationModule(net, **settings)


@pytest.mark.parametrize(("safe", "expected"), [(None, 16), (4, 4), (0, 0), (32, 16)])
def test_a_kernel_in_doubt_caps_the_back_projection(safe: int | None, expected: int) -> None:
    """The estimate says how many iterations its kernel is trusted for; the config, the most."""
    module = RestorationModule(RNNSparseCoder(patch_size=5, latent=32, scale=2), back_projection=16)
    kernel = bicubic_kernel(2)
    downscaling = Downscaling(kernel, 2, "a kernel", iterations=safe)
    pair = TrainingPair(torch.rand(3, 8, 8), torch.rand(3, 16, 16), 2, downscaling=downscaling)
    module.prepare(pair)
    assert module.back_projection == expected
    assert module.downscale_kernel is not None and torch.equal(module.downscale_kernel, kernel)
