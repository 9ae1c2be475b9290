"""How a low-resolution photo was made smaller, from the photo alone, erring on the safe side.

Zero-shot super-resolution learns to undo one more downscaling of the photo and
back-projects onto it, both with the kernel that made the photo: a kernel wider than the true
one over-sharpens (MATLAB's bicubic assumed for a photo that OpenCV's ``INTER_CUBIC`` shrank
back-projects it 1.4-2.3 dB below plain bicubic), a narrower one merely gains less. So:

1. the candidates are the common resize routines (``functional.resize_kernels``) and, for
   camera photos, the Gaussian that the photo's patches recur best under
   (``functional.patch_recurrence``);
2. each candidate's misfit to the photo's power spectrum is measured
   (``functional.spectrum_fit``); those within ``PLAUSIBLE`` of the best remain;
3. a camera Gaussian, once patch recurrence prefers it to MATLAB's bicubic kernel, is taken;
   back-projection may use it fully (the model's iterations) only where no routine fits the
   spectrum within ``PLAUSIBLE`` of it, else ``downscaling_choice.ITERATIONS`` times, the
   amount the comparison below vets: a wide kernel converges slowly, so more iterations gain
   most where it is right and over-sharpen most where a smoother routine made the photo;
4. otherwise, of several routines the safest is taken (``functional.downscaling_choice``),
   possibly none: the photo is then learned as if shrunk without antialiasing, validated on
   copies shrunk by each plausible routine (the checkpoint kept must help on them all, on
   average) and not back-projected.

``PLAUSIBLE`` was chosen on the tuning photos of ``benchmarks/zero_shot_ingredients.py``
(scikit-image's, none of them a test image), each shrunk by nine resize routines and three
random camera kernels: 0.35 kept the true kernel of every photo but one (a smooth microscopy
image shrunk by ``INTER_CUBIC``, at 0.353), and 0.4 brought no photo below bicubic. Taking the
Gaussian over the safest routine (step 3) was measured on the same photos: on 27 camera-kernel
copies, back-projection alone gained +2.35 dB over bicubic on average instead of +2.14
(rocket +1.0 to +1.2 on three copies, hubble +2.3 on one: the area or bicubic kernel had
been chosen); of 63 copies made by seven resize routines, patch recurrence preferred a
Gaussian on three (all Pillow bilinear), where it gained +0.67 to +2.08 dB. Full trust where
a routine fits too lost up to 2.5 dB on those three at 16 iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from oneshot_lightning.errors import InputError
from oneshot_lightning.functional.downscaling import kernel_size, repeated_kernel
from oneshot_lightning.functional.downscaling_choice import ITERATIONS, safest_kernel
from oneshot_lightning.functional.patch_recurrence import recurrence_gaussian
from oneshot_lightning.functional.resize_kernels import ROUTINES, resize_kernel
from oneshot_lightning.functional.spectrum_fit import TILE, spectrum_misfits
from oneshot_lightning.functional.texture import luma

#: A candidate stays plausible while its spectrum misfit is at most this much above the best.
PLAUSIBLE = 0.4
#: The routine a photo is learned as when no kernel is safe to back-project with.
FALLBACK = "cubic_sampled"
#: The photo's centre, at most this wide and high, is compared (bounds the time).
SIDE = 256


@dataclass(frozen=True)
class Downscaling:
    """How a photo was shrunk: a resize routine (at any factor) or one step's kernel.

    Attributes:
        kernel: (K, K) the kernel of one step of factor ``scale``
            (``functional.downscaling``'s convention).
        scale: the step's factor s.
        description: the kernel in words, as the run's report says it.
        routine: the key of ``resize_kernels.ROUTINES`` when the kernel is a routine's.
        iterations: at most this many back-projection iterations are safe with it; ``None``:
            as many as the model does, 0: none (no kernel was safe).
        alternatives: routines (keys) the photo may as well have been shrunk by, when none
            was safe to choose: the zero-shot net is validated on copies shrunk by each too,
            so that the checkpoint kept helps whichever it was.
    """

    kernel: Tensor
    scale: int
    description: str
    routine: str | None = None
    iterations: int | None = None
    alternatives: tuple[str, ...] = ()

    @property
    def back_project(self) -> bool:
        """Whether outputs may be back-projected with it at all."""
        return self.iterations != 0

    def at(self, scale: int) -> Tensor:
        """(K', K') the kernel of the whole factor ``scale``, a power of the step's."""
        if self.routine is not None:
            return resize_kernel(self.routine, scale)
        steps = round(math.log(scale, self.scale)) if self.scale > 1 else 0
        if steps < 1 or self.scale**steps != scale:
            raise InputError(f"x{scale} is not a power of the x{self.scale} downscaling step")
        return repeated_kernel(self.kernel, self.scale, steps)


def resize_routine(key: str, scale: int) -> Downscaling:
    """The known resize routine ``key`` (``resize_kernels.ROUTINES``) at ``scale``."""
    return Downscaling(resize_kernel(key, scale), scale, ROUTINES[key].name, key)


def estimate_downscaling(photo: Tensor, scale: int, camera: bool = False) -> Downscaling:
    """How the (C, H, W) ``photo`` in [0, 1] was shrunk by ``scale`` (see the module's note).

    ``camera``: a Gaussian found by patch recurrence is a candidate too (a few seconds more).
    """
    smallest = max(TILE // 2, 2 * kernel_size(scale))
    if min(photo.shape[-2:]) < smallest:
        raise InputError(
            f"the photo is {photo.shape[-1]}x{photo.shape[-2]}: estimating how it was shrunk "
            f"x{scale} needs at least {smallest}x{smallest} pixels"
        )
    grey = centre(luma(photo.float()), SIDE)
    candidates = {key: resize_routine(key, scale) for key in ROUTINES}
    gaussian = recurrence_gaussian(photo, scale) if camera else None
    if gaussian is not None and gaussian.is_gaussian:
        found = Downscaling(gaussian.kernel, scale, gaussian.description)
        candidates = {"camera": found} | candidates
    misfits = spectrum_misfits(grey[0, 0], [c.kernel for c in candidates.values()], scale)
    fits = dict(zip(candidates, misfits))
    if "camera" in fits:
        return trusted_gaussian(candidates["camera"], fits)
    plausible = fitting(fits, min(misfits))
    chosen = safest_kernel(grey, [candidates[key].kernel for key in plausible], scale)
    if chosen is None:
        fallback = candidates[FALLBACK]
        others = tuple(key for key in plausible if key != FALLBACK)
        words = (
            f"not told apart ({', '.join(plausible)}): learned as {fallback.description}, "
            "validated on each, not back-projected"
        )
        return Downscaling(fallback.kernel, scale, words, FALLBACK, 0, others)
    found = candidates[plausible[chosen]]
    if len(plausible) == 1:
        return found
    words = f"{found.description} (the safest of {', '.join(plausible)})"
    return Downscaling(found.kernel, scale, words, found.routine, ITERATIONS)


def trusted_gaussian(gaussian: Downscaling, misfits: dict[str, float]) -> Downscaling:
    """The camera Gaussian, back-projected fully only if no routine's ``misfits`` come close."""
    rivals = [key for key in fitting(misfits, misfits["camera"]) if key != "camera"]
    if not rivals:
        return gaussian
    doubt = f"back-projected {ITERATIONS} times: {', '.join(rivals)} fit too"
    return Downscaling(
        gaussian.kernel, gaussian.scale, f"{gaussian.description} ({doubt})", None, ITERATIONS
    )


def fitting(misfits: dict[str, float], reference: float) -> list[str]:
    """The candidates whose spectrum misfit is within ``PLAUSIBLE`` of ``reference``."""
    return [key for key, misfit in misfits.items() if misfit <= (1 + PLAUSIBLE) * reference]


def centre(image: Tensor, side: int) -> Tensor:
    """(B, C, H, W) -> its centre, at most ``side`` x ``side``."""
    height, width = (min(length, side) for length in image.shape[-2:])
    top, left = (image.shape[-2] - height) // 2, (image.shape[-1] - width) // 2
    return image[..., top : top + height, left : left + width]
