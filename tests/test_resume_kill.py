"""A run killed with SIGKILL resumes from ``--ckpt_path last`` where it had got to."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def test_sigkilled_run_resumes_from_its_last_step(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "oneshot_lightning", "fit",
               "--config", str(ROOT / "tests/conf/rnn_tiny.yaml"),
               "--trainer.default_root_dir", str(tmp_path),
               "--trainer.max_epochs", "400"]  # fmt: skip
    last = tmp_path / "checkpoints" / "last.ckpt"
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not last.exists() or torch.load(last, weights_only=True)["global_step"] < 15:
            assert run.poll() is None and time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.2)
    finally:
        run.kill()  # SIGKILL: no chance to clean up
        run.wait()
    reached = torch.load(last, weights_only=True)["global_step"]
    assert 15 <= reached < 2000
    target_epochs = reached // 5 + 2  # two more epochs of 5 steps
    subprocess.run([*command[:-1], str(target_epochs), "--ckpt_path", "last"], check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    assert torch.load(last, weights_only=True)["global_step"] == 5 * target_epochs
    with open(tmp_path / "lightning_logs" / "version_1" / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert min(steps) >= reached  # went on from the checkpoint, not from step 0
