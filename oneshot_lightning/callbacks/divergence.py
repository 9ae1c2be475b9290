"""Stop a run whose validation score collapses, and say so.

A net without normalisation trained at a high learning rate can blow up in one step: the
loss jumps a million-fold and never comes back. ``best.ckpt`` keeps the model from before,
but the run would spend the rest of its epochs on a broken net and end with a report of
the best score alone, so the user would not learn that training failed.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from oneshot_lightning.say import say


class DivergenceStop(Callback):
    """End ``fit`` when the validation score falls ``drop`` dB below its best so far.

    Args:
        monitor: the validation metric, in dB, higher is better.
        drop: the fall below the best score, in dB, taken as divergence; ``None``: never stop.
    """

    def __init__(self, monitor: str = "val/psnr", drop: float | None = 3.0) -> None:
        self.monitor, self.drop = monitor, drop
        self.best: float | None = None
        self.best_epoch = 0

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Track the best score; stop the run once the score has collapsed below it."""
        value = trainer.callback_metrics.get(self.monitor)
        if self.drop is None or value is None or trainer.sanity_checking:
            return
        score = float(value)
        if self.best is None or score > self.best:
            self.best, self.best_epoch = score, trainer.current_epoch
            return
        diverged = trainer.strategy.reduce_boolean_decision(score < self.best - self.drop)
        if not diverged:
            return
        trainer.should_stop = True
        # Lightning clips only what it steps itself: not the GANs' manual optimisation.
        clip = " or set --trainer.gradient_clip_val" if pl_module.automatic_optimization else ""
        say(
            f"oneshot: warning: training diverged: {self.monitor} fell to {score:.2f} dB from "
            f"{self.best:.2f} dB (epoch {self.best_epoch}); stopped, best.ckpt keeps the best; "
            f"lower --model.optimizer.init_args.lr{clip}"
        )

    def state_dict(self) -> dict[str, Any]:
        """The best score so far, so that a resumed run compares with it."""
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the best score from a checkpoint."""
        self.best = state_dict.get("best")
        self.best_epoch = state_dict.get("best_epoch", 0)
