"""What biology does the model use? The apical-loop UGU/GUG motif on human true positives.

Issue 13, part 4.

Auyeung et al. 2013 (Cell 152:844) found a UGU (GUG) motif in the apical loop of human
pre-miRNAs that helps DGCR8 process them. Do the maps of the bundled DeepMir ensemble weight
it more than matched controls? On the deepMiRGene human test split's true positives
(P >= 0.5), for every backend (and ``ism`` where :mod:`mirnamap.mutagenesis` exists):

* each hairpin's nucleotide scores are divided by their mean ``|score|`` (scale-free);
* an occurrence of UGU or GUG is **apical** when its three nucleotides lie in the terminal
  loop or the two arm nucleotides either side of it (the motif often straddles the
  loop-stem junction), **elsewhere** when none does;
* the weight of an occurrence is the mean normalised score of its nucleotides (signed:
  towards the pre-miRNA logit), and its ``|map|`` share per nucleotide (magnitude);
* controls: (1) the same k-mers elsewhere in the same hairpin (paired), (2) the other
  3-mers of the same apical window (paired: same pixels-per-nucleotide geometry, since loop
  nucleotides paint arches in both halves of the image), (3) apical UGU/GUG of
  dinucleotide-shuffled copies of the true positives, refolded and explained the same way.

Paired differences are tested with the Wilcoxon signed-rank test, the shuffled control with
the Mann-Whitney U test (two-sided). Writes ``experiments/results/motifs/apical_loop.{md,tsv}``
and per backend the top motifs of :func:`mirnamap.pipeline.motifs_of` on the true positives.

    nice -n 10 .venv/bin/python experiments/apical_loop_motifs.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import encoded_deepmirgene, sequences_of

from mirnamap.datasets import dinucleotide_shuffle
from mirnamap.ensemble import DEFAULT_ENSEMBLE, load_ensemble
from mirnamap.pipeline import explain_hairpins, list_methods, motifs_of
from mirnamap.saliency import cost_params
from mirnamap.structure import terminal_loop

RESULTS = Path(__file__).resolve().parent / "results" / "motifs"
KMERS = ("UGU", "GUG")
#: Arm nucleotides either side of the terminal loop that count as apical.
REACH = 2
#: Cheap backends: one or a few passes per map; the rest get ``--samples``.
CHEAP = (
    "gradient",
    "gradient_x_input",
    "guided_backprop",
    "deconvnet",
    "grad_cam",
    "grad_cam_plus_plus",
)


def apical_window(structure: str) -> np.ndarray:
    """``bool (L,)``: the terminal loop and ``REACH`` arm nucleotides either side of it."""
    s, e = terminal_loop(structure)  # the loop's closing pair
    window = np.zeros(len(structure), dtype=bool)
    window[max(0, s + 1 - REACH) : min(len(structure), e + REACH)] = True
    return window


def occurrence_weights(sequence: str, structure: str, score: np.ndarray) -> dict[str, list]:
    """Mean normalised score of each 3-mer occurrence, by class (apical / elsewhere / other)."""
    values = np.nan_to_num(np.asarray(score, dtype=np.float64))
    scale = np.mean(np.abs(values))
    out: dict[str, list] = {"apical": [], "elsewhere": [], "other_apical": []}
    if scale == 0:
        return out
    z = values / scale
    window = apical_window(structure)
    for i in range(len(sequence) - 2):
        kmer = sequence[i : i + 3]
        inside = window[i : i + 3]
        weight = float(z[i : i + 3].mean())
        if kmer in KMERS:
            if inside.all():
                out["apical"].append(weight)
            elif not inside.any():
                out["elsewhere"].append(weight)
        elif inside.all():
            out["other_apical"].append(weight)
    return out


def per_hairpin(explanation, method: str, magnitude: bool) -> dict[str, np.ndarray]:
    """Per hairpin the mean weight of each class (NaN where a class has no occurrence)."""
    scores = explanation.magnitudes[method].scores if magnitude else explanation.scores(method)
    table = {k: [] for k in ("apical", "elsewhere", "other_apical")}
    for seq, st, score in zip(explanation.sequences, explanation.structures, scores, strict=True):
        found = occurrence_weights(seq, st, score)
        for k in table:
            table[k].append(np.mean(found[k]) if found[k] else np.nan)
    return {k: np.asarray(v) for k, v in table.items()}


def compare(tp: dict, shuffled: dict) -> dict:
    from scipy.stats import mannwhitneyu, wilcoxon

    out = {}
    a = tp["apical"]
    for name in ("elsewhere", "other_apical"):
        b = tp[name]
        both = np.isfinite(a) & np.isfinite(b)
        diff = a[both] - b[both]
        out[f"n_vs_{name}"] = int(both.sum())
        out[f"median_diff_vs_{name}"] = float(np.median(diff)) if both.any() else np.nan
        out[f"share_higher_vs_{name}"] = float((diff > 0).mean()) if both.any() else np.nan
        out[f"p_vs_{name}"] = (
            float(wilcoxon(diff).pvalue) if both.sum() >= 5 and diff.any() else np.nan
        )
    s = shuffled["apical"]
    fa, fs = a[np.isfinite(a)], s[np.isfinite(s)]
    out["n_apical"] = len(fa)
    out["n_shuffled_apical"] = len(fs)
    out["median_apical"] = float(np.median(fa)) if len(fa) else np.nan
    out["median_elsewhere"] = float(np.nanmedian(tp["elsewhere"]))
    out["median_other_apical"] = float(np.nanmedian(tp["other_apical"]))
    out["median_shuffled_apical"] = float(np.median(fs)) if len(fs) else np.nan
    out["p_vs_shuffled"] = (
        float(mannwhitneyu(fa, fs).pvalue) if len(fa) >= 5 and len(fs) >= 5 else np.nan
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method")
    parser.add_argument("--samples", type=int, default=16, help="SmoothGrad/IG/SHAP cost")
    parser.add_argument(
        "--subsample",
        type=int,
        default=60,
        help="true positives for the costly methods (default 60)",
    )
    parser.add_argument(
        "--ism-subsample", type=int, default=30, help="true positives for ism (default 30)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    ensemble = load_ensemble(DEFAULT_ENSEMBLE)  # the bundled one, loaded once
    data = encoded_deepmirgene("human")
    sequences = sequences_of("human")
    test = np.flatnonzero((data.splits == "test") & (data.labels == 1))
    test_ids = [str(data.ids[i]) for i in test]
    positives = {i: sequences[i] for i in test_ids}
    # The bundled ensemble's predictions decide the true positives.
    first = explain_hairpins(
        positives, ["gradient"], ensemble, workers=args.workers, progress=False, seed=args.seed
    )
    tp_ids = [i for i, p in zip(first.ids, first.probabilities, strict=True) if p >= 0.5]
    rng = np.random.default_rng(args.seed)
    sub_ids = sorted(rng.choice(tp_ids, size=min(args.subsample, len(tp_ids)), replace=False))
    # ism refolds 3 L mutants per hairpin and predicts them with all five members: the
    # first ``--ism-subsample`` of the same seeded subsample.
    ism_ids = sub_ids[: args.ism_subsample]
    shuffle_rng = np.random.default_rng(args.seed + 1)
    shuffled = {f"{i}_shuf": dinucleotide_shuffle(positives[i], shuffle_rng) for i in tp_ids}
    print(
        f"{len(test_ids)} human test positives, {len(tp_ids)} true positives "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    methods = args.methods or list_methods()
    params = {**cost_params(args.samples), "shap": {"n_samples": 2 * args.samples}}
    rows, motif_rows = [], []

    def write() -> None:
        """The tables so far (after each method: a run cut short keeps what it finished)."""
        import pandas as pd

        table = pd.DataFrame(rows)
        table.to_csv(out / "apical_loop.tsv", sep="\t", index=False, float_format="%.4g")
        pd.DataFrame(motif_rows).to_csv(out / "human_tp_top_motifs.tsv", sep="\t", index=False)

        def fmt(v: float, p: bool = False) -> str:
            if not np.isfinite(v):
                return "-"
            return f"{v:.1e}" if p and v < 0.001 else f"{v:.3f}" if p else f"{v:.2f}"

        lines = [
            "# Apical-loop UGU/GUG on the human test set's true positives",
            "",
            f"Bundled ensemble; {len(test_ids)} deepMiRGene human test positives, {len(tp_ids)} "
            f"true positives (P >= 0.5). Cheap backends ({', '.join(CHEAP)}) on all of them, the "
            f"others ({args.samples} samples; SHAP {2 * args.samples}) and ism on a seeded "
            f"subsample of {len(sub_ids)} ({len(ism_ids)} for ism). Scores divided by each "
            "hairpin's mean |score|; weight of a 3-mer = mean over its nucleotides. Apical = "
            "terminal loop + 2 arm nucleotides either side. Controls: the same k-mers elsewhere "
            "in the hairpin (paired), the other 3-mers of the apical window (paired), apical "
            "UGU/GUG of dinucleotide-shuffled, refolded copies (unpaired). p: Wilcoxon "
            "signed-rank (paired), Mann-Whitney (shuffled).",
            "",
            "| method | view | TPs (with apical UGU/GUG) | apical UGU/GUG | elsewhere | p | "
            "other apical 3-mers | p | shuffled apical (n) | p |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['method']} | {r['view']} | {r['hairpins']} ({r['n_apical']}) | "
                f"{fmt(r['median_apical'])} | "
                f"{fmt(r['median_elsewhere'])} | {fmt(r['p_vs_elsewhere'], True)} | "
                f"{fmt(r['median_other_apical'])} | {fmt(r['p_vs_other_apical'], True)} | "
                f"{fmt(r['median_shuffled_apical'])} ({r['n_shuffled_apical']}) | "
                f"{fmt(r['p_vs_shuffled'], True)} |"
            )
        lines += [
            "",
            "Medians of per-hairpin mean weights (1 = the hairpin's mean |score|).",
            "",
            f"Wall time {time.perf_counter() - start:.0f} s (nice 10, 2 CPU cores shared with "
            "other jobs).",
        ]
        (out / "apical_loop.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (out / "apical_loop_config.json").write_text(
            json.dumps(
                {
                    "methods": methods,
                    "samples": args.samples,
                    "subsample": len(sub_ids),
                    "ism_subsample": len(ism_ids),
                    "true_positives": len(tp_ids),
                    "seed": args.seed,
                    "reach": REACH,
                    "kmers": KMERS,
                },
                indent=1,
            )
            + "\n",
            encoding="utf-8",
        )

    for method in methods:
        t0 = time.perf_counter()
        cheap = method in CHEAP
        ids = tp_ids if cheap else ism_ids if method == "ism" else sub_ids
        options = {method: params.get(method, {})}
        tp = explain_hairpins(
            {i: positives[i] for i in ids},
            [method],
            ensemble,
            params=options,
            workers=args.workers,
            progress=False,
            seed=args.seed,
        )
        sh = explain_hairpins(
            {f"{i}_shuf": shuffled[f"{i}_shuf"] for i in ids},
            [method],
            ensemble,
            params=options,
            workers=args.workers,
            progress=False,
            seed=args.seed,
        )
        for magnitude in (False, True):
            row = {
                "method": method,
                "view": "magnitude" if magnitude else "signed",
                "hairpins": len(tp),
                "shuffled_hairpins": len(sh),
                **compare(per_hairpin(tp, method, magnitude), per_hairpin(sh, method, magnitude)),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            rows.append(row)
        result = motifs_of(tp, method, motif_options={"min_support": 3})
        result.save(out / "human_tp" / method)
        for m in result.motifs.motifs[:5]:
            motif_rows.append(
                {
                    "method": method,
                    "name": m.name,
                    "consensus": m.consensus,
                    "region": m.region,
                    "support": m.support,
                    "hairpins": m.n_hairpins,
                    "sign": m.sign,
                }
            )
        signed = rows[-2]
        print(
            f"{method}: {len(tp)} TPs, apical UGU/GUG {signed['median_apical']:.2f} vs "
            f"elsewhere {signed['median_elsewhere']:.2f}, other apical 3-mers "
            f"{signed['median_other_apical']:.2f}, "
            f"shuffled {signed['median_shuffled_apical']:.2f}"
            f" ({row['seconds']} s)",
            flush=True,
        )
        write()

    return 0


if __name__ == "__main__":
    sys.exit(main())
