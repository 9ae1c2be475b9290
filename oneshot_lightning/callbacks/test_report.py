"""The per-image table of ``oneshot test``, and its rows for whoever runs the test loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from rich.console import Console
from rich.table import Table

from oneshot_lightning.models import RestorationModule


def per_image_table(
    rows: Sequence[dict[str, Any]], metric_bits: int | None, border: int, scale: int
) -> Table:
    """A table of per-image rows (``image`` first, then metrics), its conventions in the title."""
    bits = "unrounded" if metric_bits is None else f"{metric_bits}-bit outputs"
    title = f"per-image quality ({bits}, data range 1, border {border}"
    title += f"; _y: MATLAB luma, 8-bit, border {scale})" if scale > 1 else ")"
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(column, justify="left" if column == "image" else "right")
    for row in rows:
        table.add_row(
            *(
                value if isinstance(value, str) else f"{value:.{4 if 'ssim' in key else 2}f}"
                for key, value in row.items()
            )
        )
    return table


class TestReport(Callback):
    """Keep the rows that ``RestorationModule.test_step`` returns; print them as a table.

    After a test, :attr:`rows` holds one row per image measured on this process: its name,
    each ``test/`` metric and ``s_per_mp`` (restore seconds per output megapixel). The
    benchmarks read them; ``oneshot test`` prints them.

    Args:
        show: print the table when the test ends (on rank zero).
    """

    __test__ = False  # a callback, not a test case for pytest to collect

    def __init__(self, show: bool = True) -> None:
        self.show = show
        self.rows: list[dict[str, Any]] = []

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Start a fresh table."""
        self.rows = []

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep the batch's rows."""
        if isinstance(outputs, dict):
            self.rows += outputs.get("rows", [])

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Print the per-image table (rank zero)."""
        if not (self.show and self.rows and trainer.is_global_zero):
            return
        if isinstance(pl_module, RestorationModule):
            bits, border, scale = pl_module.metric_bits, pl_module.metric_border, pl_module.scale
            Console().print(per_image_table(self.rows, bits, border, scale))
