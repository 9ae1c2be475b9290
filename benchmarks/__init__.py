"""Benchmarks and studies of oneshot_lightning; run each as ``python -m benchmarks.<name>``.

What they share, one module a topic: :mod:`~benchmarks.tasks` (degradations and their
metrics), :mod:`~benchmarks.degraded_sets` (test sets on disk), :mod:`~benchmarks.training`
(training through the real CLI, loading through the Python API), :mod:`~benchmarks.scoring`
(the package's own test loop), :mod:`~benchmarks.baselines` (classical methods),
:mod:`~benchmarks.flops` and :mod:`~benchmarks.reports`. Every other module is one benchmark
or study. See ``benchmarks/RESULTS.md`` for the figures and the commands that made them.
"""
