"""A resumed run must continue the run it resumes: same folder, same architecture.

Loading a checkpoint's weights into another architecture would end in a size-mismatch
traceback (or, for a setting that changes no shape, silently train something else); a fresh
run must not replace the checkpoints of an earlier one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonargparse import Namespace

from oneshot_lightning.checkpoints import architecture_config, load_hyperparameters
from oneshot_lightning.errors import InputError
from oneshot_lightning.models import RestorationModule


def refuse_used_checkpoint_dir(folder: Path) -> None:
    """A fresh run must not replace the checkpoints of an earlier one."""
    if any(folder.glob("*.ckpt")):
        raise InputError(
            f"{folder} already holds checkpoints of an earlier run: resume it with "
            "--ckpt_path last, or pick another --trainer.default_root_dir"
        )


def architecture_differences(saved: Any, given: Any, key: str) -> list[str]:
    """Where ``given`` differs from ``saved``, as ``key: checkpoint X, command line Y`` lines.

    Both are plain values or ``{"class_path", "init_args"}`` dicts; once a ``class_path``
    differs, its init args are not compared. ``init_args`` right under ``model`` is left out of
    the keys, as the command line spells them (``model.net.init_args.latent``).
    """
    if isinstance(saved, dict) and isinstance(given, dict):
        if saved.get("class_path") != given.get("class_path"):
            return architecture_differences(
                saved.get("class_path"), given.get("class_path"), f"{key}.class_path"
            )
        differences = []
        for name in sorted(saved.keys() | given.keys()):
            if name == "class_path":
                continue
            inner = key if name == "init_args" and key == "model" else f"{key}.{name}"
            differences += architecture_differences(saved.get(name), given.get(name), inner)
        return differences
    if _plain(saved) == _plain(given):
        return []
    return [f"{key}: checkpoint {_plain(saved)}, command line {_plain(given)}"]


def _plain(value: Any) -> Any:
    """Tuples as lists, so that a YAML list and a parsed tuple compare equal."""
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    return value


def refuse_architecture_change(config: Namespace, checkpoint: Path) -> None:
    """A resumed run must build the network its checkpoint holds: say which setting differs.

    Loading the weights into another architecture would end in a size-mismatch traceback
    (or, for a setting that changes no shape, silently train something else).
    """
    hparams = load_hyperparameters(checkpoint)
    saved = architecture_config(hparams, RestorationModule)
    model = config.model.as_dict() if isinstance(config.model, Namespace) else config.model
    given = {
        "class_path": model.get("class_path"),
        "init_args": {key: model.get("init_args", {}).get(key) for key in saved["init_args"]},
    }
    differences = architecture_differences(saved, given, "model")
    if differences:
        raise InputError(
            f"cannot resume {checkpoint} with another architecture: {'; '.join(differences)} "
            "(resume with the checkpoint's settings, or start a new run in another "
            "--trainer.default_root_dir)"
        )
