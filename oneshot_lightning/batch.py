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
