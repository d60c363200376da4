"""Which explanation is right? The full saliency benchmark on synthetic hairpins (issue 6).

Runs :func:`mirnamap.benchmark.run_task` for every task and every registered backend with
the full configuration below, and writes the table, per-hairpin metrics, sanity and
deletion curves, the configuration and PNG plots to ``experiments/results/benchmark/``
after each task (so a run cut short keeps what it finished). Progress goes to stdout.

    .venv/bin/python experiments/benchmark_saliency.py                 # full run
    .venv/bin/python experiments/benchmark_saliency.py --tasks motif   # one task
    .venv/bin/python experiments/benchmark_saliency.py --reduced       # the CPU-friendly cut

The full run trains the published DeepMir (48, 60, 72 filters) per task; it took 75 min
on 2 CPU cores (shared with a training job for 45 of them). ``--reduced`` (a narrower
DeepMir, fewer hairpins explained, fewer SmoothGrad samples) takes about a third of that.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from mirnamap.benchmark import BenchmarkConfig, BenchmarkResult, run_task, write_results
from mirnamap.benchmark.synthetic import TASKS
from mirnamap.pipeline import list_methods
from mirnamap.saliency import cost_params

RESULTS = Path(__file__).resolve().parent / "results" / "benchmark"

#: The full configuration: the published DeepMir network, 1,000 twin pairs per task.
FULL = BenchmarkConfig(
    tasks=TASKS,
    backends=None,
    n_pairs=1000,
    epochs=30,
    batch_size=64,
    early_stopping=4,
    n_explain=100,
    n_sanity=16,
    n_faithfulness=32,
    backend_params=cost_params(100, ["shap"]),
    seed=0,
)

#: What fits a shared 2-core CPU in well under an hour: a DeepMir of the same layout with
#: fewer filters (about 7x fewer multiply-adds), fewer hairpins explained, fewer samples.
REDUCED = replace(
    FULL,
    filters=(16, 24, 32),
    dense_units=64,
    epochs=20,
    n_explain=50,
    n_sanity=8,
    n_faithfulness=24,
    backend_params={
        **cost_params(20),
        **cost_params(24, ["integrated_gradients"]),
        **cost_params(50, ["shap"]),
    },
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--reduced", action="store_true", help="the CPU-friendly configuration")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--backends",
        nargs="+",
        default=None,
        choices=list_methods(),
        help="only these methods (default: every backend and ism)",
    )
    args = parser.parse_args(argv)
    config = replace(REDUCED if args.reduced else FULL, tasks=tuple(args.tasks)).check()
    backends = tuple(args.backends or list_methods())
    print(f"{'reduced' if args.reduced else 'full'} configuration: {config}", flush=True)
    done = []
    start = time.perf_counter()
    for task in config.tasks:
        done.append(run_task(task, config, backends, log=lambda line: print(line, flush=True)))
        result = BenchmarkResult(
            replace(config, tasks=tuple(t.task for t in done)), tuple(done), backends
        )
        paths = write_results(result, args.output)
        (args.output / "run.txt").write_text(
            f"configuration: {'reduced' if args.reduced else 'full'}\n"
            f"tasks finished: {', '.join(t.task for t in done)}\n"
            f"methods: {', '.join(backends)}\n"
            f"wall time: {time.perf_counter() - start:.0f} s\n",
            encoding="utf-8",
        )
        print(f"[{task}] written: {', '.join(p.name for p in paths)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
