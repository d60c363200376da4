"""Regenerate the shipped per-backend verdicts the HTML report shows (issue 14).

Reads the saliency benchmark's ``results.tsv`` (``experiments/benchmark_saliency.py``)
and writes ``mirnamap/assets/backend_verdicts.json`` with
:func:`mirnamap.report.summarise_benchmark` (its docstring gives the rules). Rerun it
after the benchmark is rerun; ``tests/test_report.py`` checks the shipped file is current.

    python experiments/backend_verdicts.py [RESULTS_TSV]
"""

from __future__ import annotations

import sys
from pathlib import Path

from mirnamap.report import VERDICTS, write_verdicts

RESULTS = Path(__file__).resolve().parent / "results" / "benchmark" / "results.tsv"


def main() -> None:
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS
    path = write_verdicts(results, VERDICTS)
    print(f"verdicts of {results} -> {path}")


if __name__ == "__main__":
    main()
