"""Studies of the paper's open questions, each a sweep of real ``oneshot fit`` runs.

- ``patches``: how few patches suffice. Training on a square crop of the training pair limits
  the distinct patch positions to (crop - p + 1)^2; crops of 16, 32, 64, 128 and 256 pixels
  (``--crops`` random positions each) and the whole training region.
- ``sizes``: patch size (7 .. 15, code width 128) and code width (64, 128, 256; patch 11).
- ``mismatch``: a model trained for Gaussian blur sigma 1.6 restores images blurred with
  other sigmas and a motion kernel; compared with the same net trained on the true blur,
  Wiener given the training kernel (balance tuned on the training pair, as a user with the
  wrong kernel would) and Wiener given the true kernel (balance tuned on the training image
  blurred with it).

Protocol (quality.py's ``deblur`` task): train on kodak24/kodim05 blurred (Gaussian sigma
1.6, 15x15, reflect) + noise 0.01, 8-bit; validate on the bottom 15% of its rows (as the CLI's
own held-out strip), train on the rest; test on Set5/Set14 degraded the same way, RGB PSNR,
border 8, 8-bit outputs. Every run trains a fixed ``--steps`` (1500) steps of 512 patches with
the cosine schedule over those steps and is scored with its ``best.ckpt`` (by the strip's
PSNR), so the figures don't depend on how busy the CPU was. Runs are cached in
``<out>/runs/`` by their arguments: a rerun only trains what is missing.

    python benchmarks/studies.py --data ../shared/data --plots benchmarks/plots
    python benchmarks/studies.py --data ../shared/data --quick   # a smoke run: 5 short runs

Each study writes ``<out>/study_<name>.md`` and ``.json``, and ``<plots>/study_<name>.png``
when matplotlib is installed (``pip install -e .[plots]``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

# Run as a script, this folder is on sys.path: the other benchmarks' helpers are reused as is.
from quality import (
    CONFIGS,
    Restore,
    Task,
    best_setting,
    degrade_set,
    evaluate,
    model_restorer,
    rgb_metrics,
    test_images,
    train,
    wiener_restore,
)
from speed import flops_per_window

from oneshot_lightning.data.degradations import Degradation, GaussianBlur, KernelBlur
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.models.nets import RNNSparseCoder

TRAIN_SIGMA = 1.6
TRAIN_KEY = f"gauss{TRAIN_SIGMA:g}"  # the training degradation, as Bench.task names it
NOISE = 0.01
VAL_FRACTION = 0.15  # the CLI's default held-out strip
NET_ARG = "--model.init_args.net.init_args."
QUICK = {
    "steps": 150,
    "sets": ["set5"],
    "crop_sizes": [32],
    "crops": 1,
    "patch_sizes": [7, 11],
    "latents": [64, 128],
    "sigmas": [1.3, 1.6],
    "kernels": [],
}
DEFAULTS = {
    "steps": 1500,
    "sets": ["set5", "set14"],
    "crop_sizes": [16, 32, 64, 128, 256],
    "crops": 3,
    "patch_sizes": [7, 9, 11, 13, 15],
    "latents": [64, 128, 256],
    "sigmas": [1.0, 1.3, 1.6, 2.0, 2.5],
    "kernels": ["levin09_k1"],
}

Pair = tuple[Path, Path]
TestSets = dict[str, tuple[list[Path], list[Path]]]


@dataclass(frozen=True)
class Net:
    """The two sizes the studies vary; everything else is the config's."""

    patch_size: int
    latent: int

    @property
    def key(self) -> str:
        return f"p{self.patch_size}_c{self.latent}"

    def args(self) -> list[str]:
        return [f"{NET_ARG}patch_size", str(self.patch_size), f"{NET_ARG}latent", str(self.latent)]

    def cost(self) -> tuple[int, float]:
        """(parameters, MFLOP per restored pixel) of the RGB net."""
        net = RNNSparseCoder(patch_size=self.patch_size, latent=self.latent)
        return sum(p.numel() for p in net.parameters()), flops_per_window(net) / 1e6


def config_net(config: Path) -> Net:
    """The patch size and code width that ``config`` sets (the net's defaults otherwise)."""
    model = yaml.safe_load(config.read_text()).get("model", {})
    net_args = model.get("init_args", {}).get("net", {}).get("init_args", {})
    return Net(net_args.get("patch_size", 11), net_args.get("latent", 128))


