"""A given pair's second shot undone before training, in the frame its blur kernel centres."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from benchmarks.chains import second_shot, similarity_warp
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.data.registration import KERNEL_SHIFT, register_pair
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import bicubic_downscale, convolve, gaussian_kernel, quantize
from oneshot_lightning.functional.alignment import kernel_centroid
from oneshot_lightning.functional.kernel_estimation import estimate_kernel
from oneshot_lightning.metrics import psnr


@pytest.fixture(scope="module")
def clean() -> torch.Tensor:
    return read_image(SAMPLE_IMAGE)


def noisy(image: torch.Tensor, seed: int = 0, sigma: float = 0.01) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return quantize(image + sigma * torch.randn(image.shape, generator=generator))


def off_centre_shake() -> torch.Tensor:
    """A 15x15 one-sided shake whose centre of mass is (3.5, 1.0) px right of and below centre."""
    kernel = torch.zeros(15, 15)
    for step in range(8):
        kernel[7 + step // 3, 7 + step] = 1.0
    return kernel / kernel.sum()


def test_a_second_shot_is_aligned_with_its_blur_centred(clean) -> None:
    blur = gaussian_kernel(15, 1.6)
    generator = torch.Generator().manual_seed(0)
    shot = second_shot(blur, 0.01, (2.3, -1.6), 0.5, 0.6, 0.03)(clean[None], generator)[0]
    degraded, aligned_clean, alignment, applied = register_pair(shot, clean)
    assert applied
    assert math.hypot(alignment.shift[0] - 2.3, alignment.shift[1] + 1.6) < 0.1
    assert abs(abs(alignment.rotation) - 0.5) < 0.02 and alignment.gain[0] == pytest.approx(
        0.6, rel=0.02
    )
    # What is left is the blur alone: as close to the aligned clean image blurred as a pair made
    # without the second shot is (the noise, 0.01 / 0.6 after re-exposure, bounds both).
    reblurred = convolve(aligned_clean[None], blur)
    assert psnr(degraded[None], reblurred, 8).item() > 34.0
    dx, dy = kernel_centroid(estimate_kernel(degraded, aligned_clean).kernel)
    assert math.hypot(dx, dy) < 0.15


def test_one_shot_with_an_off_centre_blur_is_left_as_it_is(clean) -> None:
    degraded = noisy(convolve(clean[None], off_centre_shake())[0])
    registration = register_pair(degraded, clean)
    assert not registration.applied
    assert registration.degraded is degraded and registration.clean is clean  # untouched
    # Measured through its blur, the pair shows no motion: the kernel holds the shift.
    assert registration.alignment.is_identity()
    assert 1.0 < math.hypot(*kernel_centroid(off_centre_shake())) < KERNEL_SHIFT


def test_a_shift_beyond_what_a_blur_explains_is_undone(clean) -> None:
    moved = similarity_warp(clean[None], (11.0, -4.0), 0.0)[0]
    degraded = noisy(convolve(moved[None], gaussian_kernel(9, 1.2))[0])
    degraded, aligned_clean, alignment, applied = register_pair(degraded, clean)
    assert applied and alignment.shift == pytest.approx((11.0, -4.0), abs=0.15)
    assert degraded.shape[-1] < clean.shape[-1]  # cropped to the overlap
    dx, dy = kernel_centroid(estimate_kernel(degraded, aligned_clean).kernel)
    assert math.hypot(dx, dy) < 0.15


def test_a_super_resolution_pair_is_aligned_in_the_downscaling_s_frame(clean) -> None:
    moved = similarity_warp(clean[None], (1.5, 1.0), 0.0)
    low = noisy(bicubic_downscale(moved, 2)[0], sigma=0.005)
    degraded, aligned_clean, alignment, applied = register_pair(low, clean, 2)
    assert applied and alignment.shift == pytest.approx((0.75, 0.5), abs=0.1)
    assert aligned_clean.shape[-2:] == (2 * degraded.shape[-2], 2 * degraded.shape[-1])
    expected = bicubic_downscale(aligned_clean[None], 2)
    assert psnr(degraded[None], expected, 4).item() > 38.0


def test_two_different_scenes_are_refused_naming_the_flag(clean) -> None:
    other = read_image(SAMPLE_IMAGE.parent / "coffee.png")
    with pytest.raises(InputError, match=r"--data\.align false"):
        register_pair(noisy(other), clean[:, :192, :192])


def test_fit_aligns_the_pair_says_so_and_saves_it(tmp_path: Path, cli, capsys) -> None:
    clean = read_image(SAMPLE_IMAGE)
    generator = torch.Generator().manual_seed(0)
    shot = second_shot(gaussian_kernel(15, 1.6), 0.01, (2.3, -1.6), 0.5, 0.6, 0.03)
    pair = write_image(tmp_path / "in.png", shot(clean[None], generator)[0])
    run = tmp_path / "run"
    cli("fit", "--config", Path(__file__).parents[1] / "conf" / "rnn_tiny.yaml",
        "--data.input", pair, "--data.target", SAMPLE_IMAGE,
        "--trainer.default_root_dir", run, "--trainer.max_epochs", 1)  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if "pair aligned" in line]
    assert len(lines) == 1 and "gain 0.60" in lines[0] and "(+2.30, -1.60) px" in lines[0]
    import json

    saved = json.loads((run / "alignment.json").read_text())
    assert saved["aligned"] and saved["gain"][0] == pytest.approx(0.6, rel=0.02)


def test_fit_on_two_scenes_stops_in_one_line(tmp_path: Path, cli, capsys) -> None:
    coffee = read_image(SAMPLE_IMAGE.parent / "coffee.png")
    pair = [write_image(tmp_path / "in.png", coffee),
            write_image(tmp_path / "gt.png", read_image(SAMPLE_IMAGE)[:, :192, :192])]  # fmt: skip
    args = ["fit", "--config", Path(__file__).parents[1] / "conf" / "rnn_tiny.yaml",
            "--data.input", pair[0], "--data.target", pair[1],
            "--trainer.default_root_dir", tmp_path / "run", "--trainer.max_epochs", 1]  # fmt: skip
    for extra in ([], ["--data.align", "false"]):
        with pytest.raises(SystemExit) as stopped:
            cli(*args, *extra)
        assert stopped.value.code == 2
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0, error
        # Aligned, the pair is refused by name; as given, no blur explains it.
        assert ("--data.align false" in error) == (not extra)
        assert not (tmp_path / "run" / "checkpoints").exists()


def test_alignment_off_trains_on_the_pair_as_given(tmp_path: Path, cli, capsys) -> None:
    clean = read_image(SAMPLE_IMAGE)
    generator = torch.Generator().manual_seed(0)
    shot = second_shot(gaussian_kernel(15, 1.6), 0.01, (1.0, 0.5), 0.2, 0.9, 0.0)
    pair = write_image(tmp_path / "in.png", shot(clean[None], generator)[0])
    run = tmp_path / "run"
    cli("fit", "--config", Path(__file__).parents[1] / "conf" / "rnn_tiny.yaml",
        "--data.input", pair, "--data.target", SAMPLE_IMAGE, "--data.align", "false",
        "--trainer.default_root_dir", run, "--trainer.max_epochs", 1)  # fmt: skip
    assert "pair aligned" not in capsys.readouterr().err
    assert (run / "checkpoints" / "best.ckpt").is_file() and not (run / "alignment.json").exists()
