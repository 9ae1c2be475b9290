"""Shared fixtures: the bundled sample images, tiny configs, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from oneshot_lightning.cli import main
from oneshot_lightning.data.pairs import SAMPLE_IMAGE

CONF = Path(__file__).parent / "conf"
UNSEEN_IMAGE = SAMPLE_IMAGE.parent / "coffee.png"


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


@pytest.fixture
def tiny_config() -> Path:
    return CONF / "rnn_tiny.yaml"


@pytest.fixture
def cli():
    """Run ``oneshot`` in-process with the given arguments, as a user would type them."""

    def run(*args: object) -> None:
        main([str(arg) for arg in args])

    return run
