"""How often ViennaRNA 2.8 folds differently from RNAfold 2.1.3, and what it does to the CNN.

The DeepMir images were drawn from RNAfold 2.1.3 structures; mirnamap folds with ViennaRNA
2.8. The encoder's test vectors (``tests/data/encoder_vectors.csv``) carry the 2.1.3 MFE
structure of 247 real and random sequences. For each, this script folds the sequence with
ViennaRNA 2.8, compares the dot-brackets and the images (mirnamap's encoder, bit-exact to
the original for a given structure), and predicts both images with the bundled model.
For the deepMiRGene sequences among them it looks up the true label (human, whole and new
sets) and reports accuracy with either structure.

Usage: ``.venv/bin/python experiments/vienna_vs_rnafold213.py`` (a minute, CPU).
Writes ``experiments/results/vienna_vs_rnafold213.md``.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, vienna_version


def main() -> None:
    from mirnamap.datasets import load_deepmirgene
    from mirnamap.encode import encode
    from mirnamap.evaluate import metrics
    from mirnamap.fold import fold
    from mirnamap.model import load_default_model, predict_proba

    with open(ROOT / "tests" / "data" / "encoder_vectors.csv", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["status"] == "ok"]
    sequences = [r["sequence"].upper().replace("T", "U") for r in rows]
    old = [r["rnafold_2.1.3_mfe_structure"] for r in rows]
    new = [f.structure for f in fold(sequences, workers=1)]
    enc_old, enc_new = encode(sequences, old), encode(sequences, new)
    both = np.intersect1d(enc_old.index, enc_new.index)
    img_old = enc_old.images[np.searchsorted(enc_old.index, both)]
    img_new = enc_new.images[np.searchsorted(enc_new.index, both)]
    kinds = np.array([rows[i]["kind"] for i in both])

    label_of: dict[str, int] = {}
    for name in ("human", "whole", "new"):
        records = load_deepmirgene(name)  # type: ignore[arg-type]
        for s, y in zip(records.sequences, records.labels, strict=True):
            label_of.setdefault(s.upper().replace("T", "U"), int(y))

    model = load_default_model()
    p_old, p_new = predict_proba(model, img_old), predict_proba(model, img_new)
    differs = np.array([old[i] != new[i] for i in both])
    image_differs = (img_old != img_new).any(axis=(1, 2, 3))
    lines = [
        f"# ViennaRNA {vienna_version()} vs RNAfold 2.1.3 (behind the DeepMir images)",
        "",
        "Written by `experiments/vienna_vs_rnafold213.py` from the encoder test vectors",
        f"(`tests/data/encoder_vectors.csv`, {len(rows)} `ok` records; {len(both)} drawable with",
        "both structures). Predictions by the bundled model (`deepmir_default.keras`).",
        "",
        "| sequences | n | structure differs | image differs | mean abs. change of P "
        "| call flips (0.5) |",
        "|---|---|---|---|---|---|",
    ]
    for kind in [*dict.fromkeys(kinds), "all"]:
        sel = np.ones(both.size, bool) if kind == "all" else kinds == kind
        if not sel.any():
            continue
        flips = ((p_old[sel] >= 0.5) != (p_new[sel] >= 0.5)).sum()
        lines.append(
            f"| {kind} | {sel.sum()} | {differs[sel].mean():.1%} | {image_differs[sel].mean():.1%} "
            f"| {np.abs(p_old[sel] - p_new[sel]).mean():.3f} | {flips} |"
        )
    known = np.array([sequences[i] in label_of for i in both])
    if known.any():
        y = np.array([label_of[sequences[i]] for i in both[known]])
        m_old, m_new = metrics(y, p_old[known]), metrics(y, p_new[known])
        lines += [
            "",
            f"The {known.sum()} sequences found in the deepMiRGene sets ({y.sum()} pre-miRNAs;",
            "some may be in the bundled model's training data, so the level is optimistic,",
            "the difference is the point):",
            "",
            "| structure from | accuracy | sensitivity | specificity | AUROC |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {m['accuracy']:.3f} | {m['sensitivity']:.3f} | {m['specificity']:.3f} "
                f"| {m['auroc']:.3f} |"
                for name, m in (("RNAfold 2.1.3", m_old), (f"ViennaRNA {vienna_version()}", m_new))
            ),
        ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "vienna_vs_rnafold213.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
