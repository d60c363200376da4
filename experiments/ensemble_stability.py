"""Which backends give the same explanation across retrainings? (issue 12, item 4)

For every backend, each member of the default ensemble explains the same human test
hairpins (the pre-miRNA logit); per hairpin, the Spearman correlation of the nucleotide
scores of every pair of members; the table gives the mean over pairs and hairpins, with
the share of hairpins whose mean pairwise correlation is above 0.5. Writes
``experiments/results/ensemble_stability.md`` and ``.tsv``.

Budget: the slow backends (SmoothGrad family, integrated gradients, SHAP) run at the
cost ``--samples`` (default 16) on ``--subsample`` hairpins (default 100: the human test
set's positives, then negatives, in file order).

    python experiments/ensemble_stability.py --model mirnamap/assets/deepmir_ensemble.zip
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, encoded_deepmirgene, sequences_of


def main() -> None:
    from mirnamap.benchmark.metrics import pad, spearman
    from mirnamap.encode import encode
    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.pipeline import explain_hairpins
    from mirnamap.saliency import cost_params, list_backends

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="ensemble (default: the bundled one)")
    parser.add_argument("--subsample", type=int, default=100)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--backends", default=None, help="comma-separated (default: all)")
    args = parser.parse_args()
    ensemble = resolve_ensemble(args.model)
    if len(ensemble) < 2:
        raise SystemExit("the model has one member: nothing to compare")
    data = encoded_deepmirgene("human")
    test = np.flatnonzero(data.splits == "test")
    order = np.concatenate([test[data.labels[test] == 1], test[data.labels[test] == 0]])
    rows = np.sort(order[: args.subsample])
    by_id = sequences_of("human")
    encoding = encode(
        [by_id[str(data.ids[i])] for i in rows],
        [str(data.structures[i]) for i in rows],
        ids=[str(data.ids[i]) for i in rows],
    )
    backends = args.backends.split(",") if args.backends else list_backends()
    costs = cost_params(args.samples)
    table = []
    for backend in backends:
        start = time.time()
        scores = []
        for k in range(len(ensemble)):
            result = explain_hairpins(
                encoding,
                backend,
                ensemble.select([k]),
                params={backend: costs[backend]} if backend in costs else None,
                progress=False,
            )
            scores.append(pad(result.scores(backend)))
        pairs = [spearman(scores[a], scores[b]) for a, b in combinations(range(len(scores)), 2)]
        per_hairpin = np.nanmean(np.stack(pairs), axis=0)
        table.append(
            {
                "backend": backend,
                "mean_spearman": float(np.nanmean(per_hairpin)),
                "share_above_0.5": float(np.nanmean(per_hairpin > 0.5)),
                "hairpins": len(rows),
                "seconds": round(time.time() - start, 1),
            }
        )
        print(table[-1], flush=True)
    table.sort(key=lambda r: -r["mean_spearman"])
    with open(RESULTS / "ensemble_stability.tsv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(table[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    lines = [
        f"# Stability of explanations across the {len(ensemble)} members",
        "",
        f"{len(rows)} human test hairpins; cost of the slow backends {args.samples}.",
        "",
        "| backend | mean Spearman between members | hairpins with mean > 0.5 |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {r['backend']} | {r['mean_spearman']:.3f} | {r['share_above_0.5']:.2f} |" for r in table
    ]
    (RESULTS / "ensemble_stability.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
