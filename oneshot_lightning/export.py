"""Take a trained model out of the package: TorchScript and ONNX files that restore images.

The exported graph is ``RestorationModule.restore`` (first stage, padding, net, self-ensemble,
clipping) on one (B, C, H, W) float image in [0, 1] of any height and width, with C the net's
channels. It is traced at one size; the loops that cut an image into tiles, bands or chunks
run once over the whole image, so every shape in the graph follows the input's. Each file is
checked after writing: it restores an image of another size as the checkpoint does, or the
export fails. Memory grows with the image (no tiling inside): cut large photos outside.
"""

from __future__ import annotations

import copy
import importlib.util
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from oneshot_lightning.errors import InputError
from oneshot_lightning.models import Deconvolution, RestorationModule, load_model
from oneshot_lightning.models.nets import restoration_net
from oneshot_lightning.models.whole_image import restore

#: The formats ``oneshot export`` writes, with their file suffixes.
FORMATS = {"torchscript": ".pt", "onnx": ".onnx"}

#: Knobs of nets and modules that cut a whole image into pieces in Python loops; a traced
#: graph must take the image in one piece, so they are set beyond any image size.
PIECE_SIZES = ("band_rows", "chunk_rows")

#: Sizes (H, W) the graph is traced at and checked at: not square, so that height and width
#: cannot be confused, and above every net's context and first-stage padding.
TRACE_SIZE, CHECK_SIZE = (96, 112), (131, 74)

#: Largest difference, exported file vs checkpoint, that the check after writing accepts.
TOLERANCE = 1e-4

_UNBOUNDED = 1 << 30


class GraphRestorer(nn.Module):
    """``restore`` of a copy of ``module``'s parts in one piece: (B, C, H, W) -> (B, C, s H, s W).

    Holds copies of the net and the first stage only (no Lightning state), on the CPU.
    """

    def __init__(self, module: RestorationModule) -> None:
        super().__init__()
        if module.back_projection:
            # Its bicubic resizing is built for each image size: a traced graph would keep one.
            raise InputError(
                "the model back-projects its outputs (model.back_projection "
                f"{module.back_projection}), which an exported graph cannot do at every size; "
                "restore with oneshot predict"
            )
        net = copy.deepcopy(module.restoring_net)
        assert isinstance(net, nn.Module)
        self.net = restoration_net(net.cpu().eval())
        first_stage = module.first_stage
        self.first_stage = None if first_stage is None else copy.deepcopy(first_stage).cpu().eval()
        # One piece: the tiles and the Python loops over them run once over the whole image.
        self.settings = replace(module.restore_settings, tile_size=_UNBOUNDED)
        self.requires_grad_(False)  # the files restore; their outputs need no gradient
        for part in self.modules():
            for name in PIECE_SIZES:
                if hasattr(part, name):
                    setattr(part, name, _UNBOUNDED)

    def forward(self, image: Tensor) -> Tensor:
        """(B, C, H, W) degraded in [0, 1] -> (B, C, s H, s W) restored, clipped to [0, 1]."""
        return restore(image, self.net, self.first_stage, self.settings)

    @property
    def smallest_side(self) -> int:
        """The least height and width of an image the graph restores as the checkpoint does.

        Padding by reflection needs more pixels than it mirrors, and the trace fixed that
        branch: the net's context, and the first stage's padding (its kernel's side).
        """
        side = self.net.context
        if isinstance(self.first_stage, Deconvolution):
            side = max(side, self.first_stage.padding + 1)
        return side


