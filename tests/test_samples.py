"""Sample restorations written at each validation."""

from __future__ import annotations

from pathlib import Path

import torch

from oneshot_lightning.callbacks.samples import GAP, side_by_side
from oneshot_lightning.data.io import read_image


def test_panels_sit_side_by_side_and_a_small_input_is_enlarged() -> None:
    degraded, restored, clean = (
        torch.zeros(1, 8, 10),
        torch.full((3, 16, 20), 0.5),
        torch.ones(3, 16, 20),
    )
    picture = side_by_side(degraded, restored, clean)
    assert picture.shape == (3, 16, 3 * 20 + 2 * GAP)
    assert torch.all(picture[:, :, :20] == 0) and torch.all(
        picture[:, :, 20 + GAP : 40 + GAP] == 0.5
    )


def test_fit_writes_a_sample_picture_at_each_validation(tmp_path: Path, cli, tiny_config) -> None:
    cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path)
    pictures = sorted((tmp_path / "samples").glob("step_*.png"))
    assert [p.name for p in pictures] == ["step_000005.png", "step_000010.png"]  # 2 epochs
    picture = read_image(pictures[-1])
    assert picture.shape[0] == 3 and picture.shape[-1] > 3 * 2 * GAP
