"""The weak-teacher note at the end of ``fit``: said for a flat pair, not for a textured one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.callbacks import TeacherCheck
from oneshot_lightning.data.io import write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import gradient_energy
from tests.conftest import CONF


def smooth_image(size: int = 96) -> torch.Tensor:
    """(3, size, size): soft colour gradients, a sky or a wall, with no fine detail."""
    ramp = torch.linspace(0, 1, size)
    rows, cols = torch.meshgrid(ramp, ramp, indexing="ij")
    return torch.stack([0.2 + 0.5 * rows * cols, 0.4 + 0.3 * rows, 0.7 - 0.2 * cols])


def fit_messages(cli, capsys: pytest.CaptureFixture[str], root: Path, *extra: object) -> str:
    """What a tiny ``oneshot fit`` says on stderr."""
    cli("fit", "--config", CONF / "rnn_tiny.yaml", "--trainer.default_root_dir", root, *extra)
    return capsys.readouterr().err


def test_a_flat_pair_gets_the_note(tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]) -> None:
    flat = write_image(tmp_path / "wall.png", smooth_image())
    assert gradient_energy(smooth_image()) < TeacherCheck().min_gradient_energy
    messages = fit_messages(cli, capsys, tmp_path / "run", "--data.target", flat)
    notes = [line for line in messages.splitlines() if "weak teacher" in line]
    assert len(notes) == 1 and "little texture" in notes[0] and "gradient energy" in notes[0]
    # After the run's gain line: the note closes what fit says.
    assert messages.strip().splitlines()[-1] == notes[0]


def test_a_textured_pair_gets_none(tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]) -> None:
    messages = fit_messages(cli, capsys, tmp_path / "run", "--data.target", SAMPLE_IMAGE)
    assert "over the untrained start" in messages and "weak teacher" not in messages


def test_the_threshold_is_a_flag(tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]) -> None:
    messages = fit_messages(
        cli, capsys, tmp_path / "run", "--data.target", SAMPLE_IMAGE,
        "--teacher_check.min_gradient_energy", "1e6",
    )  # fmt: skip
    assert "weak teacher" in messages
