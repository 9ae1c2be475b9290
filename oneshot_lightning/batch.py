"""The one batch format of every split, made by the data module and read by the models.

A batch is a dict:

- ``input``: (B, C, h, w) degraded images (training: random patches);
- ``target``: (B, C, s h, s w) clean images at the super-resolution scale s; absent when
  restoring (``predict``), where nothing clean exists;
- ``name``: B image names (file stems), for tables and output files; absent for training
  patches, which have none.

Training batches hold equal-sized patches; validation, test and predict batches hold whole
images, one per batch, since their sizes differ. Between the patch stream and the device a
training batch may also hold ``fresh``: (F, C, s W, s W) clean crops that the data module
degrades on the device and appends to ``input`` and ``target`` (``data/synthesis.py``);
models never see it.

A predict batch holds one *plane* of a file: the file itself when it is one grey or RGB
image, else one page of a stack or one channel of a multi-channel file (see
:class:`~oneshot_lightning.data.io.ImageLayout`), in [0, 1] whatever the file's type. What the
writer needs to put a file back together (which file and plane a batch index is, the file's
layout, the map back to its stored values) is not in the batch: it comes from the data
module (``OneShotDataModule.prediction_files``).
"""

from __future__ import annotations

from typing import TypedDict

from torch import Tensor


class Batch(TypedDict, total=False):
    """A batch of any split; see the module docstring for the keys."""

    input: Tensor
    target: Tensor
    name: list[str]
    fresh: Tensor


class Sample(TypedDict, total=False):
    """One whole image of a batch before batching: (C, h, w) tensors and a ``name`` string."""

    input: Tensor
    target: Tensor
    name: str
