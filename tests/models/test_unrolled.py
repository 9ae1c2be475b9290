"""UnrolledDeconvolution: deconvolution around a learned prior, with the pair's kernel."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import convolve, dihedral, gaussian_kernel, undo_dihedral
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import UnrolledDeconvolution
from oneshot_lightning.models.nets.protocol import DegradationAware, restoration_net


def shake() -> torch.Tensor:
    """A one-sided 9x9 camera-shake kernel: no flip or transpose leaves it as it is."""
    kernel = torch.zeros(9, 9)
    for step in range(7):
        kernel[2 + step // 2, 1 + step] = 1.0 + 0.3 * step
    return kernel / kernel.sum()


def blurred_sample(kernel: torch.Tensor, size: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean), each (1, 3, size, size): a crop of the sample, blurred, noise 0.01."""
    clean = read_image(SAMPLE_IMAGE)[None, :, 100 : 100 + size, 150 : 150 + size]
    noise = 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(1))
    return convolve(clean, kernel) + noise, clean


def test_it_is_a_restoration_net_that_takes_the_degradation() -> None:
    net = UnrolledDeconvolution(width=4, iterations=1)
    assert restoration_net(net) is net
    assert isinstance(net, DegradationAware)


def test_patches_lose_their_margin() -> None:
    net = UnrolledDeconvolution(width=4, iterations=2, patch_size=40, margin=6)
    out = net(torch.rand(3, 3, 40, 40))
    assert out.shape == (3, 3, 28, 28)
    out.mean().backward()
    assert net.log_penalty.grad is not None


def test_the_untrained_net_already_deconvolves() -> None:
    kernel = shake()
    degraded, clean = blurred_sample(kernel)
    net = UnrolledDeconvolution(width=4, iterations=2, kernel_size=15)
    net.set_degradation(kernel, 0.01)
    with torch.no_grad():
        restored = RestorationModule(net).restore(degraded)
    gain = psnr(restored, clean, border=12) - psnr(degraded.clamp(0, 1), clean, border=12)
    assert gain > 2.0


def test_the_kernel_turns_with_the_view() -> None:
    """A flipped image was blurred by the flipped kernel: every view restores the same.

    Up to the boundary handling (the FFT grid is padded at the bottom and right only); the
    kernel left unturned would be off by far more.
    """
    kernel = shake()
    degraded, _ = blurred_sample(kernel, 64)
    net = UnrolledDeconvolution(width=4, iterations=1, kernel_size=15)
    net.set_degradation(kernel, 0.01)
    with torch.no_grad():
        plain = net.restore(degraded)
        for index in range(1, 8):
            net.set_view(index)
            seen = undo_dihedral(net.restore(dihedral(degraded, index)), index)
            difference = (seen - plain).abs()
            assert difference.mean() < 2e-3 and difference[..., 12:-12, 12:-12].max() < 1e-2
        net.set_view(0)
        unturned = undo_dihedral(net.restore(dihedral(degraded, 1)), 1)
        assert (unturned - plain).abs()[..., 12:-12, 12:-12].max() > 0.1


def test_tiles_nearly_agree_where_they_meet() -> None:
    kernel = shake()
    degraded, _ = blurred_sample(kernel, 128)
    net = UnrolledDeconvolution(width=4, iterations=1, kernel_size=15)
    net.set_degradation(kernel, 0.01)
    with torch.no_grad():
        whole = RestorationModule(net, tile_size=1024).restore_once(degraded)
        tiles = RestorationModule(net, tile_size=40).restore_once(degraded)
    difference = (tiles - whole).abs()
    assert whole.shape == degraded.shape
    assert difference.mean() < 0.5 / 255 and difference.max() < 12 / 255
    torch.testing.assert_close(whole, net.restore(degraded))  # one tile: the image whole


def test_a_kernel_larger_than_its_room_names_the_setting() -> None:
    net = UnrolledDeconvolution(width=4, kernel_size=7)
    with pytest.raises(InputError, match=r"net\.kernel_size 7"):
        net.set_degradation(gaussian_kernel(9, 1.5), 0.01)


def test_bad_settings_name_the_flag() -> None:
    with pytest.raises(InputError, match=r"net\.kernel_size"):
        UnrolledDeconvolution(kernel_size=8)
    with pytest.raises(InputError, match=r"twice net\.margin"):
        UnrolledDeconvolution(patch_size=32, margin=16)


def test_fit_hands_the_pair_kernel_to_the_net(tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    config = Path(__file__).parents[1] / "conf" / "deblur_tiny.yaml"
    cli("fit", "--config", config, "--trainer.default_root_dir", run)
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    held = checkpoint["state_dict"]["net.kernel"]
    # deblur_tiny.yaml: Gaussian sigma 1.2 in a 9x9 window, centred in a 15x15 room.
    torch.testing.assert_close(held[3:12, 3:12], gaussian_kernel(9, 1.2))
    assert held.sum().item() == pytest.approx(1.0)
