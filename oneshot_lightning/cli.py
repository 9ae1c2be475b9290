"""The ``oneshot`` command: LightningCLI with the project's defaults and one-line errors."""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, TypeVar

from jsonargparse import Namespace
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from oneshot_lightning import __version__
from oneshot_lightning.callbacks import (
    AlignmentReport,
    BlurReport,
    DivergenceStop,
    FitConfigSaver,
    ImageWriter,
    StartingPoint,
    TeacherCheck,
    TestReport,
    ValidationSamples,
)
from oneshot_lightning.checkpoints import (
    architecture_config,
    load_hyperparameters,
    model_class_of,
)
from oneshot_lightning.data import OneShotDataModule
from oneshot_lightning.errors import InputError
from oneshot_lightning.export import main as export_main
from oneshot_lightning.models import AdversarialModule, RestorationModule
from oneshot_lightning.resume import refuse_architecture_change, refuse_used_checkpoint_dir

DEFAULT_MODEL = {
    "class_path": "oneshot_lightning.models.RestorationModule",
    "init_args": {"net": {"class_path": "oneshot_lightning.models.nets.RNNSparseCoder"}},
}


#: Strategies whose DDP reducer expects every parameter in every backward pass.
PLAIN_DDP = ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")


def checkpoint_dir(root_dir: str | None) -> str:
    """Checkpoints live in a fixed folder so that ``--ckpt_path last`` can find them."""
    return str(Path(root_dir or os.getcwd()) / "checkpoints")


def model_patch_size(model: RestorationModule) -> int:
    """The data module samples patches of the size the model's net reads."""
    return model.patch_size


def add_progress_bar(trainer: Namespace) -> None:
    """Rich progress bar unless the run has one or turned bars off (both would clash)."""
    callbacks = list(trainer.get("callbacks") or [])
    has_bar = any("ProgressBar" in str(callback.get("class_path", "")) for callback in callbacks)
    if trainer.get("enable_progress_bar") is not False and not has_bar:
        callbacks.append(Namespace(class_path="lightning.pytorch.callbacks.RichProgressBar"))
        trainer.callbacks = callbacks


def refuse_plain_ddp_for_gans(config: Namespace) -> None:
    """Refuse GAN training under plain DDP, which needs the unused-parameter search.

    Said before any process starts: the model's own check runs after, where a refusal can
    abort the other ranks.
    """
    class_path = str((config.get("model") or {}).get("class_path", ""))
    try:
        model_class = model_class_of(class_path, RestorationModule)
    except InputError:
        return  # jsonargparse reports a bad class path itself
    strategy = config.trainer.get("strategy")
    if strategy in PLAIN_DDP and issubclass(model_class, AdversarialModule):
        raise InputError(
            "GAN training on several devices needs "
            "--trainer.strategy ddp_find_unused_parameters_true"
        )


#: What ``oneshot --help`` says first.
DESCRIPTION = (
    "oneshot: learn image restoration (deblurring, denoising, super-resolution) from ONE "
    "degraded/clean pair, then restore other images. Start with "
    "`oneshot fit --config configs/rnn.yaml`; "
    "`oneshot predict --ckpt_path BEST.ckpt --data.predict FOLDER` restores; "
    "`oneshot export --ckpt_path BEST.ckpt --out model` writes TorchScript and ONNX files; "
    "`oneshot SUBCOMMAND --help` lists every option."
)


