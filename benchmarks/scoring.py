"""Scoring through the package's own test loop: per-image rows, set means, seconds per MP."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from lightning.pytorch import Trainer

from benchmarks.degraded_sets import DegradedSet, image_megapixels
from benchmarks.tasks import Task
from oneshot_lightning.callbacks import TestReport
from oneshot_lightning.cli import QUIET_WARNINGS
from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.models import RestorationModule

#: Results of one method: {test set: {metric or ``s_per_mp``: mean}}.
Scores = dict[str, dict[str, float]]


#: Warnings of a benchmark's test runs that say nothing about the figures.
QUIET = (
    "does not have many workers",  # whole images, one per batch: loading is not the cost
    # A module keeps its net in its hyperparameters; the benchmarks save no checkpoints.
    "is an instance of `nn.Module` and is already saved",
    "removed from hparams because it cannot be pickled",
)


#: The bits the test loop rounds outputs to, as an 8-bit PNG holds them.
METRIC_BITS = 8


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what a test run prints: Lightning's info lines, known warnings, the table.

    The module prints its per-image table to stdout; the benchmarks write their own.
    """
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        for message in (*QUIET_WARNINGS, *QUIET):
            warnings.filterwarnings("ignore", message=".*" + re.escape(message))
        for logger in loggers:
            logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def score_rows(
    model: RestorationModule, inputs: Path, targets: Path, border: int
) -> list[dict[str, Any]]:
    """The per-image rows of ``Trainer.test`` on the pairs of ``inputs`` and ``targets``.

    ``inputs`` and ``targets`` are folders paired by file stem, or two files. Outputs are
    rounded to 8 bits and ``border`` pixels shaved before every metric; each row holds the
    image name, the module's metrics and ``s_per_mp`` (restore seconds per output MP).
    """
    model.metric_border, model.metric_bits = border, METRIC_BITS
    data = OneShotDataModule(test_input=str(inputs), test_target=str(targets), scale=model.scale)
    report = TestReport(show=False)
    with quiet():
        trainer = Trainer(
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[report],
        )
        trainer.test(model, datamodule=data, verbose=False)
    return report.rows


def mean_scores(
    rows: list[dict[str, Any]], task: Task, megapixels: dict[str, float]
) -> dict[str, float]:
    """Mean of each of the task's metrics over the rows, and seconds per MP of the whole set."""
    means = {name: float(np.mean([row[name] for row in rows])) for name in task.metrics}
    seconds = sum(row["s_per_mp"] * megapixels[row["image"]] for row in rows)
    return means | {"s_per_mp": seconds / sum(megapixels[row["image"]] for row in rows)}


def evaluate(model: RestorationModule, test_set: DegradedSet, task: Task) -> dict[str, float]:
    """The task's metrics of ``model`` on a test set (means over its images), and s per MP."""
    rows = score_rows(model, test_set.inputs, test_set.targets, task.metric_border)
    return mean_scores(rows, task, test_set.megapixels)


def evaluate_pair(
    model: RestorationModule, degraded: Path, clean: Path, task: Task
) -> dict[str, float]:
    """The task's metrics of ``model`` on one pair of files, and its seconds per MP."""
    rows = score_rows(model, degraded, clean, task.metric_border)
    return mean_scores(rows, task, {rows[0]["image"]: image_megapixels(clean, task.scale)})


def per_image(
    model: RestorationModule, test_set: DegradedSet, task: Task
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Like :func:`evaluate`, with each image's row too: (means, {image stem: row})."""
    rows = score_rows(model, test_set.inputs, test_set.targets, task.metric_border)
    return mean_scores(rows, task, test_set.megapixels), {row["image"]: row for row in rows}
