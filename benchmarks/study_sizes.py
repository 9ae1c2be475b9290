"""Study: which patch size and code width?

Patch sizes 7 .. 15 (code width 128) and code widths 64, 128, 256 (patch 11), each trained
on the whole training region, on the studies' protocol (``benchmarks/study.py``).

    python -m benchmarks.study_sizes --data ../shared/data --plots benchmarks/plots
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.reports import markdown_table
from benchmarks.study import (
    TRAIN_KEY,
    Bench,
    Draw,
    Net,
    config_net,
    main,
    psnr_cells,
    reference_rows,
)


def run(bench: Bench) -> tuple[list[str], dict[str, Any], Draw]:
    """PSNR against patch size (code 128) and code width (patch 11)."""
    args, key = bench.args, TRAIN_KEY
    train_pair, val_pair, _ = bench.pairs(key)
    base = config_net(args.config)
    nets = [Net(p, base.latent) for p in args.patch_sizes]
    nets += [Net(base.patch_size, c) for c in args.latents if Net(base.patch_size, c) not in nets]
    results = []
    for net in nets:
        record = bench.fit("full", net, train_pair, val_pair)
        parameters, mflop = net.cost()
        results.append(
            {
                "patch_size": net.patch_size,
                "latent": net.latent,
                "parameters": parameters,
                "mflop_per_pixel": mflop,
                "val_psnr": record["val_psnr"],
                "scores": bench.score(record, key),
            }
        )
    references = reference_rows(bench)
    header = ["patch", "code", "parameters", "MFLOP per pixel"]
    header += [f"{s} PSNR" for s in args.sets] + ["val PSNR"]
    rows = [
        [
            str(r["patch_size"]),
            str(r["latent"]),
            f"{r['parameters']:,}",
            f"{r['mflop_per_pixel']:.3f}",
            *psnr_cells(r["scores"], args.sets),
            f"{r['val_psnr']:.2f}",
        ]
        for r in results
    ]
    rows += [[name, "", "", "", *psnr_cells(sc, args.sets), ""] for name, sc in references.items()]
    lines = [
        f"Whole training region; {args.steps} steps of 512 patches per run (a larger net does "
        "more work per step: see the MFLOP column).",
        "",
        *markdown_table(header, rows),
    ]

    def draw(plt: Any) -> None:
        figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        for axis, (field, fixed, label) in zip(
            axes,
            (
                ("patch_size", ("latent", base.latent), "patch size (code 128)"),
                ("latent", ("patch_size", base.patch_size), "code width (patch 11)"),
            ),
        ):
            chosen = sorted((r for r in results if r[fixed[0]] == fixed[1]), key=lambda r: r[field])
            for s in args.sets:
                axis.plot(
                    [r[field] for r in chosen],
                    [r["scores"][s]["psnr"] for r in chosen],
                    "o-",
                    label=s,
                )
            axis.set(xlabel=label, ylabel="RGB PSNR (dB)", xticks=[r[field] for r in chosen])
            axis.legend(fontsize=7)
        figure.suptitle(f"Net size ({args.steps} steps each)", fontsize=10)

    return lines, {"results": results, "references": references}, draw


def study_main(argv: Sequence[str] | None = None) -> None:
    """Run this study alone, with the studies' options."""
    main(argv, {"sizes": run}, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    study_main()
