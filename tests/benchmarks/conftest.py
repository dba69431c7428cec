"""The harness lives in the top-level ``benchmarks`` package, which is not installed (only
``include`` and ``ml`` are): make the project root importable for these tests."""

import sys
from pathlib import Path

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)
