"""Why mutagenesis misses the bulge: how often a substitution changes the fold, by place.

On the positives of the benchmark's ``structure`` task (a 2-nt bulge on the 5' arm decides
the label), every single-nucleotide substitution is refolded with ViennaRNA, and the share
of mutants whose MFE structure differs from the designed one is counted at the bulged
nucleotides (the truth) and elsewhere. No model is involved. Prints one line, and writes it
to ``experiments/results/benchmark_ism/bulge_folds.txt``.

    .venv/bin/python experiments/ism_bulge_folds.py [--pairs 15]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mirnamap.benchmark.synthetic import make_dataset
from mirnamap.fold import fold
from mirnamap.mutagenesis import mutants_of

OUT = Path(__file__).resolve().parent / "results" / "benchmark_ism" / "bulge_folds.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = make_dataset("structure", args.pairs, seed=args.seed, workers=1)
    at_truth: list[bool] = []
    elsewhere: list[bool] = []
    positives = [i for i in range(len(data)) if data.labels[i] == 1]
    for i in positives:
        truth = set(np.flatnonzero(np.asarray(data.truth[i]) != 0).tolist())
        mutants = mutants_of(data.sequences[i])
        folds = fold([m for _, _, m in mutants], workers=1, progress=False)
        for (position, _, _), folded in zip(mutants, folds, strict=True):
            changed = folded.structure != data.structures[i]
            (at_truth if position in truth else elsewhere).append(changed)
    line = (
        f"structure task, {len(positives)} positives (seed {args.seed}): share of substitutions "
        f"that change the fold: at the bulged nucleotides {np.mean(at_truth):.3f} "
        f"(n={len(at_truth)}), elsewhere {np.mean(elsewhere):.3f} (n={len(elsewhere)})"
    )
    print(line)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
