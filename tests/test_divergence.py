"""DivergenceStop: a collapsed validation score ends the run with a warning."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch.utils.data import DataLoader, TensorDataset

from oneshot_lightning.callbacks import DivergenceStop


class ScriptedScores(LightningModule):
    """Trains a scalar; logs the given val/psnr at each validation, in order."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__()
        self.scores = scores
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.validations = 0

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return (self.weight - batch[0]).pow(2).mean()

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/psnr", self.scores[self.validations])

    def on_validation_epoch_end(self) -> None:
        self.validations += 1

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class ManualScriptedScores(ScriptedScores):
    """The same with manual optimisation, as the GANs step: Lightning does not clip it."""

    def __init__(self, scores: list[float]) -> None:
        super().__init__(scores)
        self.automatic_optimization = False

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        optimizer = self.optimizers()
        optimizer.zero_grad()  # type: ignore[union-attr]
        self.manual_backward((self.weight - batch[0]).pow(2).mean())
        optimizer.step()  # type: ignore[union-attr]


def fit(
    scores: list[float], drop: float | None, module: type[ScriptedScores] = ScriptedScores
) -> int:
    """Validations run before the trainer stopped, out of one per epoch for ``scores``."""
    model = module(scores)
    data = DataLoader(TensorDataset(torch.ones(2, 1)), batch_size=1)
    trainer = Trainer(max_epochs=len(scores), callbacks=[DivergenceStop(drop=drop)],
                      logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, num_sanity_val_steps=0)  # fmt: skip
    trainer.fit(model, data, data)
    return model.validations


def test_a_collapse_stops_the_run_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert fit([28.7, 28.9, 3.4, 4.0, 5.0, 5.1], drop=3.0) == 3
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("oneshot: warning: training diverged: val/psnr fell to 3.40 dB")
    assert "from 28.90 dB (epoch 1)" in line and "--trainer.gradient_clip_val" in line


def test_manual_optimisation_is_not_told_to_clip(capsys: pytest.CaptureFixture[str]) -> None:
    assert fit([28.7, 20.0, 20.0], drop=3.0, module=ManualScriptedScores) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.endswith("lower --model.optimizer.init_args.lr")


def test_ordinary_ups_and_downs_run_to_the_end(capsys: pytest.CaptureFixture[str]) -> None:
    assert fit([28.7, 29.0, 26.5, 29.1, 28.0], drop=3.0) == 5
    assert "diverged" not in capsys.readouterr().err
    assert fit([28.7, 3.0, 3.0], drop=None) == 3  # turned off


def test_the_best_score_survives_a_resume() -> None:
    stop = DivergenceStop()
    stop.best, stop.best_epoch = 30.0, 4
    resumed = DivergenceStop()
    resumed.load_state_dict(stop.state_dict())
    assert (resumed.best, resumed.best_epoch) == (30.0, 4)
