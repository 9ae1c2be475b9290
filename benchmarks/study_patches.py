"""Study: how few patches suffice?

Training on a square crop of the training pair limits the distinct patch positions to
(crop - p + 1)^2; crops of 16, 32, 64, 128 and 256 pixels (``--crops`` random positions each)
and the whole training region, on the studies' protocol (``benchmarks/study.py``).

    python -m benchmarks.study_patches --data ../shared/data --plots benchmarks/plots
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.reports import markdown_table
from benchmarks.study import TRAIN_KEY, Bench, Draw, config_net, main, psnr_cells, reference_rows


def run(bench: Bench) -> tuple[list[str], dict[str, Any], Draw]:
    """PSNR against the number of distinct training patch positions."""
    args, key, net = bench.args, TRAIN_KEY, config_net(bench.args.config)
    train_pair, val_pair, (height, width) = bench.pairs(key)
    p = net.patch_size
    points = []
    for size in [s for s in args.crop_sizes if s < min(height, width)]:
        for index in range(args.crops):
            pair, corner = bench.crop_pair(key, size, index)
            record = bench.fit(f"crop{size}_{index}", net, pair, val_pair)
            scores = bench.score(record, key)
            points.append(
                {
                    "crop": size,
                    "corner": corner,
                    "positions": (size - p + 1) ** 2,
                    "val_psnr": record["val_psnr"],
                    "scores": scores,
                }
            )
    record = bench.fit("full", net, train_pair, val_pair)
    points.append(
        {
            "crop": f"all {width}x{height}",
            "corner": (0, 0),
            "positions": (height - p + 1) * (width - p + 1),
            "val_psnr": record["val_psnr"],
            "scores": bench.score(record, key),
        }
    )
    references = reference_rows(bench)

    groups: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        groups.setdefault(str(point["crop"]), []).append(point)
    header = ["training crop", "patch positions"]
    header += [f"{s} PSNR (mean, min-max)" for s in args.sets] + ["val PSNR"]
    rows = []
    for crop, group in groups.items():
        cells = [crop if "x" in crop else f"{crop}x{crop}", f"{group[0]['positions']:,}"]
        for s in args.sets:
            values = [g["scores"][s]["psnr"] for g in group]
            spread = f" ({min(values):.2f}-{max(values):.2f})" if len(values) > 1 else ""
            cells.append(f"{np.mean(values):.2f}{spread}")
        cells.append(f"{np.mean([g['val_psnr'] for g in group]):.2f}")
        rows.append(cells)
    for name, scores in references.items():
        rows.append([name, "-", *psnr_cells(scores, args.sets), "-"])
    lines = [
        f"Patch {p}, code {net.latent}; {args.steps} steps of 512 patches per run; "
        f"{args.crops} random crop position(s) per size; flips/transposes multiply the patterns "
        "seen by up to 8.",
        "",
        *markdown_table(header, rows),
    ]

    def draw(plt: Any) -> None:
        figure, axes = plt.subplots(1, len(args.sets), figsize=(4.5 * len(args.sets), 3.4))
        for axis, s in zip(np.atleast_1d(axes), args.sets):
            x = [g[0]["positions"] for g in groups.values()]
            means = [np.mean([q["scores"][s]["psnr"] for q in g]) for g in groups.values()]
            axis.scatter(
                [q["positions"] for q in points],
                [q["scores"][s]["psnr"] for q in points],
                s=12,
                alpha=0.5,
            )
            axis.plot(x, means, "o-", label="RNN (mean over crops)")
            for (name, scores), style in zip(references.items(), ("k:", "k--")):
                axis.axhline(
                    scores[s]["psnr"], linestyle=style[1:], color="k", label=name.split(" (")[0]
                )
            axis.set(
                xscale="log",
                xlabel="distinct training patch positions",
                ylabel="RGB PSNR (dB)",
                title=s,
            )
            axis.legend(fontsize=7)
        figure.suptitle(f"PSNR vs training patches ({args.steps} steps each)", fontsize=10)

    return lines, {"points": points, "references": references}, draw


def study_main(argv: Sequence[str] | None = None) -> None:
    """Run this study alone, with the studies' options."""
    main(argv, {"patches": run}, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    study_main()
