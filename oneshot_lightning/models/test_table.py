"""The per-image table that ``oneshot test`` prints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table


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
