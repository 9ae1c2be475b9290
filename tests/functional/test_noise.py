import pytest
import torch

from oneshot_lightning.functional import add_poisson_noise


def test_poisson_noise_grows_with_the_signal() -> None:
    generator = torch.Generator().manual_seed(0)
    levels = torch.tensor([0.1, 0.4, 0.9])[:, None].expand(3, 20000)
    noisy = add_poisson_noise(levels, peak=200.0, generator=generator)
    torch.testing.assert_close(noisy.mean(1), levels[:, 0], atol=0.01, rtol=0)
    expected = (levels[:, 0] / 200.0).sqrt()
    torch.testing.assert_close(noisy.std(1), expected, rtol=0.05, atol=0)
    again = add_poisson_noise(levels, 200.0, torch.Generator().manual_seed(0))
    assert torch.equal(noisy, again)


def test_poisson_noise_of_black_is_black() -> None:
    assert torch.equal(add_poisson_noise(torch.zeros(4, 4), 50.0), torch.zeros(4, 4))


@pytest.mark.parametrize("peak", [1e6])
def test_many_photons_leave_the_image_nearly_clean(peak: float) -> None:
    image = torch.rand(64, 64)
    assert (add_poisson_noise(image, peak) - image).abs().max() < 0.01
