"""The teacher study's report: tables, rank correlations, the content question and the plot."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from benchmarks.reports import markdown_table
from benchmarks.study_teachers import CONTENT, TEST_SETS, study_tasks
from oneshot_lightning.callbacks.teacher_check import TeacherCheck
from oneshot_lightning.data.io import read_image
from oneshot_lightning.functional import (
    bicubic_upscale,
    flat_fraction,
    gradient_energy,
    local_contrast,
    patch_diversity,
)
from oneshot_lightning.metrics import psnr

Row = dict[str, Any]


def input_psnr(degraded: Tensor, clean: Tensor, scale: int) -> float:
    """PSNR of the degraded training input (bicubic-upscaled for x2) against the clean image."""
    height, width = scale * degraded.shape[-2], scale * degraded.shape[-1]
    seen = bicubic_upscale(degraded[None], scale).clamp(0, 1) if scale > 1 else degraded[None]
    return float(psnr(seen, clean[None, :, :height, :width]))


#: Statistics of a training pair: (name in the tables, function of (degraded, clean, scale)).
STATISTICS: dict[str, Callable[[Tensor, Tensor, int], float]] = {
    "gradient energy": lambda degraded, clean, scale: gradient_energy(clean),
    "local contrast": lambda degraded, clean, scale: float(local_contrast(clean).mean() * 255),
    "flat fraction": lambda degraded, clean, scale: flat_fraction(clean),
    "patch diversity": lambda degraded, clean, scale: patch_diversity(clean),
    "input PSNR": input_psnr,
}


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation of two equally long lists (no ties expected)."""
    first, second = (np.argsort(np.argsort(values)).astype(float) for values in (x, y))
    return float(np.corrcoef(first, second)[0, 1])


def mean_psnr(record: Row, name: str, leave_out: str | None = None) -> float:
    """Mean PSNR of a run over set ``name``, without image ``leave_out``."""
    return float(np.mean([v for k, v in record["scores"][name].items() if k != leave_out]))


def mean_gain(
    record: Row, base: dict[str, dict[str, float]], name: str, leave_out: str | None = None
) -> float:
    """Mean over set ``name``'s images (but ``leave_out``) of the run's PSNR minus the base's."""
    scores = record["scores"][name]
    return float(np.mean([v - base[name][k] for k, v in scores.items() if k != leave_out]))


def teacher_row(
    record: Row, base: dict[str, dict[str, float]], clean_path: Path, run_dir: Path, scale: int
) -> Row:
    """One teacher's results and the statistics of its training pair."""
    teacher = clean_path.stem
    clean = read_image(clean_path)
    degraded = read_image(next((run_dir / "pair" / "input").iterdir()))
    row: Row = {"teacher": teacher, "content": CONTENT.get(teacher, "man-made")}
    for name in TEST_SETS:
        row[f"{name} PSNR"] = mean_psnr(record, name)
        row[f"{name} gain"] = mean_gain(record, base, name)
    row["test gain"] = float(np.mean([row[f"{name} gain"] for name in TEST_SETS]))
    row["validation gain"] = mean_gain(record, base, "kodval", leave_out=teacher)
    row["fit's val gain"] = record["val_gain"]
    return row | {key: f(degraded, clean, scale) for key, f in STATISTICS.items()}


def ranking_table(rows: list[Row]) -> list[str]:
    """The teachers by rank of their mean gain on the test sets."""
    header = ["rank", "teacher", "content", "Set5 PSNR (gain)", "Set14 PSNR (gain)"]
    header += ["validation gain", "fit's val gain", *STATISTICS]
    table = []
    for rank, row in enumerate(sorted(rows, key=lambda r: -r["test gain"]), 1):
        fit_gain = row["fit's val gain"]
        table.append([
            str(rank), row["teacher"], row["content"],
            *(f"{row[f'{s} PSNR']:.2f} ({row[f'{s} gain']:+.2f})" for s in TEST_SETS),
            f"{row['validation gain']:+.2f}", "-" if fit_gain is None else f"{fit_gain:+.2f}",
            f"{row['gradient energy']:.0f}", f"{row['local contrast']:.1f}",
            f"{row['flat fraction']:.2f}", f"{row['patch diversity']:.1f}",
            f"{row['input PSNR']:.2f}",
        ])  # fmt: skip
    return markdown_table(header, table)


