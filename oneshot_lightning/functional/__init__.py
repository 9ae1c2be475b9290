"""Pure tensor operations: resizing, patches, tiling, quantising, symmetry, kernels, noise, texture.

Functions first (kornia's model): each says its shapes and units, takes tensors and plain
numbers, and imports nothing from the rest of the package but :mod:`oneshot_lightning.errors`.
Nets, LightningModules and the data module all build on them.
"""

from oneshot_lightning.functional.back_projection import back_project
from oneshot_lightning.functional.clipping import unclipped_mask, unclipped_weight, window_mean
from oneshot_lightning.functional.dihedral import (
    DIHEDRAL_COUNT,
    dihedral,
    is_dihedral_invariant,
    transpose_where,
    undo_dihedral,
)
from oneshot_lightning.functional.downscaling import (
    bicubic_kernel,
    downscaling_gaussian,
    kernel_downscale,
    relative_error,
    repeated_kernel,
)
from oneshot_lightning.functional.downscaling_estimation import (
    Downscaling,
    estimate_downscaling,
    resize_routine,
)
from oneshot_lightning.functional.kernels import (
    convolve,
    disk_kernel,
    gaussian_kernel,
    motion_kernel,
)
from oneshot_lightning.functional.noise import (
    add_gaussian_noise,
    add_poisson_noise,
    noise_generator,
)
from oneshot_lightning.functional.patches import (
    Box,
    allowed_positions,
    center_crop,
    extract_patches,
    holdout_blocks,
    sample_from_pairs,
    sample_patch_pairs,
)
from oneshot_lightning.functional.quantize import quantize
from oneshot_lightning.functional.range_clamp import clamp_to_neighbourhood
from oneshot_lightning.functional.recorruption import recorrupt
from oneshot_lightning.functional.resize import (
    bicubic_downscale,
    bicubic_upscale,
    bicubic_upscale_valid,
    imresize,
    mod_crop,
)
from oneshot_lightning.functional.resize_kernels import resize_kernel
from oneshot_lightning.functional.texture import (
    flat_fraction,
    gradient_energy,
    local_contrast,
    luma,
    patch_diversity,
    window_gradients,
)
from oneshot_lightning.functional.tiling import (
    match_channels,
    pad_for_patches,
    require_size,
    restore_channels,
    tiled,
    tiled_whole,
)

__all__ = [
    "DIHEDRAL_COUNT",
    "Box",
    "Downscaling",
    "add_gaussian_noise",
    "add_poisson_noise",
    "allowed_positions",
    "back_project",
    "bicubic_downscale",
    "bicubic_kernel",
    "bicubic_upscale",
    "bicubic_upscale_valid",
    "center_crop",
    "clamp_to_neighbourhood",
    "convolve",
    "dihedral",
    "disk_kernel",
    "downscaling_gaussian",
    "estimate_downscaling",
    "extract_patches",
    "flat_fraction",
    "gaussian_kernel",
    "gradient_energy",
    "holdout_blocks",
    "imresize",
    "is_dihedral_invariant",
    "kernel_downscale",
    "local_contrast",
    "luma",
    "match_channels",
    "mod_crop",
    "motion_kernel",
    "noise_generator",
    "pad_for_patches",
    "patch_diversity",
    "quantize",
    "recorrupt",
    "relative_error",
    "repeated_kernel",
    "require_size",
    "resize_kernel",
    "resize_routine",
    "restore_channels",
    "sample_from_pairs",
    "sample_patch_pairs",
    "tiled",
    "tiled_whole",
    "transpose_where",
    "unclipped_mask",
    "unclipped_weight",
    "undo_dihedral",
    "window_gradients",
    "window_mean",
]
