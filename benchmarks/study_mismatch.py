"""Study: what does a mismatched blur do?

A model trained for Gaussian blur sigma 1.6 restores images blurred with other sigmas and a
motion kernel; compared with the same net trained on the true blur, Wiener given the training
kernel (balance tuned on the training pair, as a user with the wrong kernel would) and Wiener
given the true kernel (balance tuned on the training image blurred with it). The studies'
protocol (``benchmarks/study.py``).

    python -m benchmarks.study_mismatch --data ../shared/data --plots benchmarks/plots
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.baselines import identity
from benchmarks.reports import markdown_table
from benchmarks.scoring import Scores
from benchmarks.study import TRAIN_KEY, TRAIN_SIGMA, Bench, Draw, config_net, main


def run(bench: Bench) -> tuple[list[str], dict[str, Any], Draw]:
    """A model trained for sigma 1.6 on other blurs, with matched and Wiener references."""
    args, key = bench.args, TRAIN_KEY
    net = config_net(args.config)
    train_pair, val_pair, _ = bench.pairs(key)
    trained = bench.fit("full", net, train_pair, val_pair)
    wrong_wiener, wrong_balance = bench.wiener(key, key)
    tests = [f"gauss{s:g}" for s in args.sigmas] + list(args.kernels)
    results: dict[str, dict[str, Any]] = {}
    for test in tests:
        matched_train, matched_val, _ = bench.pairs(test)
        matched = (
            trained if test == key else bench.fit(f"full_{test}", net, matched_train, matched_val)
        )
        true_wiener, true_balance = bench.wiener(test, test)
        by_method: dict[str, Scores | float] = {
            "degraded input": bench.baseline(identity, test),
            f"RNN trained on sigma {TRAIN_SIGMA:g}": bench.score(trained, test),
            "RNN trained on the true blur": bench.score(matched, test),
            f"Wiener, training kernel (balance {wrong_balance:.3g})": bench.baseline(
                wrong_wiener, test
            ),
            "Wiener, true kernel": bench.baseline(true_wiener, test),
            "true kernel balance": true_balance,
        }
        results[test] = by_method
    methods = [m for m in results[tests[0]] if m != "true kernel balance"]
    header = ["test blur (+ noise 0.01)", "set", *methods]
    rows = []
    for test, scores in results.items():
        label = bench.task(test).description.split(" + ")[0]
        for s in args.sets:
            rows.append([label, s, *(f"{scores[m][s]['psnr']:.2f}" for m in methods)])
    lines = [
        f"Patch {net.patch_size}, code {net.latent}; {args.steps} steps per training run. Wiener "
        "with the true kernel has its balance tuned on the training image blurred with that "
        "kernel.",
        "",
        *markdown_table(header, rows),
    ]

    def draw(plt: Any) -> None:
        gauss = [t for t in tests if t.startswith("gauss")]
        sigmas = [float(t.removeprefix("gauss")) for t in gauss]
        figure, axes = plt.subplots(1, len(args.sets), figsize=(4.5 * len(args.sets), 3.6))
        for axis, s in zip(np.atleast_1d(axes), args.sets):
            for method in methods:
                axis.plot(
                    sigmas,
                    [results[t][method][s]["psnr"] for t in gauss],
                    "o-",
                    label=method.split(" (")[0],
                )
            axis.axvline(TRAIN_SIGMA, color="grey", linewidth=0.8)
            axis.set(xlabel="test blur sigma (trained: 1.6)", ylabel="RGB PSNR (dB)", title=s)
            axis.legend(fontsize=6)
        figure.suptitle(f"Blur mismatch ({args.steps} steps per training run)", fontsize=10)

    return lines, {"results": results}, draw


def study_main(argv: Sequence[str] | None = None) -> None:
    """Run this study alone, with the studies' options."""
    main(argv, {"mismatch": run}, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    study_main()
