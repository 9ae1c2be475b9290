"""Is the pair a good teacher? One line at the end of ``fit`` when it likely is not.

In the teacher study (``benchmarks/study_teachers.py``, results in ``benchmarks/RESULTS.md``),
each of the 24 Kodak images in turn taught deblurring and x2 super-resolution; how well a
model then restored other photos followed the texture of its clean training image, measured
by its gradient energy (the mean squared difference of neighbouring luma values), more than
its content. A pair whose clean image has little of it gets a note with the measured reason.
"""

from __future__ import annotations

from lightning.pytorch import Callback, LightningModule, Trainer

from oneshot_lightning.functional import flat_fraction, gradient_energy
from oneshot_lightning.models import RestorationModule
from oneshot_lightning.say import say


class TeacherCheck(Callback):
    """Note at the end of ``fit`` when the clean training image has little texture.

    Args:
        min_gradient_energy: the clean image's gradient energy, in (1/255)^2, below which the
            pair is called a weak teacher (``functional.gradient_energy``).
    """

    def __init__(self, min_gradient_energy: float = 100.0) -> None:
        self.min_gradient_energy = min_gradient_energy
        self.note: str | None = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Measure the clean training image (the pair as patches are drawn from it)."""
        pair = pl_module.training_pair if isinstance(pl_module, RestorationModule) else None
        if pair is None:
            return
        clean = pair.clean
        energy = gradient_energy(clean)
        if energy >= self.min_gradient_energy:
            self.note = None
            return
        flat = flat_fraction(clean)
        self.note = (
            f"note: the pair is likely a weak teacher: its clean image has little texture "
            f"(gradient energy {energy:.0f}, below {self.min_gradient_energy:.0f}; "
            f"{flat:.0%} of its 11x11 patches flat); a photo with more fine detail (foliage, "
            "fabric, brickwork, text) taught better in benchmarks/RESULTS.md's teacher study"
        )

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Print the note, if any, after the run's other lines."""
        if self.note is not None:
            say(f"oneshot: {self.note}")
