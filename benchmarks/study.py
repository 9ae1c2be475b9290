"""What the studies of the paper's open questions share: their protocol, runs and options.

Protocol (the quality benchmark's ``deblur`` task): train on kodak24/kodim05 blurred
(Gaussian sigma 1.6, 15x15, reflect) + noise 0.01, 8-bit; validate on the bottom 15% of its
rows (as the CLI's own held-out strip), train on the rest; test on Set5/Set14 degraded the
same way, RGB PSNR, border 8, 8-bit outputs, scored by the package's test loop
(``benchmarks/scoring.py``). Every run trains a fixed ``--steps`` (1500) steps of 512 patches
with the cosine schedule over those steps and is scored with its ``best.ckpt`` (by the
strip's PSNR), so the figures don't depend on how busy the CPU was. Runs are cached in
``<out>/runs/`` by their arguments: a rerun only trains what is missing.

Each study is a module (``study_patches``, ``study_sizes``, ``study_mismatch``) with a
``run(bench)``; ``python -m benchmarks.studies`` runs several, ``python -m
benchmarks.study_<name>`` one. Each writes ``<out>/study_<name>.md`` and ``.json``, and
``<plots>/study_<name>.png`` when matplotlib is installed (``pip install -e .[plots]``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from benchmarks.baselines import Restore, baseline_model, best_setting, identity, wiener_restore
from benchmarks.degraded_sets import (
    TRAIN_IMAGE,
    DegradedSet,
    degrade_set,
    degrade_training_image,
    set_images,
)
from benchmarks.flops import flops_per_window
from benchmarks.reports import machine
from benchmarks.scoring import Scores, evaluate
from benchmarks.tasks import Task, blur_task
from benchmarks.training import CONFIGS, load_model, train
from oneshot_lightning.data.degradations import GaussianBlur, KernelBlur
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
#: A drawing function: ``draw(plt)`` makes the study's figure with matplotlib's pyplot.
Draw = Callable[[Any], None]
#: What a study returns: (markdown lines, results for the JSON file, its plot).
Study = Callable[["Bench"], tuple[list[str], dict[str, Any], Draw]]


@dataclass(frozen=True)
class Net:
    """The two sizes the studies vary; everything else is the config's."""

    patch_size: int
    latent: int

    @property
    def key(self) -> str:
        """The sizes in a run folder's name, e.g. ``p11_c128``."""
        return f"p{self.patch_size}_c{self.latent}"

    def args(self) -> list[str]:
        """The ``oneshot fit`` arguments that set the sizes."""
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


class Bench:
    """Degraded pairs and test sets written once, runs trained once, scores cached.

    Args:
        args: the options of :func:`parse_args`.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out: Path = args.out
        self.train_clean: Path = args.data / args.train_image
        self.tasks: dict[str, Task] = {}
        self.made_pairs: dict[str, tuple[Pair, Pair, tuple[int, int]]] = {}
        self.made_sets: dict[str, dict[str, DegradedSet]] = {}

    def task(self, key: str) -> Task:
        """``gauss<sigma>`` (15x15 Gaussian) or a kernel file's stem (``levin09_k1``)."""
        if key not in self.tasks:
            blur: GaussianBlur | KernelBlur
            if key.startswith("gauss"):
                sigma = float(key.removeprefix("gauss"))
                blur = GaussianBlur(sigma=sigma, size=15)
                text = f"Gaussian sigma {sigma:g} (15x15)"
            else:
                family = key.split("_")[0]
                blur = KernelBlur(str(self.args.data / "kernels" / family / f"{key}.npy"))
                text = f"{key} ({blur.kernel.shape[-1]}x{blur.kernel.shape[-2]})"
            description = f"{text} + noise {NOISE}, 8-bit"
            self.tasks[key] = blur_task(blur, description, self.args.border, NOISE)
        return self.tasks[key]

    def degraded_training_image(self, key: str) -> Path:
        """The training image degraded by task ``key`` (the quality benchmark's noise)."""
        task = self.task(key)
        return degrade_training_image(
            self.train_clean, task, self.out / key / "train", self.args.seed
        )

    def pairs(self, key: str) -> tuple[Pair, Pair, tuple[int, int]]:
        """(training pair, validation pair, training region (h, w)) as files for task ``key``.

        The bottom rows validate, the rest trains: the CLI's own split, made explicit so that
        crops of the training region keep the same validation strip.
        """
        if key in self.made_pairs:
            return self.made_pairs[key]
        degraded = read_image(self.degraded_training_image(key))
        clean = read_image(self.train_clean)
        cut = degraded.shape[-2] - round(degraded.shape[-2] * VAL_FRACTION)
        folder = self.out / key / "pairs"
        train_pair = self.write_pair(folder / "train", degraded[:, :cut], clean[:, :cut])
        val_pair = self.write_pair(folder / "val", degraded[:, cut:], clean[:, cut:])
        self.made_pairs[key] = (train_pair, val_pair, (cut, degraded.shape[-1]))
        return self.made_pairs[key]

    @staticmethod
    def write_pair(stem: Path, degraded: torch.Tensor, clean: torch.Tensor) -> Pair:
        """Write ``<stem>_input.png`` and ``<stem>_target.png``; their paths."""
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

    def test_sets(self, key: str) -> dict[str, DegradedSet]:
        """Each test set degraded by task ``key``, by set name."""
        if key not in self.made_sets:
            sets = {}
            for name in self.args.sets:
                targets, _ = set_images(self.args.data / name, self.train_clean)
                folder = self.out / key / name
                sets[name] = degrade_set(targets, self.task(key), folder, self.args.seed)
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
            record: dict[str, Any] = json.loads(record_path.read_text())
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

    def score(self, record: dict[str, Any], key: str) -> Scores:
        """The run's metrics on every test set degraded by task ``key`` (cached in its record)."""
        missing = [s for s in self.args.sets if f"{key}/{s}" not in record["scores"]]
        if missing:
            model = load_model(Path(record["checkpoint"]))
            for name, test_set in self.test_sets(key).items():
                if name in missing:
                    record["scores"][f"{key}/{name}"] = evaluate(model, test_set, self.task(key))
            run_dir = Path(record["checkpoint"]).parents[1]
            (run_dir / "record.json").write_text(json.dumps(record, indent=2))
        return {s: record["scores"][f"{key}/{s}"] for s in self.args.sets}

    def baseline(self, restore: Restore, key: str) -> Scores:
        """The metrics of a baseline on every test set degraded by task ``key``."""
        model = baseline_model(restore, self.task(key))
        return {
            s: evaluate(model, test_set, self.task(key))
            for s, test_set in self.test_sets(key).items()
        }

    def wiener(self, kernel_key: str, tune_key: str) -> tuple[Restore, float]:
        """Wiener with task ``kernel_key``'s kernel and a balance tuned on the training image.

        The balance is tuned on the training image as degraded by task ``tune_key``;
        returns (restore, balance).
        """
        kernel = self.task(kernel_key).kernel
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


