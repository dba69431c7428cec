"""Stage benchmarks, one module per key.

Each module runs as ``python -m benchmarks.stages.<key> --size demo|large --out result.json``,
prints one progress line per step to stderr, and writes a JSON object with ``figure``, ``unit``,
``baseline``, ``baseline_unit``, ``ratio``, ``target``, ``target_met`` and ``details``. The
harness (:mod:`benchmarks.run`) adds wall seconds and peak memory measured from outside.
"""
