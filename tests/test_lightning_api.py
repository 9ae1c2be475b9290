"""Pins on the two private Lightning APIs the package relies on: these fail when an upgrade
renames or changes them, instead of the package silently losing the behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry

from oneshot_lightning.cli import OneShotCLI
from tests.conftest import CONF, UNSEEN_IMAGE


def test_lightning_cli_parses_ckpt_path_through_the_hook_we_override(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert callable(vars(LightningCLI).get("_parse_ckpt_path"))
    cli("fit", "--config", CONF / "rnn_tiny.yaml", "--trainer.default_root_dir", tmp_path,
        "--trainer.max_epochs", 1)  # fmt: skip
    calls = []
    original = OneShotCLI._parse_ckpt_path

    def spy(self: OneShotCLI) -> None:
        calls.append(self.config.get("subcommand"))
        original(self)

    monkeypatch.setattr(OneShotCLI, "_parse_ckpt_path", spy)
    cli("predict", "--ckpt_path", tmp_path / "checkpoints" / "last.ckpt",
        "--data.predict", UNSEEN_IMAGE, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    assert calls == ["predict"]
    assert (tmp_path / "out" / "coffee.png").is_file()


def test_ddp_strategy_keeps_its_reducer_options_where_the_gan_check_reads_them() -> None:
    assert DDPStrategy(find_unused_parameters=True)._ddp_kwargs == {"find_unused_parameters": True}
    assert DDPStrategy()._ddp_kwargs.get("find_unused_parameters", False) is False
    registered = StrategyRegistry["ddp_find_unused_parameters_true"]
    assert registered["init_params"].get("find_unused_parameters") is True
