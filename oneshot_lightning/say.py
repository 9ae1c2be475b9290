"""The run's own lines for the user: one line each, on stderr, from one process."""

from __future__ import annotations

import sys

from lightning.pytorch.utilities import rank_zero_only


@rank_zero_only
def say(line: str) -> None:
    """Print one line for the user to stderr, once per run (rank zero)."""
    print(line, file=sys.stderr)
