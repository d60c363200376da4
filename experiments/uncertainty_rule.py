"""Which nucleotides' readings change with retraining? An uncertainty rule, measured (issue 26).

The five members of the bundled ensemble are five retrainings of the same network. For
every method, each member explains the same hairpins (the pre-miRNA logit); per
nucleotide the ensemble reads the sign of the members' mean score (red: towards
pre-miRNA, blue: against). Rules that mark a nucleotide "unstable":

* ``sd``: ``|mean| < 2 sd`` across the members (the rule before issue 26);
* ``se``: ``|mean| < 2 sd / sqrt(K - 1)`` (two standard errors of the mean);
* ``sign``: fewer than all members give the nucleotide the sign of their mean
  (:func:`mirnamap.pipeline.maps.sign_agreement` < 1);
* ``sign_majority``: at most K - 2 of the K members do (agreement < (K - 1) / K).

Each rule is measured by

* the share of the nucleotides it flags, and the share of the ensemble's ``sum |mean|``
  that falls on them;
* **held-out member** (the test of a rule): the rule is computed on K - 1 members and
  asked whether the held-out member (one more retraining) reads the nucleotide with the
  other sign than their mean; P(other sign | flagged) against P(other sign | not flagged),
  pooled over the K choices of the held-out member, and the AUROC of the rule's
  continuous score (agreement; ``|mean| / sd``) for that event;
* **leave-one-out flip**: does the flag (on all K) mark the nucleotides whose mean's sign
  flips when one member is dropped? (For ``sign`` this holds by construction: a unanimous
  sign cannot flip; the row shows how many stable readings the other rules lose.)

Two sets: the demo's inputs (``data/examples/hairpins.fa``, ``make run``) with the demo's
methods at their defaults, and a balanced sample of the human test set (``--subsample``,
default 50: the first 25 positives and 25 negatives in file order) with every backend,
those that sample (SmoothGrad family, integrated gradients, SHAP) at ``--samples``
(default 16) samples or steps. The members' scores are cached in ``out/cache/`` (with
``--reuse`` only the methods missing there are computed);
``experiments/choose_default_method.py`` reads them too.

Writes ``experiments/results/uncertainty_rule.md`` and ``.tsv``::

    nice -n 10 python experiments/uncertainty_rule.py > experiments/results/uncertainty_rule.log
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CACHE, RESULTS, ROOT, encoded_deepmirgene, sequences_of

DEMO_METHODS = (
    "gradient",
    "grad_cam",
    "smoothgrad_guided_backprop",
    "gradient_x_input",
    "deconvnet",
)
RULES = ("sd", "se", "sign", "sign_majority")
RULE_TEXT = {
    "sd": "|mean| < 2 sd",
    "se": "|mean| < 2 sd / sqrt(K-1)",
    "sign": "not every member has the mean's sign",
    "sign_majority": "at most K-2 members have the mean's sign",
}


def member_scores(inputs, ensemble, methods, params) -> tuple[dict, dict, dict]:
    """Per method ``float64 (K, L_total)`` member scores (records concatenated), the
    record of each column, and the seconds per member map."""
    from mirnamap.pipeline import explain_hairpins

    scores, seconds = {}, {}
    record = None
    for method in methods:
        runs = []
        start = time.perf_counter()
        for k in range(len(ensemble)):
            result = explain_hairpins(
                inputs,
                method,
                ensemble.select([k]),
                params={method: params[method]} if method in params else None,
                progress=False,
            )
            runs.append(np.concatenate(result.scores(method)))
            if record is None:
                lengths = [len(s) for s in result.sequences]
                record = np.repeat(np.arange(len(lengths)), lengths)
        seconds[method] = (time.perf_counter() - start) / (len(ensemble) * len(result))
        scores[method] = np.stack(runs)
        print(f"{method}: {seconds[method]:.3f} s per member map", flush=True)
    return scores, {"record": record}, seconds


def flags(values: np.ndarray) -> dict[str, np.ndarray]:
    """Per rule the ``bool (L,)`` unstable nucleotides of ``float (K, L)`` member scores,
    and the continuous scores (``agreement``, ``t``) the rules threshold."""
    from mirnamap.ensemble import spread
    from mirnamap.pipeline.maps import sign_agreement

    k = len(values)
    mean = values.mean(axis=0)
    sd = spread(values)
    agreement = sign_agreement(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(mean) / sd
    return {
        "sd": np.abs(mean) < 2 * sd,
        "se": np.abs(mean) < 2 * sd / np.sqrt(k - 1),
        "sign": agreement < 1 - 1e-9,
        "sign_majority": agreement < (k - 1) / k - 1e-9,
        "agreement": agreement,
        "t": np.where(sd > 0, t, np.inf),
    }


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for the ``bool`` event ``truth`` (ties: half)."""
    from scipy.stats import rankdata

    truth = truth.astype(bool)
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def measure(values: np.ndarray) -> dict[str, dict[str, float]]:
    """Every rule's figures on ``float (K, L)`` member scores (NaN columns dropped)."""
    values = values[:, ~np.isnan(values).any(axis=0)]
    k = len(values)
    mean = values.mean(axis=0)
    on_all = flags(values)
    mass = np.abs(mean).sum()
    # Leave one member out: the mean of the others has the other sign.
    flips = np.zeros(values.shape[1], dtype=bool)
    held = {rule: [] for rule in RULES}
    held_scores = {"agreement": [], "t": []}
    disagree_all = []
    for out in range(k):
        rest = np.delete(values, out, axis=0)
        rest_mean = rest.mean(axis=0)
        flips |= np.sign(rest_mean) != np.sign(mean)
        disagree = np.sign(values[out]) != np.sign(rest_mean)
        disagree_all.append(disagree)
        on_rest = flags(rest)
        for rule in RULES:
            held[rule].append(on_rest[rule])
        held_scores["agreement"].append(on_rest["agreement"])
        held_scores["t"].append(on_rest["t"])
    disagree = np.concatenate(disagree_all)
    out = {}
    for rule in RULES:
        flagged = on_all[rule]
        held_flag = np.concatenate(held[rule])
        out[rule] = {
            "flagged": float(flagged.mean()),
            "flagged_mass": float(np.abs(mean)[flagged].sum() / mass) if mass else np.nan,
            "heldout_other_sign_if_flagged": _rate(disagree, held_flag),
            "heldout_other_sign_if_stable": _rate(disagree, ~held_flag),
            "heldout_stable": float((~held_flag).mean()),
            "loo_flip_if_flagged": _rate(flips, flagged),
            "loo_flip_if_stable": _rate(flips, ~flagged),
            "loo_flips_flagged": _rate(flagged, flips),
        }
    base = {
        "nucleotides": int(values.shape[1]),
        "heldout_other_sign": float(disagree.mean()),
        "loo_flip": float(flips.mean()),
        # Low agreement / low |t| should mean "the held-out member reads it otherwise".
        "auroc_agreement": auroc(-np.concatenate(held_scores["agreement"]), disagree),
        "auroc_t": auroc(-np.concatenate(held_scores["t"]), disagree),
        "members": k,
    }
    return {"base": base, **out}


