"""Real two-process DDP on CPU (gloo), in a subprocess: ``ddp`` relaunches the command line,
which in-process would re-run pytest."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile
import torch

from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE

ROOT = Path(__file__).resolve().parents[1]


def oneshot(*args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "oneshot_lightning", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_process_fit_and_predict(tmp_path: Path) -> None:
    ddp = ["--trainer.accelerator", "cpu", "--trainer.devices", 2, "--trainer.strategy", "ddp"]
    oneshot("fit", "--config", ROOT / "tests/conf/rnn_tiny.yaml",
            "--trainer.default_root_dir", tmp_path / "run", *ddp)  # fmt: skip
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert checkpoints == ["best.ckpt", "last.ckpt", "start.ckpt"]  # written once, by rank 0
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 10  # 2 epochs x 5 steps, each rank a different batch
    with open(tmp_path / "run" / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        assert any(row["val/psnr"] for row in csv.DictReader(handle))

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for index in range(2):
        shutil.copy(SAMPLE_IMAGE, inputs / f"image{index}.png")
    write_image(inputs / "grey.png", read_image(SAMPLE_IMAGE).mean(0, keepdim=True))
    # 5 planes in 4 files: each process restores whole files (the stack's pages together).
    pages = (read_image(SAMPLE_IMAGE)[:2, :64, :80].numpy() * 65535).astype(np.uint16)
    tifffile.imwrite(inputs / "stack.tif", pages, photometric="minisblack")
    oneshot("predict", "--ckpt_path", tmp_path / "run" / "checkpoints" / "best.ckpt",
            "--data.predict", inputs, "--writer.output_dir", tmp_path / "out", *ddp)  # fmt: skip
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["grey.png", "image0.png", "image1.png", "stack.tif"]
    assert read_image(tmp_path / "out" / "grey.png").shape == (1, 256, 256)
    assert tifffile.imread(tmp_path / "out" / "stack.tif").shape == (2, 64, 80)


def test_two_process_gan_fit(tmp_path: Path) -> None:
    ddp = ["--trainer.accelerator", "cpu", "--trainer.devices", 2]
    common = ["fit", "--config", ROOT / "configs/rnn_gan.yaml", "--trainer.max_epochs", 1,
              "--data.steps_per_epoch", 2, "--data.batch_size", 4,
              "--model.discriminator.init_args.width", 8]  # fmt: skip
    # Each backward pass reaches one of the two nets: plain DDP is refused in one line.
    plain = [*common, *ddp, "--trainer.strategy", "ddp", "--trainer.default_root_dir", tmp_path]
    command = [sys.executable, "-m", "oneshot_lightning", *map(str, plain)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert refused.returncode == 2
    assert "needs --trainer.strategy ddp_find_unused_parameters_true" in refused.stderr
    oneshot(*common, *ddp, "--trainer.strategy", "ddp_find_unused_parameters_true",
            "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4  # 2 batches x (discriminator + generator) on each rank
