"""Folding over worker processes once TensorFlow is loaded: loky's warm pool vs a new Pool.

Times :func:`mirnamap.fold.fold` of N ~80-nt hairpins (deepMiRGene human, 70-90 nt) after
``import tensorflow``: in this process (``workers=1``), over :mod:`mirnamap.workers`
(loky) with a cold pool (the first call) and a warm one (the calls after), and over what
``fold`` did before, a new ``multiprocessing`` Pool from a ``forkserver`` per call, whose
workers re-run this script's top level (this script has the ``__main__`` guard that
needs). It also times many small calls (as ISM makes, one per chunk of hairpins), where
starting a pool per call costs the most. All results must be identical.

Ratios, not seconds, are what to quote: the machines are shared (the load average is
printed with the table).

    python benchmarks/workers.py [--n 2000] [--small 10x200] [--repeat 3] [--note TEXT]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

# As a user's script would: TensorFlow first (at the top level, which every forkserver
# worker of the old Pool re-runs), then the folding.
import tensorflow  # noqa: F401
from tqdm.auto import tqdm

from mirnamap.datasets import load_deepmirgene
from mirnamap.fold import Fold, fold, set_energy_parameters
from mirnamap.workers import shutdown_workers

RESULTS = Path(__file__).resolve().parent / "results" / "workers.md"


def fold_chunk(chunk: list[str]) -> list[tuple[str, float]]:
    """The old worker function: set the default energy parameters, fold a chunk."""
    import RNA

    set_energy_parameters()
    return [RNA.fold(s) for s in chunk]


def fold_with_a_new_pool(sequences: list[str], workers: int) -> list[Fold]:
    """What ``fold`` did before mirnamap.workers, for clean sequences: the same chunks, a
    new forkserver Pool for the call (``fold.pool_context()`` once TensorFlow is loaded)."""
    chunksize = max(1, min(256, math.ceil(len(sequences) / (workers * 8))))
    chunks = [sequences[i : i + chunksize] for i in range(0, len(sequences), chunksize)]
    folded: list[tuple[str, float]] = []
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        for part in pool.imap(fold_chunk, chunks):
            folded.extend(part)
    return [
        Fold(str(i), s, structure, round(float(mfe), 2))
        for i, (s, (structure, mfe)) in enumerate(zip(sequences, folded, strict=True))
    ]


def _seconds(job: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = job()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="sequences per call")
    parser.add_argument("--small", default="10x200", help="CALLSxN of the many-calls row")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the Markdown table")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    args = parser.parse_args()

    pool_of = args.workers
    records = load_deepmirgene("human")
    hairpins = [s.upper().replace("T", "U") for s in records.sequences if 70 <= len(s) <= 90]
    sequences = hairpins[: args.n]
    calls, small_n = (int(x) for x in args.small.split("x"))
    small = [hairpins[i * small_n : (i + 1) * small_n] for i in range(calls)]
    expected = fold(sequences, workers=1, progress=False)
    expected_small = [fold(s, workers=1, progress=False) for s in small]

    def loky_cold() -> list[Fold]:
        # No warm worker left: this call starts them. The row includes stopping the
        # previous pool's idle workers too (milliseconds, against seconds of folding).
        shutdown_workers()
        return fold(sequences, workers=pool_of, progress=False)

    steps: dict[str, Callable[[], object]] = {
        "in this process (workers=1)": lambda: fold(sequences, workers=1, progress=False),
        f"loky, first call (cold pool), workers={pool_of}": loky_cold,
        f"loky, next call (warm pool), workers={pool_of}": lambda: fold(
            sequences, workers=pool_of, progress=False
        ),
        f"old: new forkserver Pool per call, workers={pool_of}": lambda: fold_with_a_new_pool(
            sequences, pool_of
        ),
        f"{calls} calls of {small_n}, in this process": lambda: [
            fold(s, workers=1, progress=False) for s in small
        ],
        f"{calls} calls of {small_n}, loky (warm after the first)": lambda: [
            fold(s, workers=pool_of, progress=False) for s in small
        ],
        f"{calls} calls of {small_n}, old: a new Pool per call": lambda: [
            fold_with_a_new_pool(s, pool_of) for s in small
        ],
    }
    timings: dict[str, list[float]] = {name: [] for name in steps}
    load_before = os.getloadavg()
    for _ in tqdm(range(args.repeat), desc="rounds"):
        for name, job in steps.items():
            seconds, out = _seconds(job)
            timings[name].append(seconds)
            want = expected_small if name.startswith(f"{calls} calls") else expected
            if out != want:
                raise SystemExit(f"{name}: results differ from folding in this process")
    load_after = os.getloadavg()

    best = {name: min(t) for name, t in timings.items()}
    names = list(steps)
    serial, cold, warm, old, small_serial, small_loky, small_old = (best[n] for n in names)
    lines = [
        "# Folding over worker processes after `import tensorflow`",
        "",
        f"Made by `python benchmarks/workers.py --n {args.n} --small {args.small} "
        f"--repeat {args.repeat} --workers {pool_of}`: {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average "
        f"{load_before[0]:.2f} before and {load_after[0]:.2f} after (1 min; the cores are "
        "shared with other engineers' jobs). `fold()` of deepMiRGene human hairpins of "
        "70-90 nt; best of the rounds; every result identical to folding in this process.",
        *(["", args.note] if args.note else []),
        "",
        "| how | seconds (best) | all rounds | speed vs in this process |",
        "|---|---:|---|---:|",
    ]
    for name in names:
        rounds = ", ".join(f"{t:.2f}" for t in timings[name])
        base = small_serial if name.startswith(f"{calls} calls") else serial
        ratio = f"{base / best[name]:.2f}x"
        lines.append(f"| {name} | {best[name]:.3f} | {rounds} | {ratio} |")
    lines += [
        "",
        f"- warm / cold loky call: {warm / cold:.2f} (the first call starts {pool_of} workers)",
        f"- old Pool / warm loky: {old / warm:.2f}x the time for one call of {args.n}",
        f"- {calls} calls of {small_n}: old Pool / loky {small_old / small_loky:.2f}x",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
