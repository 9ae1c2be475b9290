from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from oneshot_lightning.data.degradations import (
    DefocusBlur,
    Degradation,
    GaussianBlur,
    KernelBlur,
    KernelDownscale,
    load_kernel,
)
from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import (
    Downscaling,
    bicubic_downscale,
    gaussian_kernel,
    kernel_downscale,
    resize_kernel,
)


def test_blur_keeps_a_constant_image_constant() -> None:
    image = torch.full((1, 3, 16, 16), 0.3)
    torch.testing.assert_close(GaussianBlur(1.6, 15)(image), image)


def test_kernel_from_npy_and_png(tmp_path: Path) -> None:
    kernel = np.zeros((5, 5))
    kernel[2, 1:4] = [1.0, 2.0, 1.0]
    np.save(tmp_path / "k.npy", kernel)
    Image.fromarray((kernel * 100).astype(np.uint8)).save(tmp_path / "k.png")
    for path in (tmp_path / "k.npy", tmp_path / "k.png"):
        loaded = load_kernel(path)
        torch.testing.assert_close(loaded, torch.from_numpy(kernel / 4).float(), atol=1e-6, rtol=0)
    assert KernelBlur(str(tmp_path / "k.npy")).kernel.shape == (5, 5)
    np.save(tmp_path / "neg.npy", -kernel)
    with pytest.raises(InputError, match="non-negative"):
        load_kernel(tmp_path / "neg.npy")
    with pytest.raises(InputError, match="not found"):
        load_kernel(tmp_path / "none.npy")


def test_noise_is_seeded_with_the_requested_sigma() -> None:
    degrade = Degradation(noise_sigma=0.05, quantize=False)
    clean = torch.full((1, 3, 128, 128), 0.5)
    first = degrade(clean, torch.Generator().manual_seed(1))
    again = degrade(clean, torch.Generator().manual_seed(1))
    other = degrade(clean, torch.Generator().manual_seed(2))
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)
    assert (first - clean).std().item() == pytest.approx(0.05, rel=0.03)


def test_negative_noise_is_refused() -> None:
    with pytest.raises(InputError, match="noise_sigma"):
        Degradation(noise_sigma=-0.1)


def test_camera_chain_blurs_adds_shot_noise_and_saves_jpeg() -> None:
    clean = read_image(SAMPLE_IMAGE)[None, :, :96, :96]
    chain = Degradation(DefocusBlur(3.0), noise_sigma=0.002, poisson_peak=300, jpeg_quality=85)
    degraded = chain(clean, torch.Generator().manual_seed(3))
    assert degraded.shape == clean.shape
    # JPEG output is 8-bit, and seeded noise is reproducible.
    torch.testing.assert_close(degraded * 255, (degraded * 255).round(), atol=1e-4, rtol=0)
    assert torch.equal(degraded, chain(clean, torch.Generator().manual_seed(3)))
    # Shot noise is stronger in bright regions than in dark ones.
    residual = degraded - chain.blur(clean)
    bright = chain.blur(clean) > 0.7
    dark = chain.blur(clean) < 0.2
    assert residual[bright].std() > residual[dark].std()


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"poisson_peak": 0.0}, "poisson_peak"), ({"jpeg_quality": 100}, "jpeg_quality")],
)
def test_bad_camera_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Degradation(**settings)


def test_kernel_downscale_reads_a_kernel_or_estimates_it_from_the_photo(tmp_path: Path) -> None:
    kernel = gaussian_kernel(11, 1.5)
    np.save(tmp_path / "k.npy", kernel.double().numpy())
    known = Degradation(downscale=KernelDownscale(str(tmp_path / "k.npy")), quantize=False)
    clean = read_image(SAMPLE_IMAGE)[None, :, :64, :64]
    expected = kernel_downscale(clean, kernel, 2)  # odd: a zero row and column added
    assert torch.allclose(known(clean, scale=2), expected.clamp(0, 1), atol=1e-6)
    known.fit_to(clean[0], 2)  # a given kernel is kept
    assert known.downscale is not None and known.downscale.found is not None
    assert torch.allclose(known.downscale.found.kernel, kernel)
    assert known.downscale.source == f"read from {tmp_path / 'k.npy'}"
    blind = Degradation(downscale=KernelDownscale())
    with pytest.raises(InputError, match=r"give data\.input alone"):
        blind(clean, scale=2)
    blind.fit_to(read_image(SAMPLE_IMAGE), 2)
    assert blind.downscale is not None and blind.downscale.found is not None
    assert blind.downscale.found.kernel.shape == (16, 16)
    assert blind.downscale.source.startswith("estimated from")


def test_kernel_downscale_by_a_named_routine_is_that_routine() -> None:
    clean = read_image(SAMPLE_IMAGE)[None, :, :64, :64]
    matlab = Degradation(downscale=KernelDownscale(routine="bicubic"), quantize=False)
    assert torch.allclose(
        matlab(clean, scale=2), bicubic_downscale(clean, 2).clamp(0, 1), atol=1e-5
    )
    opencv = KernelDownscale(routine="cubic_sampled")
    assert torch.allclose(
        opencv(clean, 2), kernel_downscale(clean, resize_kernel("cubic_sampled", 2), 2)
    )
    assert Degradation(downscale=KernelDownscale(routine="bicubic")).alternatives() == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"path": "k.npy", "routine": "bicubic"}, "both name the kernel"),
        ({"routine": "spline"}, "routine must be one of bicubic"),
    ],
)
def test_kernel_downscale_refuses_a_double_or_unknown_kernel(settings, message) -> None:
    with pytest.raises(InputError, match=message):
        KernelDownscale(**settings)


def test_a_photo_not_told_apart_makes_a_degradation_per_alternative() -> None:
    downscale = KernelDownscale()
    downscale.found = Downscaling(
        resize_kernel("cubic_sampled", 2),
        2,
        "not told apart",
        "cubic_sampled",
        0,
        ("box", "nearest_middle"),
    )
    degradation = Degradation(downscale=downscale, noise_sigma=0.01)
    others = degradation.alternatives()
    assert [d.downscale.routine for d in others if d.downscale] == ["box", "nearest_middle"]
    assert all(other.noise_sigma == 0.01 for other in others)
    clean = read_image(SAMPLE_IMAGE)[None, :, :64, :64]
    box = kernel_downscale(clean, resize_kernel("box", 2), 2)
    assert others[0].downscale is not None
    assert torch.allclose(others[0].downscale(clean, 2), box)