def example_image(channels: int, size: tuple[int, int], seed: int = 0) -> Tensor:
    """A (1, C, H, W) smooth random image in [0, 1], the input traced and checked with."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, channels, size[0] // 8 + 2, size[1] // 8 + 2, generator=generator)
    smooth = nn.functional.interpolate(coarse, size=size, mode="bicubic", align_corners=False)
    noise = 0.05 * torch.randn(1, channels, *size, generator=generator)
    return (smooth + noise).clamp(0, 1)


def to_torchscript(graph: GraphRestorer, path: Path) -> Callable[[Tensor], Tensor]:
    """Trace ``graph`` to ``path``; the loaded file, as a function of (B, C, H, W) images."""
    example = example_image(graph.net.channels, TRACE_SIZE)
    with torch.no_grad(), warnings.catch_warnings():
        # Shapes are traced symbolically; the warnings are about the loops made one piece.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(graph, example, check_trace=False)
    traced.save(str(path))
    loaded = torch.jit.load(str(path))

    def run(image: Tensor) -> Tensor:
        with torch.no_grad():
            return loaded(image)

    return run


def to_onnx(graph: GraphRestorer, path: Path) -> Callable[[Tensor], Tensor] | None:
    """Export ``graph`` to ``path`` as ONNX with dynamic height and width.

    Returns the file as a function run by onnxruntime, or ``None`` if that is not installed.
    """
    example = example_image(graph.net.channels, TRACE_SIZE)
    axes = {2: "height", 3: "width"}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and exporter notes, checked below instead
            torch.onnx.export(
                graph,
                (example,),
                str(path),
                dynamo=False,
                input_names=["image"],
                output_names=["restored"],
                dynamic_axes={"image": {0: "batch"} | axes, "restored": {0: "batch"} | axes},
                opset_version=17,
            )
    except Exception as error:  # the exporter fails in many ways on operators ONNX lacks
        path.unlink(missing_ok=True)
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise InputError(
            f"this model does not export to ONNX ({type(error).__name__}: {detail}); "
            "model.first_stage and unrolled nets need the FFT, Patch2Patch needs col2im: "
            "export --format torchscript"
        ) from None
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def run(image: Tensor) -> Tensor:
        (restored,) = session.run(None, {"image": image.numpy()})
        return torch.from_numpy(np.asarray(restored))

    return run


def check_export(graph: GraphRestorer, run: Callable[[Tensor], Tensor], path: Path) -> float:
    """The largest difference between the file at ``path`` and ``graph`` on two other sizes.

    The sizes: :data:`CHECK_SIZE` and the graph's smallest. Raises ``RuntimeError`` (and
    removes the file) above :data:`TOLERANCE` or at a wrong output shape.
    """
    smallest = graph.smallest_side
    worst = 0.0
    for seed, size in enumerate((CHECK_SIZE, (smallest, smallest + 1))):
        image = example_image(graph.net.channels, size, seed=seed + 1)
        with torch.no_grad():
            expected = graph(image)
        restored = run(image)
        if restored.shape != expected.shape:
            path.unlink()
            raise RuntimeError(
                f"{path} gave {tuple(restored.shape)}, not {tuple(expected.shape)}"
            )
        worst = max(worst, float((restored - expected).abs().max()))
        if worst > TOLERANCE:
            path.unlink()
            raise RuntimeError(f"{path} differs from the checkpoint by {worst:.2g} at {size}")
    return worst


def export(
    module: RestorationModule,
    out: str | Path,
    formats: Sequence[str] = tuple(FORMATS),
    overwrite: bool = False,
) -> dict[str, tuple[Path, float | None]]:
    """Write ``module`` as ``out.pt`` (TorchScript) and/or ``out.onnx``, each one checked.

    See :func:`write_graph`.
    """
    return write_graph(GraphRestorer(module), out, formats, overwrite)


def write_graph(
    graph: GraphRestorer,
    out: str | Path,
    formats: Sequence[str] = tuple(FORMATS),
    overwrite: bool = False,
) -> dict[str, tuple[Path, float | None]]:
    """Write ``graph`` as ``out.pt`` (TorchScript) and/or ``out.onnx``, each one checked.

    Returns, per format, the file and its largest difference from ``module`` on images of
    other sizes than the traced one (``None``: ONNX written, onnxruntime not installed).
    """
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        raise InputError(f"--format must be among {', '.join(FORMATS)}, got {list(formats)}")
    stem = Path(out)
    paths = {name: stem.with_name(stem.name + FORMATS[name]) for name in formats}
    taken = [str(path) for path in paths.values() if path.exists()]
    if taken and not overwrite:
        raise InputError(f"{', '.join(taken)} exists: pick another --out, or pass --overwrite")
    if not stem.parent.is_dir():
        raise InputError(f"--out: folder {stem.parent} does not exist")
    results: dict[str, tuple[Path, float | None]] = {}
    for name, path in paths.items():
        run = to_torchscript(graph, path) if name == "torchscript" else to_onnx(graph, path)
        results[name] = (path, None if run is None else check_export(graph, run, path))
    return results


def describe(graph: GraphRestorer, name: str, path: Path, difference: float | None) -> str:
    """One line on an exported file: what it takes and how it was checked."""
    channels, side = graph.net.channels, graph.smallest_side
    scale = graph.net.scale**graph.settings.passes
    check = (
        "not run (pip install onnxruntime to check)"
        if difference is None
        else f"max difference {difference:.1g} at {CHECK_SIZE[1]}x{CHECK_SIZE[0]} and "
        f"{side + 1}x{side}"
    )
    return (
        f"wrote {path} ({name}): (B, {channels}, H, W) float32 in [0, 1] -> "
        f"(B, {channels}, {scale} H, {scale} W), any H, W >= {side}; "
        f"checked against the checkpoint: {check}"
    )


def main(args: Sequence[str]) -> None:
    """``oneshot export``: a checkpoint to TorchScript and ONNX files."""
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(
        prog="oneshot export",
        description="Write a checkpoint as TorchScript (.pt) and ONNX (.onnx) files that "
        "restore a whole image of any size, as `oneshot predict` does.",
    )
    parser.add_argument("--ckpt_path", type=str, required=True, help="checkpoint of oneshot fit")
    parser.add_argument("--out", type=str, required=True, help="file path without suffix")
    parser.add_argument(
        "--format", type=list[str], default=list(FORMATS), help="torchscript, onnx or both"
    )
    parser.add_argument("--overwrite", type=bool, default=False, help="replace existing files")
    config = parser.parse_args(list(args))
    graph = GraphRestorer(load_model(config.ckpt_path))
    results = write_graph(graph, config.out, config.format, config.overwrite)
    for name, (path, difference) in results.items():
        print(describe(graph, name, path, difference))
