"""The contract every restoration net keeps, checked on every net and every shipped config.

A new net class in ``oneshot_lightning.models.nets`` (or a new file in ``configs/``) gets these
tests for free: its default settings are a case (nets that wrap another net say how to build
one in ``WRAPPERS``). The contract: it starts as the identity (super-resolution: bicubic
upscaling), restores tiles exactly as the whole image (nets whose FFT couples the whole image:
nearly), reads no input further than its declared ``context``, restores grey and RGB images of
odd sizes, trains (a finite loss whose gradient reaches its weights), and exports to a
TorchScript graph that restores as the module does.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

import oneshot_lightning.models.nets as nets
from oneshot_lightning.api import model_from_config
from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.export import GraphRestorer, to_torchscript
from oneshot_lightning.functional import bicubic_upscale, gaussian_kernel
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import DegradationAware, RestorationNet, WholeImageNet
from oneshot_lightning.models.whole_image import restore, restore_once

ROOT = Path(__file__).resolve().parents[2]
#: Nets that take another net: how to build one for the contract.
WRAPPERS: dict[type, Callable[[], nn.Module]] = {
    nets.BicubicInput: lambda: nets.BicubicInput(nets.RNNSparseCoder(3, 7, 48), 2),
    nets.ClippingBlend: lambda: nets.ClippingBlend(nets.DenoisingUNet(), nets.DenoisingUNet(), 0.1),
}
#: Exported nets reproduce the module within this (float32 graphs, another operator order).
EXPORT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Case:
    """One model under contract: how to build it fresh."""

    name: str
    make: Callable[[], RestorationModule]

    def build(self) -> RestorationModule:
        """A fresh copy of the model (parsing a config takes a second: done once per case)."""
        return copy.deepcopy(built(self))


@functools.cache
def built(case: Case) -> RestorationModule:
    return case.make()


def net_classes() -> list[type]:
    """Every restoration net class the package offers (discriminators are not)."""
    found = []
    for name in nets.__all__:
        member = getattr(nets, name)
        # A restoration net restores whole images through forward_valid; a discriminator not.
        if (
            inspect.isclass(member)
            and issubclass(member, nn.Module)
            and hasattr(member, "forward_valid")
        ):
            found.append(member)
    return found


def default_net(net_class: type) -> nn.Module:
    """``net_class`` with its default settings, or as ``WRAPPERS`` builds it."""
    if net_class in WRAPPERS:
        return WRAPPERS[net_class]()
    return net_class()


CASES = [
    Case(f"config:{path.stem}", lambda path=path: model_from_config(path))
    for path in sorted((ROOT / "configs").glob("*.yaml"))
] + [
    Case(f"net:{net_class.__name__}", lambda c=net_class: RestorationModule(default_net(c)))
    for net_class in net_classes()
]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


def sample(channels: int, height: int, width: int) -> torch.Tensor:
    """A (1, C, H, W) crop of the bundled photo (256 x 256): real image statistics."""
    photo = read_image(SAMPLE_IMAGE)
    top, left = min(50, photo.shape[-2] - height), min(40, photo.shape[-1] - width)
    image = photo[:, top : top + height, left : left + width][None]
    assert image.shape[-2:] == (height, width)
    return image if channels == 3 else image.mean(1, keepdim=True)


def moved_off_start(module: RestorationModule) -> RestorationModule:
    """``module`` with every weight moved off its start (zero decoders hide errors), blur set."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in module.parameters():
            weight.add_(0.02 * torch.randn(weight.shape, generator=generator))
    for part in module.modules():
        if isinstance(part, DegradationAware):
            part.set_degradation(gaussian_kernel(9, 1.5), 0.01)
    return module.eval()


def couples_whole_image(net: RestorationNet) -> bool:
    """Nets whose restoration of a tile depends (faintly) on everything in it: the FFT nets."""
    return isinstance(net, WholeImageNet) and isinstance(net, DegradationAware)


