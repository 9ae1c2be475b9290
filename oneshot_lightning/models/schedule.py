"""The learning-rate schedule: a half cosine to zero over the run's steps or its time budget."""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.utilities import rank_zero_warn


def progress(step: int, total: float, timer: Timer | None) -> float:
    """The share of a run done after ``step`` of its ``total`` planned steps, in [0, 1].

    With a ``max_time`` ``timer``, the larger of that and the training time's share of the
    budget: a run stopped by its time budget still ends its schedule (then the schedule, and
    the result, depend on the machine's speed).
    """
    done = step / total if math.isfinite(total) else 0.0
    if timer is not None:
        elapsed, remaining = timer.time_elapsed(), timer.time_remaining()
        if remaining is not None and elapsed + remaining > 0:
            done = max(done, elapsed / (elapsed + remaining))
    return min(done, 1.0)


def budget_timer(trainer: Trainer) -> Timer | None:
    """The trainer's ``max_time`` timer, if the run has a time budget."""
    for callback in trainer.callbacks:  # type: ignore[attr-defined]
        if isinstance(callback, Timer) and callback.time_remaining() is not None:
            return callback
    return None


def cosine_decay(
    optimizer: torch.optim.Optimizer, total: float, timer: Timer | None
) -> dict[str, Any]:
    """Lightning's optimizer config: the rate decays per step over ``total`` steps or ``timer``.

    Without either (an unbounded run), the rate stays as it is, with a warning.
    """
    if not math.isfinite(total) and timer is None:
        rank_zero_warn(
            "cosine_decay needs trainer.max_steps, max_epochs or max_time; keeping the rate"
        )
        return {"optimizer": optimizer}

    def factor(step: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * progress(step, total, timer)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