def _rate(event: np.ndarray, where: np.ndarray) -> float:
    return float(event[where].mean()) if where.any() else float("nan")


def demo_inputs():
    from mirnamap.pipeline import read_source

    return read_source(ROOT / "data" / "examples" / "hairpins.fa")


def human_inputs(subsample: int):
    from mirnamap.encode import encode
    from mirnamap.pipeline import read_source

    data = encoded_deepmirgene("human")
    test = np.flatnonzero(data.splits == "test")
    half = subsample // 2
    rows = np.sort(
        np.concatenate([test[data.labels[test] == 1][:half], test[data.labels[test] == 0][:half]])
    )
    by_id = sequences_of("human")
    encoding = encode(
        [by_id[str(data.ids[i])] for i in rows],
        [str(data.structures[i]) for i in rows],
        ids=[str(data.ids[i]) for i in rows],
    )
    return read_source(encoding)


def cached_scores(name: str) -> tuple[dict, dict]:
    """The cached member scores of set ``name`` and the seconds per member map."""
    path = CACHE / f"uncertainty_{name}.npz"
    if not path.is_file():
        return {}, {}
    with np.load(path) as data:
        scores = {m: data[m] for m in data.files if ":" not in m}
        return scores, {m: float(data[f"{m}:seconds"]) for m in scores}