class TestRestorationContract:
    def test_it_offers_the_restoration_net_protocol(self, case: Case) -> None:
        module = case.build()
        assert isinstance(module.net, RestorationNet)
        assert module.net.context % 2 == 1 and module.net.context >= 1
        assert module.net.scale >= 1 and module.net.stride >= 1 and module.net.channels >= 1

    def test_it_starts_as_the_identity_or_bicubic_upscaling(self, case: Case) -> None:
        net = case.build().net
        image = sample(net.channels, 61, 53)
        with torch.no_grad():
            restored = restore(image, net)
        scale = net.scale
        expected = image if scale == 1 else bicubic_upscale(image, scale).clamp(0, 1)
        # Borders are mirrored by the net's padding, not by bicubic's: compare the inside.
        inside = min(net.context * scale, 15)
        difference = (restored - expected)[..., inside:-inside, inside:-inside].abs().max()
        # An FFT net starts as its deconvolution with the identity kernel, not exactly as it.
        assert difference <= (2e-3 if couples_whole_image(net) else 1e-5)

    def test_tiles_restore_as_the_whole_image(self, case: Case) -> None:
        module = moved_off_start(case.build())
        image = sample(module.net.channels, 45, 39)
        stride = module.net.stride
        with torch.no_grad():
            module.tile_size = 1 << 20
            whole = module.restore_once(image)
            module.tile_size = max(stride, 16 - 16 % stride)
            tiles = module.restore_once(image)
        assert whole.shape == tiles.shape
        difference = (tiles - whole).abs()
        if couples_whole_image(module.net):
            assert difference.mean() < 0.5 / 255 and difference.max() < 12 / 255
        else:
            assert difference.max() < 1e-5

    def test_no_output_reads_beyond_the_declared_context(self, case: Case) -> None:
        module = moved_off_start(case.build())
        net = module.net
        if couples_whole_image(net):
            pytest.skip("an FFT net reads the whole tile; its context is the tiles' margin")
        radius, scale = net.context // 2, net.scale
        side = min(2 * net.context + 9, 161)
        image = sample(net.channels, side, side)
        changed = image.clone()
        row = col = side // 2
        changed[..., row, col] += 0.5
        tile = module.tile_size
        with torch.no_grad():  # the net alone: a first stage deconvolves the whole image
            difference = (
                restore_once(changed, net, None, tile) - restore_once(image, net, None, tile)
            ).abs()
        reached = torch.nonzero(difference.amax((0, 1)) > 1e-6)
        assert len(reached) > 0, "the change reached no output"
        low, high = scale * (row - radius), scale * (row + radius) + scale - 1
        assert reached.min() >= low and reached.max() <= high

    @pytest.mark.parametrize("size", [(37, 29), (30, 45)])
    def test_grey_and_rgb_images_of_any_size(self, case: Case, size: tuple[int, int]) -> None:
        module = moved_off_start(case.build())
        # predict restores images of at least one patch; whole-image nets any size.
        height, width = max(size[0], module.patch_size), max(size[1], module.patch_size + 2)
        rgb, grey = sample(3, height, width), sample(1, height, width)
        scale = module.scale
        with torch.no_grad():
            restored_rgb, restored_grey = module.restore(rgb), module.restore(grey)
            # Before clipping: grey through an RGB net is replicated, then averaged; RGB
            # through a grey net goes channel by channel.
            once = module.restore_once
            if module.net.channels == 3:
                got, expected = once(grey), once(grey.expand(-1, 3, -1, -1)).mean(1, keepdim=True)
            else:
                got, expected = once(rgb), torch.cat([once(rgb[:, [c]]) for c in range(3)], 1)
        assert restored_rgb.shape == (1, 3, scale * height, scale * width)
        assert restored_grey.shape == (1, 1, scale * height, scale * width)
        assert float(restored_rgb.min()) >= 0 and float(restored_rgb.max()) <= 1
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)

    def test_one_training_step_reaches_the_weights(self, case: Case) -> None:
        module = moved_off_start(case.build()).train()
        patch, scale = module.patch_size, module.net.scale
        generator = torch.Generator().manual_seed(1)
        channels = module.net.channels
        clean = torch.rand(4, channels, scale * patch, scale * patch, generator=generator)
        # Noisy crops of a photo: a loss may count only pixels far from clipping (adapt mode).
        photo = sample(channels, patch, patch).expand(4, -1, -1, -1)
        noise = 0.05 * torch.randn(photo.shape, generator=generator)
        degraded = (photo + noise).clamp(0, 1)
        loss = module.patch_loss(degraded, clean)
        loss.backward()
        assert torch.isfinite(loss)
        grads = [p.grad for p in module.net.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert any(float(g.abs().max()) > 0 for g in grads if g is not None)

    def test_torchscript_restores_as_the_module(self, case: Case, tmp_path: Path) -> None:
        module = moved_off_start(case.build())
        module.back_projection = 0  # a graph cannot back-project (export refuses such models)
        graph = GraphRestorer(module)
        run = to_torchscript(graph, tmp_path / "model.pt")
        side = graph.smallest_side
        image = sample(module.net.channels, side + 3, side + 10)
        with torch.no_grad():
            expected = module.restore(image)
        torch.testing.assert_close(run(image), expected, rtol=0, atol=EXPORT_TOLERANCE)


def test_the_cases_cover_every_net_and_config() -> None:
    names = {case.name for case in CASES}
    configs = {f"config:{path.stem}" for path in (ROOT / "configs").glob("*.yaml")}
    assert configs <= names and len(configs) >= 15
    for net_class in net_classes():
        assert f"net:{net_class.__name__}" in names
    assert "net:PatchDiscriminator" not in names  # a discriminator restores nothing
