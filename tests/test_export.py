"""``oneshot export``: TorchScript and ONNX files that restore any size as ``predict`` does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch

from oneshot_lightning.api import model_from_config
from oneshot_lightning.data.io import read_image
from oneshot_lightning.errors import InputError
from oneshot_lightning.export import GraphRestorer, export
from oneshot_lightning.functional import gaussian_kernel
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.models.nets import DegradationAware
from tests.conftest import CONF, UNSEEN_IMAGE
from tests.test_api import python_block

ROOT = Path(__file__).resolve().parents[1]
#: Two sizes, neither the traced one (96x112), for the comparison with ``predict``.
SIZES = ((70, 131), (157, 90))
#: Shipped configs whose graphs hold operators that ONNX (opset 17) lacks.
NOT_ONNX = {"deblur", "rnn", "rnn_patch2patch", "unrolled"}
#: Shipped configs that back-project their outputs: a graph cannot (predict restores them).
BACK_PROJECTED = {"zssr_x2", "zssr_x4", "zssr_blind_x2", "zssr_blind_x4"}
needs_onnxruntime = pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed"
)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny RNN runs through ``oneshot fit``: with the deconvolution first stage, and without."""
    from oneshot_lightning.cli import main

    runs = {}
    for name, extra in (("plain", []), ("first_stage", ["--model.first_stage", "Deconvolution"])):
        root = tmp_path_factory.mktemp(name)
        main(["fit", "--config", str(CONF / "rnn_tiny.yaml"),
              "--trainer.default_root_dir", str(root), *extra])  # fmt: skip
        runs[name] = root / "checkpoints" / "last.ckpt"
    return runs


def predicted(cli, checkpoint: Path, folder: Path) -> dict[str, np.ndarray]:
    """``oneshot predict`` on two float TIFFs of other sizes; {size name: (input, output)}."""
    image = read_image(UNSEEN_IMAGE)
    (folder / "in").mkdir()
    for height, width in SIZES:
        planes = image[:, :height, :width].numpy().transpose(1, 2, 0)
        tifffile.imwrite(folder / "in" / f"{height}x{width}.tif", planes, photometric="rgb")
    cli("predict", "--ckpt_path", checkpoint, "--data.predict", folder / "in",
        "--writer.output_dir", folder / "out")  # fmt: skip
    return {
        path.stem: (tifffile.imread(path), tifffile.imread(folder / "out" / path.name))
        for path in sorted((folder / "in").glob("*.tif"))
    }


def run_torchscript(path: Path, planes: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 through the TorchScript file -> (H, W, 3)."""
    graph = torch.jit.load(str(path))
    with torch.no_grad():
        restored = graph(torch.from_numpy(planes).permute(2, 0, 1)[None])
    return restored[0].permute(1, 2, 0).numpy()


def run_onnx(path: Path, planes: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 through the ONNX file in onnxruntime -> (H, W, 3)."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (restored,) = session.run(None, {"image": planes.transpose(2, 0, 1)[None].copy()})
    return restored[0].transpose(1, 2, 0)


def test_torchscript_restores_as_predict_with_the_first_stage(
    checkpoints: dict[str, Path], tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("export", "--ckpt_path", checkpoints["first_stage"], "--out", tmp_path / "model",
        "--format", "[torchscript]")  # fmt: skip
    assert "model.pt (torchscript)" in capsys.readouterr().out
    for name, (planes, written) in predicted(cli, checkpoints["first_stage"], tmp_path).items():
        exported = run_torchscript(tmp_path / "model.pt", planes)
        assert exported.shape == written.shape, name
        np.testing.assert_allclose(exported, written, rtol=0, atol=1e-5, err_msg=name)
        assert np.abs(written - planes).max() > 1e-3, "restored, not copied"


@needs_onnxruntime
def test_onnx_and_torchscript_restore_as_predict(
    checkpoints: dict[str, Path], tmp_path: Path, cli
) -> None:
    cli("export", "--ckpt_path", checkpoints["plain"], "--out", tmp_path / "model")
    for name, (planes, written) in predicted(cli, checkpoints["plain"], tmp_path).items():
        for exported in (run_onnx(tmp_path / "model.onnx", planes),
                         run_torchscript(tmp_path / "model.pt", planes)):  # fmt: skip
            assert exported.shape == written.shape, name
            np.testing.assert_allclose(exported, written, rtol=0, atol=1e-5, err_msg=name)


def test_export_keeps_existing_files_and_says_what_to_do(
    checkpoints: dict[str, Path], tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "model.pt").write_bytes(b"mine")
    with pytest.raises(SystemExit) as exit_info:
        cli("export", "--ckpt_path", checkpoints["plain"], "--out", tmp_path / "model")
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--overwrite" in error
    assert (tmp_path / "model.pt").read_bytes() == b"mine"
    assert not (tmp_path / "model.onnx").exists()

    with pytest.raises(SystemExit):
        cli("export", "--ckpt_path", tmp_path / "missing.ckpt", "--out", tmp_path / "other")
    assert "checkpoint not found" in capsys.readouterr().err


def test_onnx_of_the_fft_first_stage_is_one_line(
    checkpoints: dict[str, Path], tmp_path: Path, cli, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli("export", "--ckpt_path", checkpoints["first_stage"], "--out", tmp_path / "model",
            "--format", "[onnx]")  # fmt: skip
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "--format torchscript" in error
    assert not (tmp_path / "model.onnx").exists()


def shipped_model(config: Path) -> RestorationModule:
    """The model a shipped config builds, its weights moved off their start, kernel set."""
    module = model_from_config(config)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in module.parameters():  # zero-initialised decoders would hide errors
            weight.add_(0.02 * torch.randn(weight.shape, generator=generator))
    for part in module.modules():
        if isinstance(part, DegradationAware):
            part.set_degradation(gaussian_kernel(9, 1.5), 0.01)
    return module


@pytest.mark.parametrize("config", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_config_exports(config: Path, tmp_path: Path) -> None:
    """ONNX where it can, one line where it cannot (TorchScript: tests/models/test_contract.py)."""
    module = shipped_model(config)
    if config.stem in BACK_PROJECTED:
        with pytest.raises(InputError, match="back-projects its outputs"):
            export(module, tmp_path / "m")
        assert not list(tmp_path.iterdir())  # nothing written
        module.back_projection = 0  # the rest of the model exports
    if importlib.util.find_spec("onnxruntime") is not None and config.stem not in NOT_ONNX:
        # export() restores two other sizes (one the smallest it accepts) with the file.
        path, difference = export(module, tmp_path / "m", ["onnx"])["onnx"]
        assert path.is_file() and difference is not None and difference <= 1e-5
    if config.stem in NOT_ONNX:
        with pytest.raises(InputError, match="--format torchscript"):
            export(module, tmp_path / "m", ["onnx"])
    assert GraphRestorer(module).smallest_side >= module.net.context


@needs_onnxruntime
def test_the_readme_example_runs(
    checkpoints: dict[str, Path], tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's export example, as written, on a checkpoint exported to ``model``."""
    monkeypatch.chdir(tmp_path)
    cli("export", "--ckpt_path", checkpoints["plain"], "--out", "model")
    names: dict[str, object] = {}
    exec(python_block("## Export: TorchScript and ONNX"), names)
    restored, restored_onnx = names["restored"], names["restored_onnx"]
    assert isinstance(restored, torch.Tensor) and restored.shape == (1, 3, 200, 300)
    np.testing.assert_allclose(restored_onnx, restored.numpy(), rtol=0, atol=1e-5)
