"""Which readings of the saliency atlas hold in every member of the ensemble? (issue 12)

Reads the ``regions.tsv`` of one atlas run per member (``saliency_atlas.py --model
ENSEMBLE --member k --out DIR/member_k``) and, per backend and region, compares true
positives with true negatives two ways:

* **signed**: the sign of TP - TN in the mean signed score per nucleotide (does the
  region push towards pre-miRNA more in pre-miRNAs than in pseudo-hairpins?);
* **where**: the region with the largest share of ``|saliency|`` in TPs.

A reading holds when every member agrees. Writes ``DIR/agreement.md`` and ``.tsv``.

    python experiments/atlas_agreement.py experiments/results/atlas_members
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def _read(path: Path) -> dict[tuple[str, str, str], dict[str, float]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {
        (r["method"], r["group"], r["region"]): {
            "signed": float(r["mean_signed_per_nt"] or "nan"),
            "share": float(r["mean_share_abs"] or "nan"),
        }
        for r in rows
    }


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "experiments/results/atlas_members")
    runs = sorted(folder.glob("member_*/regions.tsv"))
    if len(runs) < 2:
        raise SystemExit(f"{folder}: need the atlases of two or more members, found {len(runs)}")
    tables = [_read(p) for p in runs]
    methods = sorted({m for m, _, _ in tables[0]})
    regions = ["5' arm", "terminal loop", "3' arm", "background"]
    rows = []
    for method in methods:
        for region in regions:
            diffs = [
                t[(method, "TP", region)]["signed"] - t[(method, "TN", region)]["signed"]
                for t in tables
                if (method, "TP", region) in t and (method, "TN", region) in t
            ]
            signs = {d > 0 for d in diffs if d == d}
            rows.append(
                {
                    "method": method,
                    "region": region,
                    "tp_minus_tn": " ".join(f"{d:+.3g}" for d in diffs),
                    "holds_in_every_member": "yes" if len(signs) == 1 else "no",
                    "direction": ("TP > TN" if signs == {True} else "TP < TN")
                    if len(signs) == 1
                    else "mixed",
                }
            )
    top: dict[str, list[str]] = defaultdict(list)
    for table in tables:
        for method in methods:
            shares = {
                r: table[(method, "TP", r)]["share"] for r in regions if (method, "TP", r) in table
            }
            top[method].append(max(shares, key=shares.get))
    with open(folder / "agreement.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    held = sum(r["holds_in_every_member"] == "yes" for r in rows)
    lines = [
        f"# Atlas readings across {len(tables)} members",
        "",
        f"{held} of {len(rows)} signed readings (backend x region, TP - TN of the mean signed "
        "score per nucleotide) have the same sign in every member.",
        "",
        "| backend | 5' arm | terminal loop | 3' arm | background | largest |map| share in TPs |",
        "|---|---|---|---|---|---|",
    ]
    for method in methods:
        cells = [
            next(
                f"{r['direction']}" + ("" if r["holds_in_every_member"] == "yes" else " (mixed)")
                for r in rows
                if r["method"] == method and r["region"] == region
            )
            for region in regions
        ]
        where = set(top[method])
        shown = where.pop() if len(where) == 1 else "differs: " + ", ".join(top[method])
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {shown} |")
    (folder / "agreement.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
