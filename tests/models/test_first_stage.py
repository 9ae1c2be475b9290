"""The deconvolution first stage: deconvolve whole images with the pair's kernel, then the net."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneshot_lightning.data.io import read_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.errors import InputError
from oneshot_lightning.functional import convolve, gaussian_kernel
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import Deconvolution, RestorationModule
from oneshot_lightning.models.first_stage import BALANCE_GRID

FIRST_STAGE = "--model.first_stage=oneshot_lightning.models.Deconvolution"


def blurred_crop(kernel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(degraded, clean), each (1, 3, 96, 96): a crop of the sample, blurred, noise 0.01."""
    clean = read_image(SAMPLE_IMAGE)[None, :, 100:196, 150:246]
    noise = 0.01 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    return convolve(clean, kernel) + noise, clean


def test_tuning_keeps_the_best_balance_of_the_grid() -> None:
    kernel = gaussian_kernel(11, 2.0)
    degraded, clean = blurred_crop(kernel)
    stage = Deconvolution(kernel_size=15)
    stage.set_degradation(kernel, 0.01)
    best = stage.tune(degraded, clean, 0.01)
    assert min(abs(float(stage.balance) / 0.01**2 - f) for f in BALANCE_GRID) < 1e-3
    assert psnr(stage(degraded).clamp(0, 1), clean, 8).item() == pytest.approx(best)
    for factor in (BALANCE_GRID[0], BALANCE_GRID[-1]):
        stage.balance.fill_(factor * 0.01**2)
        assert psnr(stage(degraded).clamp(0, 1), clean, 8).item() <= best
    assert best > psnr(degraded.clamp(0, 1), clean, 8).item() + 1.0


def test_sharpness_divides_the_tuned_balance() -> None:
    kernel = gaussian_kernel(11, 2.0)
    degraded, clean = blurred_crop(kernel)
    plain, sharp = Deconvolution(kernel_size=15), Deconvolution(kernel_size=15, sharpness=4.0)
    for stage in (plain, sharp):
        stage.set_degradation(kernel, 0.01)
        stage.tune(degraded, clean, 0.01)
    assert float(sharp.balance) == pytest.approx(float(plain.balance) / 4.0)
    # A smaller balance restores more high frequencies, so more of the noise too.
    assert (sharp(degraded) - clean).std() > (plain(degraded) - clean).std()
    with pytest.raises(InputError, match=r"model\.first_stage\.sharpness"):
        Deconvolution(sharpness=0.0)


def test_a_kernel_larger_than_its_room_names_the_setting() -> None:
    with pytest.raises(InputError, match=r"model\.first_stage\.kernel_size 7"):
        Deconvolution(kernel_size=7).set_degradation(gaussian_kernel(9, 1.5), 0.01)


def test_fit_deconvolves_first_and_predict_needs_only_the_checkpoint(
    tmp_path: Path, cli, tiny_config
) -> None:
    run = tmp_path / "run"
    cli("fit", "--config", tiny_config, "--trainer.default_root_dir", run, FIRST_STAGE)
    checkpoint = run / "checkpoints" / "best.ckpt"
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu").eval()
    assert isinstance(model.first_stage, Deconvolution)
    # rnn_tiny.yaml: Gaussian blur sigma 1.0 in a 7x7 window, centred in the 41x41 room.
    torch.testing.assert_close(model.first_stage.kernel[17:24, 17:24], gaussian_kernel(7, 1.0))
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", SAMPLE_IMAGE,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / f"{SAMPLE_IMAGE.stem}.png")
    with torch.no_grad():
        expected = model.restore(read_image(SAMPLE_IMAGE)[None])[0]
    assert np.abs((written - expected).numpy()).max() <= 0.5 / 255 + 1e-6


def test_fresh_pairs_are_refused_in_one_line(tmp_path: Path, cli, tiny_config, capsys) -> None:
    with pytest.raises(SystemExit):
        cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path,
            FIRST_STAGE, "--data.fresh_fraction", "0.5")  # fmt: skip
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("oneshot: error:") and "data.fresh_fraction 0" in last
