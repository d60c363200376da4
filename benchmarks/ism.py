"""In-silico mutagenesis throughput against its folding limit, in one run.

``ism`` folds, draws and predicts ``3 L`` mutants per hairpin. Folding them is work no
implementation can skip, so the limit is the time :func:`mirnamap.fold.fold` takes for
the same ``3 L`` mutants per hairpin with the same workers, measured in the same run.
Prints hairpins per second of :func:`mirnamap.mutagenesis.ism` (with one member of the
bundled ensemble, and with all of them) beside that limit, and the ratio; writes the table
to ``benchmarks/results/ism.md``. Ratios, not seconds, are what to quote: the machines are
shared.

    python benchmarks/ism.py [--limit 20] [--workers N] [--repeat 1]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path

from mirnamap.datasets import load_fasta
from mirnamap.ensemble import Ensemble, load_default_ensemble
from mirnamap.fold import available_cores, fold
from mirnamap.mutagenesis import Mutagenesis, ism, mutants_of

HERE = Path(__file__).resolve().parent
HAIRPINS = HERE.parent / "data" / "examples" / "hairpins.fa"
RESULTS = HERE / "results" / "ism.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20, help="hairpins (default 20)")
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best counts")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    records = load_fasta(HAIRPINS)
    ids = list(records.ids[: args.limit])
    sequences = [s.upper().replace("T", "U") for s in records.sequences[: args.limit]]
    n = len(sequences)
    workers = args.workers or available_cores()
    mutants = [m for s in sequences for _, _, m in mutants_of(s)]
    ensemble = load_default_ensemble()
    single = ensemble.select([0])
    # Warm up: TensorFlow's first call traces the model, ViennaRNA loads its parameters.
    ism(ensemble, sequences[:1], workers=1, progress=False)
    fold(mutants[:50], workers=1, progress=False)

    def run_ism(model: Ensemble) -> Callable[[], Mutagenesis]:
        return lambda: ism(
            model, sequences, ids=ids, workers=workers, batch_size=args.batch_size, progress=False
        )

    steps = {
        "fold 3L mutants (the limit)": lambda: fold(mutants, workers=workers, progress=False),
        "ism, 1 member": run_ism(single),
        f"ism, {len(ensemble)} members": run_ism(ensemble),
    }
    best: dict[str, float] = {}
    results: dict[str, object] = {}
    for _ in range(args.repeat):
        for name, job in steps.items():
            start = time.perf_counter()
            results[name] = job()
            seconds = time.perf_counter() - start
            best[name] = min(best.get(name, seconds), seconds)
    undrawable = sum(int(v) for v in results["ism, 1 member"].n_undrawable)
    limit = best["fold 3L mutants (the limit)"]
    lengths = [len(s) for s in sequences]
    lines = [
        f"# ism throughput: {n} hairpins of data/examples/hairpins.fa "
        f"(length {min(lengths)}-{max(lengths)}, {len(mutants)} mutants), {workers} workers",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {available_cores()} cores "
        f"(say what else was running); best of {args.repeat} round(s); "
        f"{undrawable} of {len(mutants)} mutants could not be drawn (NaN, counted).",
        "",
        "| step | seconds | hairpins/s | mutants/s | x folding limit |",
        "|---|---|---|---|---|",
    ]
    for name, seconds in best.items():
        lines.append(
            f"| {name} | {seconds:.1f} | {n / seconds:.2f} | {len(mutants) / seconds:.0f} | "
            f"{limit / seconds:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written: {args.output}")


if __name__ == "__main__":
    main()
