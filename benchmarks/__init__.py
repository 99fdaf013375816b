"""The benchmark suite: jupyter-agents against smolagents, in one run, as ratios.

``python -m benchmarks`` (from the repository root) runs every measure and writes
``benchmarks/results/latest.md`` and ``latest.json``. See benchmarks/README.md for what each
number includes and excludes. The suite installs nothing: smolagents comes from the ``bench``
extra (``pip install -e ".[bench]"``); without it, only our side is measured.
"""