def correlations(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Spearman of each statistic with the validation gain and with each test set's gain."""
    found = {}
    for key in [*STATISTICS, "fit's val gain"]:
        values = [np.nan if r[key] is None else r[key] for r in rows]
        found[key] = {
            target: spearman(values, [r[f"{target} gain"] for r in rows])
            for target in ("validation", *TEST_SETS, "test")
        }
    return found


def correlation_table(found: dict[str, dict[str, float]]) -> list[str]:
    """The rank correlations as a table."""
    header = ["statistic", "validation (chooses)", "Set5", "Set14", "Set5+Set14"]
    table = [
        [key, *(f"{c[t]:+.2f}" for t in ("validation", *TEST_SETS, "test"))]
        for key, c in found.items()
    ]
    return markdown_table(header, table)


def budget_line(
    by_teacher: dict[str, Row], rows: list[Row], base: dict[str, dict[str, float]], args: Any
) -> list[str]:
    """Whether the short budget ranks teachers as the full one does (Set5+Set14 gain)."""
    full = {k.removesuffix("@full"): v for k, v in by_teacher.items() if k.endswith("@full")}
    if len(full) < 3:
        return []
    short = [next(r for r in rows if r["teacher"] == t)["test gain"] for t in full]
    whole = [float(np.mean([mean_gain(v, base, s) for s in TEST_SETS])) for v in full.values()]
    pairs = ", ".join(f"{t} {s:+.2f} / {w:+.2f}" for t, s, w in zip(full, short, whole))
    return [
        f"Short ({args.steps} steps) against full ({args.full_steps} steps) budget, Set5+Set14 "
        f"mean gain: Spearman {spearman(short, whole):+.2f} ({pairs}).",
        "",
    ]


def content_lines(
    by_teacher: dict[str, Row], base: dict[str, dict[str, float]], rows: list[Row]
) -> list[str]:
    """The content question: teachers of the test image's kind against the others.

    For each test image of Set5 and Set14, the mean gain of teachers of its own kind minus
    that of the others; beside it, the mean gain of the more textured half of the teachers
    (by gradient energy) minus the less textured half.
    """
    kinds = sorted({r["content"] for r in rows})
    by_energy = sorted(rows, key=lambda r: -r["gradient energy"])
    textured = {r["teacher"] for r in by_energy[: len(by_energy) // 2]}
    cells: dict[tuple[str, str], list[float]] = {}
    own_kind, texture = [], []
    for set_name in TEST_SETS:
        for image, base_psnr in base[set_name].items():
            kind = CONTENT.get(image, "man-made")
            gains = {
                r["teacher"]: by_teacher[r["teacher"]]["scores"][set_name][image] - base_psnr
                for r in rows
            }
            for r in rows:
                cells.setdefault((r["content"], kind), []).append(gains[r["teacher"]])
            same = [g for t, g in gains.items() if CONTENT.get(t, "man-made") == kind]
            other = [g for t, g in gains.items() if CONTENT.get(t, "man-made") != kind]
            if same and other:
                own_kind.append(float(np.mean(same) - np.mean(other)))
            upper = [g for t, g in gains.items() if t in textured]
            lower = [g for t, g in gains.items() if t not in textured]
            texture.append(float(np.mean(upper) - np.mean(lower)))
    table = [
        [teacher_kind, *(f"{np.mean(cells[(teacher_kind, k)]):+.2f}" for k in kinds)]
        for teacher_kind in kinds
    ]
    counts = ", ".join(f"{k} {sum(r['content'] == k for r in rows)}" for k in kinds)
    return [
        "Content: mean gain (dB) of the teachers of each kind (rows) on the Set5+Set14 images "
        f"of each kind (columns); teachers: {counts}.",
        "",
        *markdown_table(["teacher \\ test image", *kinds], table),
        "",
        f"Per test image, the teachers of its own kind minus the others: mean "
        f"{np.mean(own_kind):+.3f} dB (from {min(own_kind):+.2f} to {max(own_kind):+.2f}); the "
        f"more textured half of the teachers (gradient energy) minus the less textured half: "
        f"mean {np.mean(texture):+.3f} dB (from {min(texture):+.2f} to {max(texture):+.2f}).",
        "",
    ]


def report(
    args: argparse.Namespace,
    records: dict[str, dict[str, Row]],
    baselines: dict[str, dict[str, dict[str, float]]],
    teachers: list[Path],
    date: str,
    machine: str,
) -> tuple[list[str], dict[str, Any], Callable[[Any], None]]:
    """(markdown lines, JSON results, the plot's drawing function)."""
    command = f"python -m benchmarks.study_teachers --data ../shared/data --steps {args.steps}"
    if args.full_teachers:
        command += f" --full-teachers {' '.join(args.full_teachers)}"
    lines = [f"## Which pair should a user shoot? 24 teachers ({date})", ""]
    lines += [f"`{command}`; machine: {machine}.", ""]
    results: dict[str, Any] = {}
    panels: list[tuple[str, list[Row]]] = []
    for name, by_teacher in records.items():
        task, config, _ = study_tasks(args.border)[name]
        base = baselines[name]
        rows = [
            teacher_row(
                by_teacher[path.stem], base, path,
                args.out / name / f"{path.stem}_s{args.steps}", task.scale,
            )
            for path in teachers
        ]  # fmt: skip
        baseline_name = "the degraded input" if task.scale == 1 else "bicubic"
        lines += [f"### {name}: `{config.name}`, {args.steps} steps per teacher", ""]
        lines += [f"{task.description}; gains over {baseline_name}.", ""]
        lines += [*ranking_table(rows), ""]
        for set_name in TEST_SETS:
            gains = [r[f"{set_name} gain"] for r in rows]
            lines.append(
                f"- {set_name}: gain from {min(gains):+.2f} to {max(gains):+.2f} dB (spread "
                f"{max(gains) - min(gains):.2f}, standard deviation {np.std(gains):.2f})."
            )
        found = correlations(rows)
        lines += ["", "Spearman rank correlation of each statistic with the gain:", ""]
        lines += [*correlation_table(found), ""]
        lines += budget_line(by_teacher, rows, base, args)
        lines += content_lines(by_teacher, base, rows)
        results[name] = {"rows": rows, "correlations": found}
        panels.append((name, rows))
    threshold = TeacherCheck().min_gradient_energy
    shown = ("gradient energy", "local contrast", "patch diversity", "fit's val gain")

    def draw(plt: Any) -> None:
        figure, axes = plt.subplots(
            len(panels), len(shown), figsize=(4 * len(shown), 3.4 * len(panels)), squeeze=False
        )
        for row_axes, (name, rows) in zip(axes, panels):
            y = [r["test gain"] for r in rows]
            colours = ["tab:red" if r["gradient energy"] < threshold else "tab:blue" for r in rows]
            for axis, key in zip(row_axes, shown):
                x = [np.nan if r[key] is None else r[key] for r in rows]
                axis.scatter(x, y, s=14, c=colours)
                axis.set_xlabel(key)
                axis.set_title(f"{name}: Spearman {spearman(x, y):+.2f}")
            row_axes[0].set_ylabel("Set5+Set14 mean gain (dB)")
            row_axes[0].set_xscale("log")
            row_axes[0].set_xticks([50, 100, 200, 500, 1000], ["50", "100", "200", "500", "1000"])
            row_axes[0].minorticks_off()
            row_axes[0].axvline(threshold, color="grey", linestyle="--", linewidth=1)
        figure.suptitle("red: the teachers fit calls weak (gradient energy below the dashed line)")
        figure.tight_layout()

    return lines, results, draw
