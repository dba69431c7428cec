"""Performance harness: one module per pipeline stage, run and measured by :mod:`benchmarks.run`.

Figures are ratios against a baseline measured in the same run (these machines are noisy), plus
absolute times and peak memory for context. Results are files under ``benchmarks/results/``,
never test assertions.
"""