class OneShotCLI(LightningCLI):
    """LightningCLI for one-shot restoration: model swapped by ``class_path``, data fixed."""

    def __init__(self, args: list[str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault(
            "parser_kwargs", {"prog": "oneshot", "description": DESCRIPTION, "version": __version__}
        )
        super().__init__(
            RestorationModule,
            OneShotDataModule,
            subclass_mode_model=True,
            auto_configure_optimizers=False,
            save_config_callback=FitConfigSaver,
            seed_everything_default=0,
            args=args,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        """Defaults, the two checkpoint savers, the image writer and the patch-size link."""
        parser.set_defaults({"model": DEFAULT_MODEL})
        # One device unless asked (Lightning's "auto" would take every GPU); logs every 25
        # steps, since a one-shot run is only a few thousand steps long.
        parser.set_defaults({"trainer.devices": 1, "trainer.log_every_n_steps": 25})
        # Two savers in one fixed folder: the best by val/psnr, and the latest state at every
        # validation (Lightning's save_last only follows a new best, which breaks resuming).
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "checkpoint.filename": "best",
                "checkpoint.monitor": "val/psnr",
                "checkpoint.mode": "max",
                "checkpoint.enable_version_counter": False,
            }
        )
        parser.add_lightning_class_args(ModelCheckpoint, "last_checkpoint")
        parser.set_defaults(
            {
                "last_checkpoint.filename": "last",
                "last_checkpoint.monitor": None,
                "last_checkpoint.enable_version_counter": False,
            }
        )
        for key in ("checkpoint", "last_checkpoint"):
            parser.link_arguments("trainer.default_root_dir", f"{key}.dirpath", checkpoint_dir)
        parser.add_lightning_class_args(StartingPoint, "starting_point")
        parser.add_lightning_class_args(DivergenceStop, "divergence")
        parser.add_lightning_class_args(TeacherCheck, "teacher_check")
        parser.add_lightning_class_args(AlignmentReport, "alignment_report")
        parser.add_lightning_class_args(BlurReport, "blur_report")
        parser.add_lightning_class_args(ValidationSamples, "samples")
        parser.add_lightning_class_args(ImageWriter, "writer")
        parser.add_lightning_class_args(TestReport, "test_report")
        parser.link_arguments("model", "data.patch_size", model_patch_size, apply_on="instantiate")

    def _parse_ckpt_path(self) -> None:
        """Take the architecture from ``--ckpt_path``, the rest from the command line.

        Lightning's own version (a private hook, pinned by tests/test_lightning_api.py)
        applies every saved init arg over the command line, so that ``--model.metric_border``
        etc. would be ignored.
        """
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if ckpt_path is None or ckpt_path in ("last", "best", "hpc", "registry"):
            return
        hparams = load_hyperparameters(ckpt_path)
        model = architecture_config(hparams, RestorationModule)
        self.config = self.parser.parse_object({subcommand: {"model": model}}, self.config)

    def before_instantiate_classes(self) -> None:
        """Refuse what would fail or lose work later; fill in per-subcommand defaults."""
        config = self.config[self.subcommand]
        folder = Path(checkpoint_dir(config.trainer.default_root_dir))
        if self.subcommand == "fit" and config.get("ckpt_path") is None:
            refuse_used_checkpoint_dir(folder)
        if self.subcommand == "fit":
            refuse_plain_ddp_for_gans(config)
        if config.get("ckpt_path") == "last" and not (folder / "last.ckpt").is_file():
            # Lightning would only warn and quietly start from scratch.
            raise InputError(f"nothing to resume: no last.ckpt in {folder}")
        if self.subcommand == "fit" and config.get("ckpt_path") == "last":
            refuse_architecture_change(config, folder / "last.ckpt")
        if "weights_only" in config and config.weights_only is None:
            config.weights_only = True  # a checkpoint is data: never run pickled code from it
        if self.subcommand == "predict" and config.get("return_predictions") is None:
            # The writer keeps every prediction on disk; holding them in memory too is waste.
            config.return_predictions = False
        if self.subcommand in ("predict", "test"):
            # They save no checkpoints, so another run folder's checkpoint state is moot.
            warnings.filterwarnings("ignore", message="The dirpath has changed from")
        add_progress_bar(config.trainer)
        if self.subcommand == "predict" and config.trainer.get("logger") is None:
            config.trainer.logger = False
        elif config.trainer.get("logger") in (None, True):
            config.trainer.logger = {
                "class_path": "lightning.pytorch.loggers.CSVLogger",
                "init_args": {"save_dir": config.trainer.default_root_dir or os.getcwd()},
            }


E = TypeVar("E", bound=BaseException)


def find_cause(error: BaseException | None, kind: type[E]) -> E | None:
    """The exception of type ``kind`` behind ``error``, which jsonargparse may have wrapped."""
    while error is not None and not isinstance(error, kind):
        error = error.__cause__ or error.__context__
    return error


def user_error(error: BaseException) -> InputError | None:
    """The one line to show for ``error``: an :class:`InputError`, or a missing package."""
    found = find_cause(error, InputError)
    if found is not None:
        return found
    missing = find_cause(error, ModuleNotFoundError)
    if missing is None:
        return None
    return InputError(
        f"{str(missing).splitlines()[0]} (install the missing package; for TensorBoard "
        "logging: pip install 'oneshot-lightning[loggers]', or pip install -e '.[loggers]' "
        "in a checkout)"
    )


#: Lightning warnings that say nothing actionable about this tool's runs.
QUIET_WARNINGS = (
    "LightningCLI's args parameter is intended",  # main([...]) is our supported API
    "Your `IterableDataset` has `__len__` defined",  # patches are drawn in the main process
    "`isinstance(treespec, LeafSpec)` is deprecated",  # Lightning internals vs newer torch
    # test/predict from a checkpoint need no Timer (max_time) state
    "Be aware that when using `ckpt_path`, callbacks used",
    # val/test values come from torchmetrics, already synchronised across processes
    "It is recommended to use `self.log('val/",
    "It is recommended to use `self.log('test/",
    # predict --writer.skip_existing with every output there: the writer says so itself
    "Total length of `DataLoader` across ranks is zero",
)


def main(args: list[str] | None = None) -> None:
    """Entry point of ``oneshot`` and ``python -m oneshot_lightning``."""
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(message))
    argv = sys.argv[1:] if args is None else list(args)
    try:
        if argv[:1] == ["export"]:
            export_main(argv[1:])
        else:
            OneShotCLI(args=args)
    except Exception as error:
        line = user_error(error)
        if line is None:
            raise
        print(f"oneshot: error: {line}", file=sys.stderr)
        raise SystemExit(2) from None
