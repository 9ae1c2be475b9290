"""Quality regression: a fixed seed and a small budget must clearly beat the degraded input."""

from pathlib import Path

import torch

from oneshot_lightning.data.degradations import Degradation, GaussianBlur
from oneshot_lightning.data.io import read_image
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule
from tests.conftest import UNSEEN_IMAGE

CONF = Path(__file__).parent / "conf"
# Measured 2.07 dB with this config on 2 CPU cores; the floor leaves room for numeric drift.
GAIN_FLOOR_DB = 1.5


def trained(config: str, folder: Path, cli) -> RestorationModule:
    """The best model of ``oneshot fit --config tests/conf/<config>``, run into ``folder``."""
    cli("fit", "--config", CONF / config, "--trainer.default_root_dir", folder)
    best = folder / "checkpoints" / "best.ckpt"
    return RestorationModule.load_from_checkpoint(best, map_location="cpu").eval()


def test_restores_an_image_it_did_not_train_on(tmp_path: Path, cli) -> None:
    model = trained("rnn_quality.yaml", tmp_path, cli)
    clean = read_image(UNSEEN_IMAGE)[None]  # never seen in training
    degrade = Degradation(GaussianBlur(sigma=1.6, size=15), noise_sigma=0.01)
    degraded = degrade(clean, torch.Generator().manual_seed(123))
    with torch.inference_mode():
        restored = model.restore(degraded)
    gain = (psnr(restored, clean, border=8) - psnr(degraded, clean, border=8)).item()
    assert gain > GAIN_FLOOR_DB, f"only {gain:.2f} dB over the degraded input"


# Measured 5.98 dB (sigma 25/255, coffee.png) with this config on 2 CPU cores; the floor
# leaves room for numeric drift.
DENOISE_GAIN_FLOOR_DB = 5.0


def test_denoises_an_image_it_did_not_train_on(tmp_path: Path, cli) -> None:
    model = trained("denoise_quality.yaml", tmp_path, cli)
    clean = read_image(UNSEEN_IMAGE)[None]
    noisy = Degradation(noise_sigma=0.098)(clean, torch.Generator().manual_seed(123))
    with torch.inference_mode():
        restored = model.restore(noisy)
    gain = (psnr(restored, clean) - psnr(noisy, clean)).item()
    assert gain > DENOISE_GAIN_FLOOR_DB, f"only {gain:.2f} dB over the noisy input"
