"""Models for the benchmarks: trained through the real ``oneshot fit``, loaded by the Python API."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from benchmarks.scoring import quiet
from oneshot_lightning import Restorer
from oneshot_lightning.models import RestorationModule

ROOT = Path(__file__).resolve().parents[1]


CONFIGS = ROOT / "configs"


def config_path(name: str) -> Path:
    """The file of config ``name`` (``rnn`` or ``rnn.yaml``) in ``configs/``."""
    return CONFIGS / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")


def config_problem(name: str, scale: int) -> str | None:
    """Why config ``name`` can't serve a task at ``scale`` (missing, other scale), or None."""
    path = config_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
        return f"no config {path} (configs: {known})"
    data = (yaml.safe_load(path.read_text()) or {}).get("data") or {}
    config_scale = data.get("scale", 1)
    if config_scale != scale:
        return f"config {name} works at scale {config_scale}, the task at scale {scale}"
    return None


def clock(seconds: int) -> str:
    """``--trainer.max_time`` format, DD:HH:MM:SS."""
    hours, rest = divmod(seconds, 3600)
    return f"00:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def train(
    config: Path,
    pair: tuple[Path, Path],
    budget: int | None,
    run_dir: Path,
    extra: Sequence[str] = (),
) -> tuple[Path, float]:
    """Run ``oneshot fit`` on the pair, capped at ``budget`` seconds; (best checkpoint, seconds).

    The config's own schedule (epochs, cosine decay) stands; the budget only cuts it short.
    ``budget`` None keeps the config's own ``max_time``; ``extra`` arguments go last, so they
    override the config and the budget (e.g. ``--trainer.max_steps 1500``). The command's
    output goes to ``<run_dir>/fit.log``.
    """
    command = [sys.executable, "-m", "oneshot_lightning", "fit", "--config", str(config)]
    command += ["--data.input", str(pair[0]), "--data.target", str(pair[1])]
    command += ["--trainer.default_root_dir", str(run_dir)]
    if budget is not None:
        command += ["--trainer.max_time", clock(budget)]
    command += list(extra)
    run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(run_dir / "fit.log", "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
    return run_dir / "checkpoints" / "best.ckpt", time.perf_counter() - start


def load_model(checkpoint: Path, self_ensemble: bool = False) -> RestorationModule:
    """The checkpoint's model on the CPU, in eval mode, loaded as users load it (``Restorer``)."""
    with quiet():
        model = Restorer.from_checkpoint(checkpoint).model
    model.self_ensemble = self_ensemble
    return model
