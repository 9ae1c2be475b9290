"""Benchmarks and studies of oneshot_lightning; run each as ``python -m benchmarks.<name>``.

:mod:`benchmarks.common` holds what they share (tasks, degraded test sets, training through
the CLI, scoring through the package's own test loop, classical baselines, report tables);
every other module is one benchmark or study. See ``benchmarks/RESULTS.md`` for the figures
and the commands that made them.
"""
