"""The GAN configs train through the real CLI, stay finite, and predict from their checkpoint."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

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
        for key in ("train/loss", "train/content", "train/adversarial", "train/discriminator_loss"):
            assert math.isfinite(float(row[key])), key
        assert 0 <= float(row["train/discriminator_accuracy"]) <= 1
    # The discriminator learns: its loss moves from step to step.
    assert len({row["train/discriminator_loss"] for row in rows}) > 1
    # One discriminator and one generator step per batch: 2 x 6 optimizer steps.
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == 12
    cli("predict", "--ckpt_path", tmp_path / "checkpoints" / "last.ckpt",
        "--data.predict", UNSEEN_IMAGE, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    restored = read_image(tmp_path / "out" / UNSEEN_IMAGE.name)
    assert restored.shape == read_image(UNSEEN_IMAGE).shape
    assert (restored - read_image(UNSEEN_IMAGE)).abs().max() > 1 / 255


def tiny_gan_fit(cli, root: Path, *extra: object) -> dict:
    cli("fit", "--config", ROOT / "configs" / "rnn_gan.yaml", "--trainer.default_root_dir", root,
        "--data.steps_per_epoch", 2, "--data.batch_size", 4, "--trainer.enable_progress_bar",
        "false", "--model.discriminator.init_args.width", 8, *extra)  # fmt: skip
    return torch.load(root / "checkpoints" / "last.ckpt", weights_only=True, map_location="cpu")


def test_max_steps_counts_both_optimizers_and_the_rates_decay_over_it(tmp_path: Path, cli) -> None:
    checkpoint = tiny_gan_fit(cli, tmp_path, "--trainer.max_steps", 8)
    assert checkpoint["global_step"] == 8  # 4 batches x (discriminator + generator)
    assert [state["last_epoch"] for state in checkpoint["lr_schedulers"]] == [4, 4]
    for state in checkpoint["optimizer_states"]:  # the cosine reached zero at the last batch
        assert state["param_groups"][0]["lr"] == pytest.approx(0, abs=1e-12)


def test_adversarial_loss_reaches_the_generator(tmp_path: Path, cli) -> None:
    weights = []
    for weight in (0.0, 1.0):
        args = ("--trainer.max_steps", 4, "--model.adversarial_weight", weight)
        weights.append(tiny_gan_fit(cli, tmp_path / str(weight), *args)["state_dict"])
    net_keys = [key for key in weights[0] if key.startswith("net.")]
    assert any(not torch.equal(weights[0][key], weights[1][key]) for key in net_keys)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["--model.region", 2], "fewer than the 4x4 pixels behind one discriminator logit"),
        (["--model.discriminator.init_args.channels", 1], "discriminator reads 1 channels"),
        (["--model.adversarial_weight", -1], "adversarial_weight must be >= 0"),
    ],
)
def test_bad_gan_settings(override: list, message: str, tmp_path: Path, cli, capsys) -> None:
    with pytest.raises(SystemExit):
        tiny_gan_fit(cli, tmp_path, *override)
    assert message in capsys.readouterr().err