def blur_task(blur: torch.nn.Module, description: str, border: int) -> Task:
    """A deblurring task: ``blur`` + noise 0.01, 8-bit; RGB PSNR/SSIM with ``border``."""
    return Task(Degradation(blur, noise_sigma=NOISE), 1, [], description, rgb_metrics(border))


class Bench:
    """Degraded pairs and test sets written once, runs trained once, scores cached."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.train_clean: Path = args.data / args.train_image
        self.tasks: dict[str, Task] = {}
        self.made_pairs: dict[str, tuple[Pair, Pair, tuple[int, int]]] = {}
        self.made_sets: dict[str, TestSets] = {}

    def task(self, key: str) -> Task:
        """``gauss<sigma>`` (15x15 Gaussian) or a kernel file's stem (``levin09_k1``)."""
        if key not in self.tasks:
            border = self.args.border
            if key.startswith("gauss"):
                sigma = float(key.removeprefix("gauss"))
                blur = GaussianBlur(sigma=sigma, size=15)
                text = f"Gaussian sigma {sigma:g} (15x15)"
            else:
                family = key.split("_")[0]
                blur = KernelBlur(str(self.args.data / "kernels" / family / f"{key}.npy"))
                text = f"{key} ({blur.kernel.shape[-1]}x{blur.kernel.shape[-2]})"
            self.tasks[key] = blur_task(blur, f"{text} + noise {NOISE}, 8-bit", border)
        return self.tasks[key]

    def kernel(self, key: str) -> np.ndarray:
        return self.task(key).degradation.blur.kernel.double().numpy()

    def degraded_training_image(self, key: str) -> Path:
        """The training image degraded by task ``key`` (the seed quality.py uses)."""
        (path,) = degrade_set([self.train_clean], self.task(key), self.out / key, self.args.seed)
        return path

    def pairs(self, key: str) -> tuple[Pair, Pair, tuple[int, int]]:
        """(training pair, validation pair, training region (h, w)) as files for task ``key``.

        The bottom rows validate, the rest trains: the CLI's own split, made explicit so that
        crops of the training region keep the same validation strip.
        """
        if key in self.made_pairs:
            return self.made_pairs[key]
        degraded, clean = (
            read_image(self.degraded_training_image(key)),
            read_image(self.train_clean),
        )
        cut = degraded.shape[-2] - round(degraded.shape[-2] * VAL_FRACTION)
        folder = self.out / key / "pairs"
        train_pair = self.write_pair(folder / "train", degraded[:, :cut], clean[:, :cut])
        val_pair = self.write_pair(folder / "val", degraded[:, cut:], clean[:, cut:])
        self.made_pairs[key] = (train_pair, val_pair, (cut, degraded.shape[-1]))
        return self.made_pairs[key]

    @staticmethod
    def write_pair(stem: Path, degraded: torch.Tensor, clean: torch.Tensor) -> Pair:
        return (
            write_image(stem.with_name(f"{stem.name}_input.png"), degraded),
            write_image(stem.with_name(f"{stem.name}_target.png"), clean),
        )

    def crop_pair(self, key: str, size: int, index: int) -> tuple[Pair, tuple[int, int]]:
        """A random ``size`` square of the training region, seeded by size and index."""
        (degraded_path, clean_path), _, (height, width) = self.pairs(key)
        generator = np.random.default_rng([self.args.seed, size, index])
        top = int(generator.integers(0, height - size + 1))
        left = int(generator.integers(0, width - size + 1))
        window = (slice(None), slice(top, top + size), slice(left, left + size))
        stem = self.out / key / "pairs" / f"crop{size}_{index}"
        pair = self.write_pair(
            stem, read_image(degraded_path)[window], read_image(clean_path)[window]
        )
        return pair, (top, left)

    def test_sets(self, key: str) -> TestSets:
        """Each test set degraded by task ``key``: {set: (inputs, targets)}."""
        if key not in self.made_sets:
            sets = {}
            for name in self.args.sets:
                targets, _ = test_images(self.args.data / name, self.train_clean)
                folder = self.out / key / name
                sets[name] = (degrade_set(targets, self.task(key), folder, self.args.seed), targets)
            self.made_sets[key] = sets
        return self.made_sets[key]

    def fit(self, name: str, net: Net, train_pair: Pair, val_pair: Pair) -> dict[str, Any]:
        """Train run ``name`` unless a finished run with the same arguments exists.

        Returns its record: checkpoint, arguments, seconds, best validation PSNR, scores.
        """
        steps = self.args.steps
        run_dir = self.out / "runs" / f"{name}_{net.key}_s{steps}"
        extra = [
            *net.args(),
            *("--trainer.max_steps", str(steps), "--trainer.max_epochs", "-1"),
            *("--trainer.max_time", "null", "--trainer.enable_progress_bar", "false"),
            # Six validations per run pick best.ckpt, as the config's 24 do over 6000 steps.
            *("--data.steps_per_epoch", str(max(1, steps // 6))),
            *("--data.val_input", str(val_pair[0]), "--data.val_target", str(val_pair[1])),
        ]
        arguments = {"config": str(self.args.config), "pair": [str(p) for p in train_pair]}
        arguments["extra"] = extra
        record_path = run_dir / "record.json"
        if record_path.is_file():
            record = json.loads(record_path.read_text())
            if record["arguments"] == arguments:
                return record
        if run_dir.exists():
            shutil.rmtree(run_dir)  # an unfinished or different run: start it afresh
        checkpoint, seconds = train(self.args.config, train_pair, None, run_dir, extra)
        record = {
            "arguments": arguments,
            "checkpoint": str(checkpoint),
            "seconds": seconds,
            "val_psnr": best_val_psnr(run_dir),
            "scores": {},
        }
        record_path.write_text(json.dumps(record, indent=2))
        print(f"trained {run_dir.name}: {seconds:.0f} s, val/psnr {record['val_psnr']:.2f}")
        return record

    def score(self, record: dict[str, Any], key: str) -> dict[str, dict[str, float]]:
        """The run's metrics on every test set degraded by task ``key`` (cached in its record)."""
        missing = [s for s in self.args.sets if f"{key}/{s}" not in record["scores"]]
        if missing:
            restore = model_restorer(Path(record["checkpoint"]))
            for name, pair in self.test_sets(key).items():
                if name in missing:
                    record["scores"][f"{key}/{name}"] = evaluate(restore, *pair, self.task(key))
            run_dir = Path(record["checkpoint"]).parents[1]
            (run_dir / "record.json").write_text(json.dumps(record, indent=2))
        return {s: record["scores"][f"{key}/{s}"] for s in self.args.sets}

    def baseline(self, restore: Restore, key: str) -> dict[str, dict[str, float]]:
        return {
            s: evaluate(restore, *pair, self.task(key)) for s, pair in self.test_sets(key).items()
        }

    def wiener(self, kernel_key: str, tune_key: str) -> tuple[Restore, float]:
        """Wiener with task ``kernel_key``'s kernel, balance tuned on the training image as
        degraded by task ``tune_key``; (restore, balance).
        """
        kernel = self.kernel(kernel_key)
        degraded = read_image(self.degraded_training_image(tune_key))
        balance = best_setting(
            lambda x, b: wiener_restore(x, kernel, b),
            np.logspace(-4, 0, 17).tolist(),
            degraded,
            read_image(self.train_clean),
            self.args.border,
        )
        return lambda x: wiener_restore(x, kernel, balance), balance


def best_val_psnr(run_dir: Path) -> float:
    """The best ``val/psnr`` the run's CSV log holds."""
    values = []
    for log in run_dir.rglob("metrics.csv"):
        lines = log.read_text().splitlines()
        column = lines[0].split(",").index("val/psnr")
        values += [float(row.split(",")[column]) for row in lines[1:] if row.split(",")[column]]
    return max(values)


def psnr_cells(scores: dict[str, dict[str, float]], sets: Sequence[str]) -> list[str]:
    return [f"{scores[s]['psnr']:.2f}" for s in sets]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def pyplot() -> Any | None:
    """Matplotlib's pyplot (file output only), or None with a message when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install -e .[plots]): no plot written")
        return None
    return plt


def save_plot(draw: Callable[[Any], None], path: Path) -> None:
    """Draw with ``draw(plt)`` and save a small PNG at ``path``, if matplotlib is there."""
    plt = pyplot()
    if plt is None:
        return
    draw(plt)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.tight_layout()
    plt.savefig(path, dpi=90)
    plt.close("all")
    print(f"plot: {path}")


def reference_rows(bench: Bench) -> dict[str, dict[str, dict[str, float]]]:
    """The degraded input and tuned Wiener (true kernel) on the training degradation."""
    wiener, balance = bench.wiener(TRAIN_KEY, TRAIN_KEY)
    return {
        "degraded input": bench.baseline(lambda x: x, TRAIN_KEY),
        f"Wiener, true kernel (balance {balance:.3g})": bench.baseline(wiener, TRAIN_KEY),
    }


def study_patches(bench: Bench) -> tuple[list[str], dict[str, Any], Callable[[Any], None]]:
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


def study_sizes(bench: Bench) -> tuple[list[str], dict[str, Any], Callable[[Any], None]]:
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


def study_mismatch(bench: Bench) -> tuple[list[str], dict[str, Any], Callable[[Any], None]]:
    """A model trained for sigma 1.6 on other blurs, with matched and Wiener references."""
    args, key = bench.args, TRAIN_KEY
    net = config_net(args.config)
    train_pair, val_pair, _ = bench.pairs(key)
    trained = bench.fit("full", net, train_pair, val_pair)
    wrong_wiener, wrong_balance = bench.wiener(key, key)
    tests = [f"gauss{s:g}" for s in args.sigmas] + list(args.kernels)
    results = {}
    for test in tests:
        matched_train, matched_val, _ = bench.pairs(test)
        matched = (
            trained if test == key else bench.fit(f"full_{test}", net, matched_train, matched_val)
        )
        true_wiener, true_balance = bench.wiener(test, test)
        results[test] = {
            "degraded input": bench.baseline(lambda x: x, test),
            f"RNN trained on sigma {TRAIN_SIGMA:g}": bench.score(trained, test),
            "RNN trained on the true blur": bench.score(matched, test),
            f"Wiener, training kernel (balance {wrong_balance:.3g})": bench.baseline(
                wrong_wiener, test
            ),
            "Wiener, true kernel": bench.baseline(true_wiener, test),
            "true kernel balance": true_balance,
        }
    methods = [m for m in results[tests[0]] if m != "true kernel balance"]
    header = ["test blur (+ noise 0.01)", "set", *methods]
    rows = []
    for test, by_method in results.items():
        label = bench.task(test).description.split(" + ")[0]
        for s in args.sets:
            rows.append([label, s, *(f"{by_method[m][s]['psnr']:.2f}" for m in methods)])
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


STUDIES = {"patches": study_patches, "sizes": study_sizes, "mismatch": study_mismatch}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options, with ``--quick`` (or full) defaults for those not given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--studies", nargs="+", choices=list(STUDIES), default=list(STUDIES))
    parser.add_argument("--config", type=Path, default=CONFIGS / "rnn.yaml")
    parser.add_argument("--steps", type=int, help="training steps per run (1500)")
    parser.add_argument("--sets", nargs="+", help="test set folders of --data (set5 set14)")
    parser.add_argument("--crop-sizes", nargs="+", type=int, help="square training crops")
    parser.add_argument("--crops", type=int, help="random crop positions per size (3)")
    parser.add_argument("--patch-sizes", nargs="+", type=int, help="7 9 11 13 15")
    parser.add_argument("--latents", nargs="+", type=int, help="code widths: 64 128 256")
    parser.add_argument("--sigmas", nargs="+", type=float, help="test blur sigmas")
    parser.add_argument("--kernels", nargs="*", help="test kernels (levin09_k1)")
    parser.add_argument("--train-image", default="kodak24/kodim05.png")
    parser.add_argument("--border", type=int, default=8, help="metric border")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="few points, few steps: a check")
    parser.add_argument("--out", type=Path, help="work folder (bench_out/studies[_quick])")
    parser.add_argument("--plots", type=Path, help="folder for the PNG plots (default: --out)")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.out = args.out or Path("bench_out") / ("studies_quick" if args.quick else "studies")
    args.plots = args.plots or args.out
    args.config = args.config.resolve()
    if not args.config.is_file():
        parser.error(f"no config {args.config}")
    missing = [s for s in args.sets if not (args.data / s).is_dir()]
    if missing:
        parser.error(f"no test set folder {', '.join(str(args.data / s) for s in missing)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    bench = Bench(args)
    stamp = (
        f"{datetime.date.today()}, {platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )
    for name in args.studies:
        lines, results, draw = STUDIES[name](bench)
        lines = [f"### Study: {name}", "", *lines, "", f"({stamp})", ""]
        print("\n".join(lines), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"study_{name}.md").write_text("\n".join(lines))
        (args.out / f"study_{name}.json").write_text(json.dumps(results, indent=2))
        save_plot(draw, args.plots / f"study_{name}.png")


if __name__ == "__main__":
    main()
