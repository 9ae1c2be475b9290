"""Report tables and the machine line every benchmark writes."""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Callable, Sequence

import numpy as np
import torch

from benchmarks.scoring import Scores
from benchmarks.tasks import Task


def machine() -> str:
    """The machine in a few words: architecture, threads, torch version."""
    return f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def format_metrics(values: dict[str, float], task: Task) -> str:
    """``psnr / ssim`` as the tables print them (dB to 2 places, SSIM to 4)."""
    return " / ".join(f"{values[m]:.{2 if 'psnr' in m else 4}f}" for m in task.metrics)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table: the header line, the rule, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def method_table(name: str, task: Task, set_names: list[str], rows: dict[str, Scores]) -> list[str]:
    """A heading and one table row per method: its metrics per set and mean s per MP."""
    metric_names = " / ".join(task.metrics)
    header = ["method", *(f"{s} {metric_names}" for s in set_names), "s per MP"]
    cells = [
        [
            method,
            *(format_metrics(v, task) for v in by_set.values()),
            f"{np.mean([v['s_per_mp'] for v in by_set.values()]):.2f}",
        ]
        for method, by_set in rows.items()
    ]
    return [f"### {name}: {task.description}", "", *markdown_table(header, cells)]


def run_and_report(
    run: Callable[[str, Task, argparse.Namespace], tuple[list[str], dict]],
    available: dict[str, Task],
    args: argparse.Namespace,
    report: list[str],
    stem: str,
) -> dict[str, dict]:
    """Run each of ``args.tasks``, print its table, write ``<out>/<stem>.md`` and ``.json``.

    Returns each task's results by name.
    """
    results = {}
    for name in args.tasks:
        lines, results[name] = run(name, available[name], args)
        report += lines
        print("\n".join(lines), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.md").write_text("\n".join(report) + "\n")
    (args.out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    return results
