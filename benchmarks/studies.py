"""Studies of the paper's open questions, each a sweep of real ``oneshot fit`` runs.

- ``patches`` (``study_patches.py``): how few patches suffice;
- ``sizes`` (``study_sizes.py``): patch size and code width;
- ``mismatch`` (``study_mismatch.py``): a model trained for one blur restoring others.

The protocol, the cached runs and the options are ``benchmarks/study.py``'s. This runs the
studies ``--studies`` names (all by default), one after the other, sharing their runs.

    python -m benchmarks.studies --data ../shared/data --plots benchmarks/plots
    python -m benchmarks.studies --data ../shared/data --quick   # a smoke run: 5 short runs

Each study writes ``<out>/study_<name>.md`` and ``.json``, and ``<plots>/study_<name>.png``
when matplotlib is installed (``pip install -e .[plots]``).
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks import study, study_mismatch, study_patches, study_sizes

STUDIES: dict[str, study.Study] = {
    "patches": study_patches.run,
    "sizes": study_sizes.run,
    "mismatch": study_mismatch.run,
}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the studies that ``--studies`` names."""
    study.main(argv, STUDIES, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    main()
