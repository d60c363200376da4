"""Folding and encoding throughput on the deepMiRGene human set, in one run.

Prints sequences per second for a plain ``RNA.fold`` loop, :func:`mirnamap.fold.fold`
with 1 worker and with every core, and :func:`mirnamap.encode.encode`, with ratios
against the plain loop. Ratios, not seconds, are what to quote: the machines are shared.

    python benchmarks/fold_encode.py [--limit N] [--repeat R]
"""

from __future__ import annotations

import argparse
import time

import RNA

from mirnamap.datasets import load_deepmirgene
from mirnamap.encode import encode
from mirnamap.fold import available_cores, fold


def _best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="first N sequences only")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the best counts")
    args = parser.parse_args()

    records = load_deepmirgene("human")
    sequences = [s.upper().replace("T", "U") for s in records.sequences[: args.limit]]
    n, cores = len(sequences), available_cores()
    # Warm ViennaRNA's energy parameters and caches so the first timed step is not
    # charged for them, then run the steps in alternating rounds; the best round counts.
    [RNA.fold(s) for s in sequences[:50]]
    steps = {
        "RNA.fold loop": lambda: [RNA.fold(s) for s in sequences],
        "mirnamap.fold, 1 worker": lambda: fold(sequences, workers=1, progress=False),
        f"mirnamap.fold, {cores} workers": lambda: fold(sequences, workers=cores, progress=False),
    }
    timings: dict[str, list[float]] = {}
    results: dict[str, object] = {}
    for _ in range(args.repeat):
        for name, job in steps.items():
            start = time.perf_counter()
            results[name] = job()
            timings.setdefault(name, []).append(time.perf_counter() - start)
    raw, one, many = results.values()
    if [f.structure for f in one] != [s for s, _ in raw] or one != many:
        raise SystemExit("results differ between the raw loop, serial and parallel folding")
    structures = [f.structure for f in one]
    for _ in range(max(3, args.repeat)):
        start = time.perf_counter()
        encode(sequences, structures)
        timings.setdefault("mirnamap.encode", []).append(time.perf_counter() - start)

    base = _best(timings["RNA.fold loop"])
    print(f"deepMiRGene human: {n} sequences, {cores} cores, best of {args.repeat}\n")
    print("| step | seq/s | vs RNA.fold loop |\n|---|---:|---:|")
    for name, seconds in timings.items():
        best = _best(seconds)
        print(f"| {name} | {n / best:,.0f} | {base / best:.2f}x |")
    fold_best = _best(timings[f"mirnamap.fold, {cores} workers"])
    print(
        f"\nencoding is {fold_best / _best(timings['mirnamap.encode']):.0f}x faster than "
        f"folding on {cores} workers, {base / _best(timings['mirnamap.encode']):.0f}x faster "
        "than one core's folding"
    )


if __name__ == "__main__":
    main()