def scores_of(name: str, inputs, ensemble, methods, params, reuse: bool):
    scores, seconds = cached_scores(name) if reuse else ({}, {})
    missing = [m for m in methods if m not in scores]
    if missing:
        found, _, took = member_scores(inputs, ensemble, missing, params)
        scores, seconds = scores | found, seconds | took
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            CACHE / f"uncertainty_{name}.npz",
            **scores,
            **{f"{m}:seconds": np.float64(s) for m, s in seconds.items()},
        )
    return scores, seconds


def main() -> None:
    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.saliency import cost_params, list_backends

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subsample", type=int, default=50)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--reuse", action="store_true", help="reuse the cached member scores")
    args = parser.parse_args()
    ensemble = resolve_ensemble(None)
    backends = tuple(list_backends())
    sets = {
        "demo": (demo_inputs(), DEMO_METHODS, {}),
        "human": (human_inputs(args.subsample), backends, cost_params(args.samples)),
    }
    table = []
    for name, (inputs, methods, params) in sets.items():
        scores, seconds = scores_of(name, inputs, ensemble, methods, params, args.reuse)
        for method in methods:
            found = measure(scores[method])
            for rule in RULES:
                table.append(
                    {"set": name, "method": method, "rule": rule, **found["base"],
                     **found[rule], "seconds_per_map": seconds[method]}
                )  # fmt: skip
    with open(RESULTS / "uncertainty_rule.tsv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(table[0]), delimiter="\t", lineterminator="\n")
        writer.writeheader()
        for row in table:
            writer.writerow({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in row.items()})
    write_markdown(table, len(ensemble), args, sets)


def summary(table: list[dict]) -> list[str]:
    """The result in words, with its numbers: the chosen rule (``sign``) against ``sd``."""

    def row(name: str, method: str, rule: str) -> dict:
        return next(r for r in table if (r["set"], r["method"], r["rule"]) == (name, method, rule))

    def span(name: str, rule: str, key: str, methods) -> str:
        values = [100 * row(name, m, rule)[key] for m in methods]
        return f"{min(values):.0f}-{max(values):.0f} %"

    demo = [m for m in DEMO_METHODS if m != "deconvnet"]  # deconvnet's sign never changes
    human = sorted({r["method"] for r in table if r["set"] == "human"})
    # The methods whose maps change sign (the rule marks > 5 %); the others have one sign.
    signed = [m for m in human if row("human", m, "sign")["flagged"] > 0.05]
    lines = [
        "## Result",
        "",
        "**The rule: a nucleotide is marked unstable where not every member gives its "
        "score the sign of the members' mean** (`sign`; `mirnamap.plot.MIN_AGREEMENT` = 1, "
        "`Explanation.agreement`, `mirnamap.pipeline.maps.sign_agreement`). It replaces "
        "`|mean| < 2 sd`, which marks most nucleotides whatever the method: "
        f"{span('demo', 'sd', 'flagged', DEMO_METHODS)} of the demo's, and "
        f"{span('human', 'sd', 'flagged', signed)} of the human sample's, even for methods "
        "whose sign no member ever changes (`deconvnet`: "
        f"{100 * row('human', 'deconvnet', 'sd')['flagged']:.0f} % marked, no held-out "
        "member reading any nucleotide otherwise). The sign rule marks "
        f"{span('demo', 'sign', 'flagged', demo)} of the demo's nucleotides (0 % for "
        "`deconvnet`), and follows how stable the "
        f"method is: {100 * row('human', 'smoothgrad_guided_backprop', 'sign')['flagged']:.0f}"
        " % for `smoothgrad_guided_backprop`, "
        f"{100 * row('human', 'gradient_x_input', 'sign')['flagged']:.0f} % for "
        "`gradient_x_input` on the human sample.",
        "",
        "It marks the readings that change with retraining: computed on four members, a "
        "fifth reads a nucleotide the rule marks with the other sign in "
        f"{span('human', 'sign', 'heldout_other_sign_if_flagged', signed)} of cases, one "
        f"it leaves unmarked in {span('human', 'sign', 'heldout_other_sign_if_stable', signed)}"
        f" ({', '.join(signed)}: the methods whose maps change sign, human sample); the "
        "marked nucleotides hold "
        f"{span('human', 'sign', 'flagged_mass', signed)} of the map's |score|. No reading "
        "the rule leaves unmarked flips when one member is dropped (by construction: a "
        "unanimous sign cannot flip), whereas a majority rule (`sign_majority`) lets "
        f"{span('human', 'sign_majority', 'loo_flip_if_stable', signed)} of its unmarked "
        "readings flip. `|mean| / sd` ranks the nucleotides a little better (AUROC below) "
        "but its 2-sd threshold marks nearly everything; at two standard errors (`se`) it "
        "marks about as many as the sign rule, with the same separation, and is harder to "
        "state. Methods whose maps have one sign (Grad-CAM++, SmoothGrad², VarGrad, "
        "deconvnet) are never marked: their reading is the magnitude, not the sign.",
        "",
        "Not measured here: the rule on the ground-truth benchmark (its tasks train one "
        "model each, not an ensemble).",
        "",
    ]
    return lines


def write_markdown(table: list[dict], k: int, args, sets) -> None:
    n_demo = len(sets["demo"][0].encoding)
    lines = [
        "# The uncertainty rule: which readings change with retraining",
        "",
        "`python experiments/uncertainty_rule.py` (issue 26). The bundled ensemble's "
        f"{k} members (five retrainings) explain the pre-miRNA logit of the demo's "
        f"{n_demo} hairpins (`data/examples/hairpins.fa`, the methods at their defaults) "
        f"and of {args.subsample} human test hairpins (half positive; every backend, those "
        f"that sample at {args.samples} samples or steps). A "
        "nucleotide's reading is the sign of the members' mean score.",
        "",
        "Rules (a flagged nucleotide is drawn with a dot):",
        "",
    ]
    lines += [f"* `{r}`: {RULE_TEXT[r]}" for r in RULES]
    lines += ["", *summary(table)]
    lines += [
        "",
        "Columns: **flagged**, the share of the nucleotides the rule flags; **|mean| "
        "flagged**, the share of the ensemble's total |score| on them; **held-out: other "
        "sign if flagged / if not**: the rule computed on 4 members, the 5th (a new "
        "retraining) reads the nucleotide with the other sign than the 4's mean, pooled "
        "over the 5 choices; **LOO flip if not flagged**: dropping one member flips the "
        "5-member mean's sign although the rule called it stable.",
        "",
    ]
    for name in ("demo", "human"):
        rows = [r for r in table if r["set"] == name]
        lines += [
            f"## {'The demo' if name == 'demo' else 'Human test sample'}",
            "",
            "| method | rule | flagged | \\|mean\\| flagged | held-out: other sign if flagged "
            "| if not | LOO flip if not flagged |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            lines.append(
                f"| {r['method']} | {r['rule']} | {r['flagged']:.2f} | {r['flagged_mass']:.2f} "
                f"| {r['heldout_other_sign_if_flagged']:.2f} "
                f"| {r['heldout_other_sign_if_stable']:.2f} | {r['loo_flip_if_stable']:.3f} |"
            )
        lines += [
            "",
            "Per method, how well the continuous scores predict that the held-out member "
            "reads the other sign (AUROC; 0.5 = no better than chance), and how often it "
            "does:",
            "",
            "| method | held-out other sign | AUROC of agreement | AUROC of \\|mean\\|/sd |",
            "|---|---:|---:|---:|",
        ]
        for r in rows:
            if r["rule"] == "sign":
                lines.append(
                    f"| {r['method']} | {r['heldout_other_sign']:.2f} "
                    f"| {r['auroc_agreement']:.2f} | {r['auroc_t']:.2f} |"
                )
        lines.append("")
    (RESULTS / "uncertainty_rule.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
