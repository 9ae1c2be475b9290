"""What told the pair's two shots apart, saved in the run folder and told in one line.

A given pair is aligned before training (``data/registration.py``); the user sees what was
found and whether it was undone: ``oneshot: pair aligned: shift (+2.30, -1.60) px, rotation
0.50 deg, scale 1.000; exposure gain 0.60 offset +0.030``, and ``alignment.json`` beside the
checkpoints holds the same per channel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from oneshot_lightning.functional.alignment import Alignment
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.say import say


def describe(alignment: Alignment, aligned: bool) -> str:
    """One line: the motion and exposure found, and whether the pair was aligned."""
    (x, y), gains, offsets = alignment.shift, alignment.gain, alignment.offset
    gain, offset = sum(gains) / len(gains), sum(offsets) / len(offsets)
    found = (
        f"shift ({x:+.2f}, {y:+.2f}) px, rotation {alignment.rotation:.2f} deg, scale "
        f"{alignment.scale:.3f}; exposure gain {gain:.2f} offset {offset:+.3f}"
    )
    if aligned:
        return f"pair aligned: {found}"
    return f"pair left as given (one shot: within tolerance, or a shift the blur explains): {found}"


def record(alignment: Alignment, aligned: bool) -> dict[str, Any]:
    """The alignment as ``alignment.json`` holds it (frame: the degraded image as given)."""
    return {
        "aligned": aligned,
        "shift_px": list(alignment.shift),
        "rotation_deg": alignment.rotation,
        "scale": alignment.scale,
        "gain": list(alignment.gain),
        "offset": list(alignment.offset),
        "correlation": alignment.correlation,
        "frame": list(alignment.size),
        "line": describe(alignment, aligned),
    }


class AlignmentReport(Callback):
    """Save ``alignment.json`` into the run folder and say the alignment when ``fit`` starts.

    Nothing for pairs made by ``data.degradation`` or with ``--data.align false``.

    Args:
        save: write ``alignment.json``.
    """

    def __init__(self, save: bool = True) -> None:
        self.save = save

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Write the file (rank zero) and print the line."""
        pair = pl_module.training_pair if isinstance(pl_module, RestorationModule) else None
        if pair is None or pair.alignment is None:
            return
        where = ""
        if self.save and trainer.is_global_zero:
            path = Path(trainer.default_root_dir) / "alignment.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record(pair.alignment, pair.aligned), indent=2) + "\n")
            where = f" (saved as {path})"
        say(f"oneshot: {describe(pair.alignment, pair.aligned)}{where}")
