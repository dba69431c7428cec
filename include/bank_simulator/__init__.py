"""A synthetic bank with known churn truth (docs/simulator.md, plan 2.1 and 3.3(1)).

``generate(out_dir, truth_dir, size="tiny", ...)`` writes every raw-contract table in the
source-dir layout plus ``_manifest.json``, and the truth (never read by the pipeline) apart.
"""

from include.bank_simulator.generator import FAULTS_MANIFEST, MANIFEST, PARTITIONED, generate, table_path
from include.bank_simulator.params import DEFAULT_PARAMS, SIZES, ProcessParams

__all__ = ["generate", "table_path", "SIZES", "PARTITIONED", "MANIFEST", "FAULTS_MANIFEST", "ProcessParams",
           "DEFAULT_PARAMS"]
