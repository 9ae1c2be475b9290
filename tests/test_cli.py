"""End-to-end runs of the real CLI (``main([...])`` and the installed ``oneshot`` script)."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import oneshot_lightning
from oneshot_lightning.data.io import read_image, write_image
from oneshot_lightning.data.pairs import SAMPLE_IMAGE
from oneshot_lightning.functional import quantize
from oneshot_lightning.metrics import psnr
from oneshot_lightning.models import RestorationModule, load_model
from tests.conftest import UNSEEN_IMAGE

ROOT = Path(__file__).resolve().parents[1]
COFFEE = UNSEEN_IMAGE


def checkpoint_step(path: Path) -> int:
    return torch.load(path, weights_only=True, map_location="cpu")["global_step"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny training run on the bundled sample, shared by the tests below."""
    from oneshot_lightning.cli import main

    root = tmp_path_factory.mktemp("run")
    main(
        [
            "fit",
            "--config",
            str(ROOT / "tests/conf/rnn_tiny.yaml"),
            "--trainer.default_root_dir",
            str(root),
        ]
    )
    return root


def test_fit_writes_checkpoints_config_and_metrics(trained: Path) -> None:
    assert (trained / "checkpoints" / "best.ckpt").is_file()
    assert checkpoint_step(trained / "checkpoints" / "last.ckpt") == 10
    log_dir = trained / "lightning_logs" / "version_0"
    assert "RNNSparseCoder" in (log_dir / "config.yaml").read_text()
    with open(log_dir / "metrics.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["val/psnr"]]
    assert len(rows) == 2 and all(10 < float(row["val/psnr"]) < 60 for row in rows)


def test_predict_needs_only_the_checkpoint(trained: Path, tmp_path: Path, cli) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    shutil.copy(COFFEE, inputs / "coffee.png")
    write_image(inputs / "grey.png", read_image(COFFEE).mean(0, keepdim=True)[:, :40, :30])
    # The latest weights: a tiny run's best.ckpt may be its untrained start (the identity).
    checkpoint = trained / "checkpoints" / "last.ckpt"
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", inputs,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    written = read_image(tmp_path / "out" / "coffee.png")
    assert written.shape == (3, 192, 192)
    assert read_image(tmp_path / "out" / "grey.png").shape == (1, 40, 30)
    assert not (Path.cwd() / "config.yaml").exists()
    # The trained weights were used: the file is the checkpoint's restoration, not the input.
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")
    with torch.inference_mode():
        expected = model.restore(read_image(COFFEE)[None])[0]
    assert (written - expected).abs().max() <= 0.5 / 255 + 1e-6
    assert (written - read_image(COFFEE)).abs().max() > 0.5 / 255  # not the identity


def test_test_reports_mean_and_per_image(trained: Path, tmp_path: Path, cli, capsys) -> None:
    (tmp_path / "gt").mkdir()
    (tmp_path / "in").mkdir()
    sharp = read_image(COFFEE)
    for name, noise in (("a", 0.02), ("b", 0.1)):  # different errors: pooled != per-image
        noisy = (sharp + noise * torch.randn_like(sharp)).clamp(0, 1)
        write_image(tmp_path / "gt" / f"{name}.png", sharp)
        write_image(tmp_path / "in" / f"{name}.png", noisy)
    checkpoint = trained / "checkpoints" / "best.ckpt"
    cli("test", "--config", ROOT / "tests/conf/rnn_tiny.yaml", "--ckpt_path", checkpoint,
        "--data.test_input", tmp_path / "in", "--data.test_target", tmp_path / "gt",
        "--model.metric_border", 8, "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    out = capsys.readouterr().out
    assert "test/psnr" in out and "border 8" in out and "8-bit outputs" in out
    with open(tmp_path / "run" / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        logged = next(csv.DictReader(handle))
    model = RestorationModule.load_from_checkpoint(checkpoint, map_location="cpu")
    values = []
    with torch.inference_mode():
        for name in ("a", "b"):
            restored = model.restore(read_image(tmp_path / "in" / f"{name}.png")[None])
            # Scored as predict writes it: rounded to 8 bits.
            values.append(psnr(quantize(restored), sharp[None], border=8).item())
            assert f"{values[-1]:.2f}" in out  # the per-image table
    assert float(logged["test/psnr"]) == pytest.approx(sum(values) / 2, abs=1e-3)


def test_resume_continues_from_last(tmp_path: Path, cli, tiny_config: Path) -> None:
    common = ["--config", tiny_config, "--trainer.default_root_dir", tmp_path]
    cli("fit", *common, "--trainer.max_epochs", 1)
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == 5
    cli("fit", *common, "--trainer.max_epochs", 2, "--ckpt_path", "last")
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == 10
    # The second run went on from step 5 rather than training 10 steps afresh.
    with open(tmp_path / "lightning_logs" / "version_1" / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert min(steps) >= 5


def test_resume_with_another_architecture_is_one_line(
    tmp_path: Path, cli, tiny_config: Path, capsys
) -> None:
    common = ["--config", tiny_config, "--trainer.default_root_dir", tmp_path]
    cli("fit", *common, "--trainer.max_epochs", 1)
    before = (tmp_path / "checkpoints" / "last.ckpt").read_bytes()
    for flags, expected in (
        (["--model.net.init_args.latent", 64],
         "model.net.init_args.latent: checkpoint 32, command line 64"),
        (["--model.net", "oneshot_lightning.models.nets.UNet"],
         "model.net.class_path: checkpoint oneshot_lightning.models.nets.RNNSparseCoder, "
         "command line oneshot_lightning.models.nets.UNet"),
    ):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            cli("fit", *common, "--trainer.max_epochs", 2, "--ckpt_path", "last", *flags)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        last_line = err.strip().splitlines()[-1]
        assert last_line.startswith("oneshot: error: cannot resume") and expected in last_line
    assert (tmp_path / "checkpoints" / "last.ckpt").read_bytes() == before
    # Settings that shape no weights may change on resume.
    cli("fit", *common, "--trainer.max_epochs", 2, "--ckpt_path", "last",
        "--model.optimizer.init_args.lr", 0.0005)  # fmt: skip
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == 10


#: Configs that start from another config's model (``model.init_from``), and that config.
STARTS_FROM = {"denoise_adapt.yaml": "denoise.yaml"}


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_shipped_configs_run_as_is_on_the_sample(config: str, tmp_path: Path, cli) -> None:
    tiny = ("--trainer.max_epochs", 1, "--data.steps_per_epoch", 2, "--data.batch_size", 16,
            "--trainer.enable_progress_bar", "false", "--trainer.callbacks", "[]")  # fmt: skip
    start: tuple[str | Path, ...] = ()
    if config in STARTS_FROM:
        first = tmp_path / "first"
        cli("fit", "--config", ROOT / "configs" / STARTS_FROM[config],
            "--trainer.default_root_dir", first, *tiny)  # fmt: skip
        start = ("--model.init_from", first / "checkpoints" / "last.ckpt")
    cli("fit", "--config", ROOT / "configs" / config, "--trainer.default_root_dir", tmp_path,
        *tiny, *start)  # fmt: skip
    # Manual optimisation counts the discriminator's and the generator's steps.
    optimizer_steps = 4 if "gan" in config else 2
    assert checkpoint_step(tmp_path / "checkpoints" / "last.ckpt") == optimizer_steps
    cli("predict", "--ckpt_path", tmp_path / "checkpoints" / "last.ckpt",
        "--data.predict", COFFEE, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    scale = load_model(tmp_path / "checkpoints" / "last.ckpt").scale
    assert read_image(tmp_path / "out" / "coffee.png").shape == (3, 192 * scale, 192 * scale)


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    (tmp / "text.png").write_text("not an image")
    (tmp / "cut.png").write_bytes(SAMPLE_IMAGE.read_bytes()[:2000])
    write_image(tmp / "tiny.png", torch.rand(3, 12, 12))
    return {
        "missing": (["--data.target", str(tmp / "missing.png")], "image not found"),
        "not an image": (["--data.target", str(tmp / "text.png")], "not an image"),
        "truncated": (["--data.target", str(tmp / "cut.png")], "truncated or corrupt"),
        "sizes differ": (
            ["--data.input", str(COFFEE), "--data.target", str(SAMPLE_IMAGE)],
            "pair sizes don't fit",
        ),
        "smaller than a patch": (
            [
                "--data.target",
                str(tmp / "tiny.png"),
                "--model.net.init_args.patch_size",
                "15",
                "--model.net.init_args.latent",
                "64",
            ],
            "smaller than one 15x15 patch",
        ),
        "even patch": (["--model.net.init_args.patch_size", "4"], "odd"),
        "negative sigma": (["--data.degradation.init_args.noise_sigma", "-1"], "noise_sigma"),
        "diverging": (["--model.optimizer.init_args.lr", "1e30"], "training diverged"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not an image",
        "truncated",
        "sizes differ",
        "smaller than a patch",
        "even patch",
        "negative sigma",
        "diverging",
    ],
)
def test_bad_input_exits_with_one_line(case: str, tmp_path: Path, cli, tiny_config, capsys) -> None:
    args, message = bad_inputs(tmp_path)[case]
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path / "run", *args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith("oneshot: error:") and message in last_line
    assert "Traceback" not in err
    saved = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("*"))
    # Bad input stops before anything is written; a run that diverges keeps only the
    # untrained start (saved before the first step), never weights that went bad.
    assert saved == (["start.ckpt"] if case == "diverging" else [])


def test_predict_refuses_to_overwrite_an_input(trained: Path, tmp_path: Path, cli, capsys) -> None:
    shutil.copy(COFFEE, tmp_path / "coffee.png")
    before = (tmp_path / "coffee.png").read_bytes()
    checkpoint = trained / "checkpoints" / "best.ckpt"
    with pytest.raises(SystemExit) as info:
        cli("predict", "--ckpt_path", checkpoint, "--data.predict", tmp_path,
            "--writer.output_dir", tmp_path)  # fmt: skip
    assert info.value.code == 2
    assert "refusing to write into a folder that holds an input" in capsys.readouterr().err
    assert (tmp_path / "coffee.png").read_bytes() == before
    # An existing output is kept unless --writer.overwrite says otherwise.
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "coffee.png").write_bytes(b"mine")
    common = ["predict", "--ckpt_path", checkpoint, "--data.predict", tmp_path / "coffee.png",
              "--writer.output_dir", tmp_path / "out"]  # fmt: skip
    with pytest.raises(SystemExit):
        cli(*common)
    assert "pass --writer.overwrite true" in capsys.readouterr().err
    assert (tmp_path / "out" / "coffee.png").read_bytes() == b"mine"
    cli(*common, "--writer.overwrite", "true")
    assert read_image(tmp_path / "out" / "coffee.png").shape == (3, 192, 192)


def test_foreign_checkpoint_is_refused(tmp_path: Path, cli, capsys) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"\x00junk")
    for name, message in (
        ("other.ckpt", "not a Lightning checkpoint"),
        ("junk.ckpt", "not a loadable checkpoint"),
        ("none.ckpt", "checkpoint not found"),
    ):
        with pytest.raises(SystemExit):
            cli(
                "predict",
                "--ckpt_path",
                tmp_path / name,
                "--data.predict",
                COFFEE,
                "--writer.output_dir",
                tmp_path / "out",
            )
        assert message in capsys.readouterr().err


def test_installed_console_script(tmp_path: Path) -> None:
    oneshot = shutil.which("oneshot", path=str(Path(sys.executable).parent))
    assert oneshot is not None, "the oneshot console script is not installed"
    result = subprocess.run(
        [
            oneshot,
            "fit",
            "--config",
            str(ROOT / "tests/conf/rnn_tiny.yaml"),
            "--data.target",
            str(tmp_path / "missing.png"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"oneshot: error: image not found: {tmp_path / 'missing.png'}"
    )
    help_text = subprocess.run(
        [sys.executable, "-m", "oneshot_lightning", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert help_text.returncode == 0 and "fit" in help_text.stdout


def test_resume_without_a_checkpoint_is_refused(tmp_path: Path, cli, tiny_config, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path,
            "--ckpt_path", "last")  # fmt: skip
    assert info.value.code == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_grey_training_pair_with_an_rgb_net(tmp_path: Path, cli, tiny_config) -> None:
    write_image(tmp_path / "grey.png", read_image(SAMPLE_IMAGE).mean(0, keepdim=True))
    cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path / "run",
        "--data.target", tmp_path / "grey.png", "--trainer.max_epochs", 1)  # fmt: skip
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_predict_refuses_images_smaller_than_a_patch(
    trained: Path, tmp_path: Path, cli, capsys
) -> None:
    write_image(tmp_path / "tiny.png", torch.rand(3, 3, 40))
    with pytest.raises(SystemExit):
        cli("predict", "--ckpt_path", trained / "checkpoints" / "best.ckpt",
            "--data.predict", tmp_path / "tiny.png",
            "--writer.output_dir", tmp_path / "out")  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "tiny.png (40x3) is smaller than one 5x5 patch" in err


def test_super_resolution_round_trip(tmp_path: Path, cli) -> None:
    cli("fit", "--config", ROOT / "tests/conf/sr_tiny.yaml",
        "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    write_image(tmp_path / "low.png", read_image(COFFEE)[:, :45, :30])
    cli("predict", "--ckpt_path", tmp_path / "run" / "checkpoints" / "best.ckpt",
        "--data.predict", tmp_path / "low.png",
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    assert read_image(tmp_path / "out" / "low.png").shape == (3, 90, 60)
    # Validation reported the super-resolution metrics beside the RGB ones.
    with open(tmp_path / "run" / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        assert {"val/psnr_y", "val/ssim_y"} <= set(next(csv.DictReader(handle)))


def test_super_resolution_pair_sizes_and_scale_must_fit(tmp_path: Path, cli, capsys) -> None:
    sr_config = ROOT / "tests/conf/sr_tiny.yaml"
    write_image(tmp_path / "low.png", torch.rand(3, 50, 40))
    with pytest.raises(SystemExit):
        cli("fit", "--config", sr_config, "--trainer.default_root_dir", tmp_path / "a",
            "--data.input", tmp_path / "low.png", "--data.target", SAMPLE_IMAGE)  # fmt: skip
    assert "expected a target of 80x100" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli("fit", "--config", sr_config, "--trainer.default_root_dir", tmp_path / "b",
            "--data.scale", 3)  # fmt: skip
    assert "data.scale is 3 but the model's net works at scale 2" in capsys.readouterr().err


def test_divergence_never_leaves_a_broken_checkpoint(tmp_path: Path, cli, capsys) -> None:
    # One step per epoch: weights that go bad on an epoch's last step meet validation first.
    with pytest.raises(SystemExit):
        cli("fit", "--config", ROOT / "tests/conf/sr_tiny.yaml", "--trainer.max_epochs", 3,
            "--data.steps_per_epoch", 1, "--model.optimizer.init_args.lr", "1e30",
            "--trainer.default_root_dir", tmp_path)  # fmt: skip
    assert "training diverged" in capsys.readouterr().err
    for checkpoint in (tmp_path / "checkpoints").glob("*.ckpt"):
        weights = torch.load(checkpoint, weights_only=True)["state_dict"].values()
        assert all(torch.isfinite(w).all() for w in weights), checkpoint.name


def test_small_super_resolution_pair_trains(tmp_path: Path, cli) -> None:
    high = read_image(COFFEE)[:, :80, :80]
    write_image(tmp_path / "hr.png", high)
    write_image(tmp_path / "lr.png", high[:, ::2, ::2])
    cli("fit", "--config", ROOT / "tests/conf/sr_tiny.yaml", "--trainer.max_epochs", 1,
        "--data.input", tmp_path / "lr.png", "--data.target", tmp_path / "hr.png",
        "--trainer.default_root_dir", tmp_path / "run")  # fmt: skip
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()


def test_decompression_bomb_is_refused(trained: Path, tmp_path: Path, cli, capsys) -> None:
    from PIL import Image

    bomb = tmp_path / "bomb.png"
    Image.new("1", (12_000, 9_000)).save(bomb)  # 108 megapixels in a few kilobytes
    assert bomb.stat().st_size < 100_000
    with pytest.raises(SystemExit) as info:
        cli("predict", "--ckpt_path", trained / "checkpoints" / "best.ckpt",
            "--data.predict", bomb, "--writer.output_dir", tmp_path / "out")  # fmt: skip
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("oneshot: error: ") and "ONESHOT_MAX_PIXELS" in err[-1]
    assert not any((tmp_path / "out").glob("*.png"))


def test_precision_flag_passes_through(tmp_path: Path, cli, tiny_config: Path) -> None:
    cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path,
        "--trainer.precision", "bf16-mixed")  # fmt: skip
    with open(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") as handle:
        psnrs = [float(row["val/psnr"]) for row in csv.DictReader(handle) if row["val/psnr"]]
    assert len(psnrs) == 2 and all(20 < value < 60 for value in psnrs)
    cli("predict", "--ckpt_path", tmp_path / "checkpoints" / "last.ckpt",
        "--trainer.precision", "bf16-mixed", "--data.predict", COFFEE,
        "--writer.output_dir", tmp_path / "out")  # fmt: skip
    restored = read_image(tmp_path / "out" / "coffee.png")
    assert psnr(restored[None], read_image(COFFEE)[None]).item() > 25


def test_version_and_help_say_what_the_tool_is(cli, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli("--version")
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"oneshot {oneshot_lightning.__version__}"
    with pytest.raises(SystemExit):
        cli("--help")
    assert "restoration" in capsys.readouterr().out


def test_a_logger_without_its_package_is_one_line(tmp_path: Path, cli, tiny_config, capsys) -> None:
    if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX"):
        pytest.skip("TensorBoard is installed here")
    with pytest.raises(SystemExit) as info:
        cli("fit", "--config", tiny_config, "--trainer.default_root_dir", tmp_path,
            "--trainer.logger", "lightning.pytorch.loggers.TensorBoardLogger",
            "--trainer.logger.save_dir", tmp_path)  # fmt: skip
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "oneshot-lightning[loggers]" in err.strip().splitlines()[-1]
