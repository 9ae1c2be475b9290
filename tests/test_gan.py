"""The GAN configs train through the real CLI, stay finite, and predict from their checkpoint."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from oneshot_lightning.data.io import read_image
from tests.conftest import UNSEEN_IMAGE
from tests.test_cli import checkpoint_step

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("config", ["rnn_gan.yaml", "unet_gan.yaml"])
def test_gan_config_trains_a_few_steps(config: str, tmp_path: Path, cli) -> None:
    cli("fit", "--config", ROOT / "configs" / config, "--trainer.default_root_dir", tmp_path,
        "--trainer.max_epochs", 2, "--data.steps_per_epoch", 3, "--data.batch_size", 4,
        "--trainer.log_every_n_steps", 1, "--trainer.enable_progress_bar", "false",
        "--model.discriminator.init_args.width", 8,
        "--model.optimizer.init_args.lr", 0.01)  # fmt: skip  (a few steps that show)
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["train/discriminator_loss"]]
    assert len(rows) == 6
    for row in rows:
        for key in ("train/loss", "train/l1", "train/adversarial", "train/discriminator_loss"):
            assert math.isfinite(float(row[key])), key
        assert 0 <= float(row["train/discriminator_accuracy"]) <= 1
    # One discriminator and one generator step per batch: 2 x 6 optimizer steps.
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == 12
    cli("predict", "--ckpt_path", tmp_path / "checkpoints" / "last.ckpt",
        "--data.predict", UNSEEN_IMAGE, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    restored = read_image(tmp_path / "out" / UNSEEN_IMAGE.name)
    assert restored.shape == read_image(UNSEEN_IMAGE).shape
    assert (restored - read_image(UNSEEN_IMAGE)).abs().max() > 1 / 255
