"""The pair's blur kernel saved in the run folder and told in one line by ``oneshot fit``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from oneshot_lightning.callbacks.blur_report import PICTURE_ZOOM, kernel_picture
from oneshot_lightning.data.degradations import Blur, Degradation
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import gaussian_kernel


def test_the_picture_shows_the_kernel_with_its_peak_white() -> None:
    kernel = gaussian_kernel(7, 1.2)
    picture = np.asarray(kernel_picture(kernel))
    assert picture.shape == (7 * PICTURE_ZOOM, 7 * PICTURE_ZOOM)
    centre = 3 * PICTURE_ZOOM
    assert picture.max() == picture[centre, centre] == 255
    assert picture[0, 0] < 255 * float(kernel[0, 0] / kernel.max()) + 1


def test_fit_on_a_given_pair_saves_its_estimated_kernel(
    tmp_path: Path, cli, tiny_config, capsys
) -> None:
    truth = gaussian_kernel(9, 1.4)
    clean = read_image(SAMPLE_IMAGE)
    noise = torch.Generator().manual_seed(3)
    degraded = Degradation(Blur(truth), noise_sigma=0.005)(clean[None], noise)[0]
    pair = write_image(tmp_path / "in.png", degraded), write_image(tmp_path / "gt.png", clean)
    run = tmp_path / "run"
    cli(
        "fit", "--config", tiny_config, "--trainer.default_root_dir", run,
        "--trainer.max_epochs", 1, "--data.input", pair[0], "--data.target", pair[1],
    )
    estimate = torch.from_numpy(np.load(run / "kernel.npy"))
    assert abs(float(estimate.sum()) - 1) < 1e-6
    side = max(estimate.shape[-1], truth.shape[-1])
    padded = [
        torch.nn.functional.pad(k.double(), [(side - k.shape[-1]) // 2] * 4)
        for k in (estimate, truth)
    ]
    assert float((padded[0] - padded[1]).norm() / padded[1].norm()) < 0.15
    assert Image.open(run / "kernel.png").size == (
        PICTURE_ZOOM * estimate.shape[1],
        PICTURE_ZOOM * estimate.shape[0],
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if "blur kernel" in line]
    assert len(lines) == 1 and "estimated from the pair" in lines[0]
    sigma = float(lines[0].split("noise sigma ")[1].split()[0])
    # 8-bit rounding adds its own 1/sqrt(12) step to the noise.
    assert abs(sigma - 0.005) < 0.002


def test_fit_with_a_degradation_saves_that_kernel(tmp_path: Path, cli, tiny_config) -> None:
    run = tmp_path / "run"
    cli("fit", "--config", tiny_config, "--trainer.default_root_dir", run)
    # rnn_tiny.yaml: Gaussian blur sigma 1.0 in a 7x7 window.
    saved = np.load(run / "kernel.npy")
    np.testing.assert_allclose(saved, gaussian_kernel(7, 1.0).double().numpy(), atol=1e-7)


def test_super_resolution_saves_no_kernel(tmp_path: Path, cli) -> None:
    run = tmp_path / "run"
    config = Path(__file__).parent / "conf" / "sr_tiny.yaml"
    cli("fit", "--config", config, "--trainer.default_root_dir", run, "--trainer.max_epochs", 1)
    assert not (run / "kernel.npy").exists()