def psnr_cells(scores: Scores, sets: Sequence[str]) -> list[str]:
    """The PSNR of each set, to 2 places."""
    return [f"{scores[s]['psnr']:.2f}" for s in sets]


def reference_rows(bench: Bench) -> dict[str, Scores]:
    """The degraded input and tuned Wiener (true kernel) on the training degradation."""
    wiener, balance = bench.wiener(TRAIN_KEY, TRAIN_KEY)
    return {
        "degraded input": bench.baseline(identity, TRAIN_KEY),
        f"Wiener, true kernel (balance {balance:.3g})": bench.baseline(wiener, TRAIN_KEY),
    }


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


def save_plot(draw: Draw, path: Path) -> None:
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


def parse_args(
    argv: Sequence[str] | None, studies: Sequence[str], description: str
) -> argparse.Namespace:
    """The options, with ``--quick`` (or full) defaults for those not given.

    ``studies`` are the names ``--studies`` may choose (all of them by default).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, help="folder with kodak24/, set5/, ...")
    parser.add_argument("--studies", nargs="+", choices=list(studies), default=list(studies))
    parser.add_argument("--config", type=Path, default=CONFIGS / "rnn.yaml")
    parser.add_argument("--steps", type=int, help="training steps per run (1500)")
    parser.add_argument("--sets", nargs="+", help="test set folders of --data (set5 set14)")
    parser.add_argument("--crop-sizes", nargs="+", type=int, help="square training crops")
    parser.add_argument("--crops", type=int, help="random crop positions per size (3)")
    parser.add_argument("--patch-sizes", nargs="+", type=int, help="7 9 11 13 15")
    parser.add_argument("--latents", nargs="+", type=int, help="code widths: 64 128 256")
    parser.add_argument("--sigmas", nargs="+", type=float, help="test blur sigmas")
    parser.add_argument("--kernels", nargs="*", help="test kernels (levin09_k1)")
    parser.add_argument("--train-image", default=TRAIN_IMAGE)
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


def main(argv: Sequence[str] | None, studies: dict[str, Study], description: str) -> None:
    """Run the chosen ``studies`` (by name); write each one's report, results and plot."""
    args = parse_args(argv, list(studies), description)
    bench = Bench(args)
    stamp = f"{datetime.date.today()}, {machine()}"
    for name in args.studies:
        lines, results, draw = studies[name](bench)
        lines = [f"### Study: {name}", "", *lines, "", f"({stamp})", ""]
        print("\n".join(lines), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"study_{name}.md").write_text("\n".join(lines))
        (args.out / f"study_{name}.json").write_text(json.dumps(results, indent=2))
        save_plot(draw, args.plots / f"study_{name}.png")
