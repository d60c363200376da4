"""The evaluation step of ``train_ensemble.py``: figures, calibration, member diversity."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
from _common import RESULTS

OUT = RESULTS / "ensemble"

#: Per test set: the headline metric, its target (issue 12) and the published figure.
TARGETS = {
    "modhsa_test": ("accuracy", 0.95, "0.9517 (DeepMir, pre-trained)"),
    "hsapseudo_test": ("auroc", 0.97, "0.97 (DeepMir, fine-tuned)"),
    "human_test": ("auroc", 0.98, "0.979 (deepMiRGene)"),
    "whole_test": ("auroc", None, ""),
    "new": ("auroc", 0.984, "0.984 (deepMiRGene)"),
    "shuffled": ("specificity", 0.95, ""),
}
ECE_TARGET = 0.03


def _members(k_max: int):
    """The trained members: their checkpoints, or (once bundled and the checkpoints
    removed) the members of the ensemble this script bundled (commit
    ``_common.ISSUE_12_ENSEMBLE``, read from the git history: the bundle is issue 24's now)."""
    from _common import ensemble_of_commit

    from mirnamap.ensemble import load_ensemble
    from mirnamap.model import load_model

    paths = [OUT / f"member_{k}.keras" for k in range(k_max)]
    if all(p.is_file() for p in paths):
        return [load_model(p) for p in paths]
    bundled = load_ensemble(ensemble_of_commit())
    if len(bundled) >= k_max:
        return list(bundled.members[:k_max])
    missing = [str(p) for p in paths if not p.is_file()]
    raise SystemExit(f"members not trained yet: {missing} (run --step train)")


def _scores(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    from mirnamap.evaluate import metrics

    if len(set(labels.tolist())) < 2:  # one class (the shuffles): specificity only
        specificity = float(np.mean(probabilities < 0.5))
        return {"n": len(labels), "specificity": specificity, "accuracy": specificity}
    return metrics(labels, probabilities)


def evaluate(pool, args, tests: dict, versions: dict) -> dict:
    """Score the ensemble, its members and the earlier bundled model; write the report."""
    from mirnamap.ensemble import (
        DEFAULT_ENSEMBLE,
        Ensemble,
        calibrate,
        combine_logits,
        fit_calibration,
        fit_temperature,
        save_ensemble,
        softmax,
        spread,
    )
    from mirnamap.evaluate import expected_calibration_error, save_reliability_diagram
    from mirnamap.model import DEFAULT_MODEL, load_model

    members = _members(args.members)
    ensemble = Ensemble(members)
    old = Ensemble([load_model(DEFAULT_MODEL)])
    calibration = pool.part == 5
    cal_logits = combine_logits(ensemble.member_logits(pool.images[calibration]))
    temperature_only = fit_temperature(cal_logits, pool.labels[calibration])
    temperature, bias = fit_calibration(cal_logits, pool.labels[calibration])
    report: dict = {
        "temperature": temperature,
        "bias": bias,
        "temperature_only": temperature_only,
        "sets": {},
        "versions": versions,
    }
    pooled_labels, pooled_raw, pooled_cal, pooled_t = [], [], [], []
    diversity = []
    for name, (images, labels) in tests.items():
        z = ensemble.member_logits(images)
        mean = combine_logits(z)
        p, p_cal = softmax(mean)[:, 1], calibrate(mean, temperature, bias)
        pooled_t.append(softmax(mean, temperature_only)[:, 1])
        members_p = softmax(z)[..., 1]
        old_p = old.predict(images).probability
        row = {
            "ensemble": _scores(labels, p),
            "calibrated": _scores(labels, p_cal),
            "old_bundled": _scores(labels, old_p),
            "members": [_scores(labels, m) for m in members_p],
            "mean_sd": float(spread(members_p).mean()),
        }
        report["sets"][name] = row
        pooled_labels.append(labels)
        pooled_raw.append(p)
        pooled_cal.append(p_cal)
        margins = z[..., 1] - z[..., 0]
        for a, b in combinations(range(len(members)), 2):
            diversity.append(
                {
                    "set": name,
                    "pair": (a, b),
                    "logit_correlation": float(np.corrcoef(margins[a], margins[b])[0, 1]),
                    "disagreement": float(np.mean((margins[a] > 0) != (margins[b] > 0))),
                }
            )
    y, raw, cal, t_only = map(np.concatenate, (pooled_labels, pooled_raw, pooled_cal, pooled_t))
    report["ece"] = {
        "uncalibrated": expected_calibration_error(y, raw),
        "temperature_only": expected_calibration_error(y, t_only),
        "calibrated": expected_calibration_error(y, cal),
        "n": len(y),
    }
    report["diversity"] = {
        "mean_logit_correlation": float(np.mean([d["logit_correlation"] for d in diversity])),
        "mean_disagreement": float(np.mean([d["disagreement"] for d in diversity])),
        "pairs": diversity,
    }
    save_reliability_diagram(
        {
            "ensemble": (y, raw),
            f"temperature only (T = {temperature_only:.2f})": (y, t_only),
            f"calibrated (T = {temperature:.2f}, b = {bias:+.2f})": (y, cal),
        },
        RESULTS / "ensemble_reliability.png",
        title="pooled held-out test sets",
    )
    (RESULTS / "ensemble.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "ensemble.md").write_text(_table(report, args) + "\n")
    print(_table(report, args), flush=True)
    if args.bundle:
        card = {
            "trained_by": "experiments/train_ensemble.py --step all --bundle",
            "members": args.members,
            "seed": args.seed,
            "data": json.loads((OUT / "data.json").read_text()),
            "figures": {n: r["ensemble"] for n, r in report["sets"].items()},
            "ece": report["ece"],
            "versions": versions,
        }
        bundled = Ensemble(members, temperature=temperature, bias=bias, card=card)
        save_ensemble(bundled, DEFAULT_ENSEMBLE)
        DEFAULT_ENSEMBLE.with_suffix(".md").write_text(_card(report, card, args))
        print(f"bundled -> {DEFAULT_ENSEMBLE}")
    return report


def _table(report: dict, args) -> str:
    lines = [
        f"# The default ensemble ({args.members} members; `experiments/train_ensemble.py`)",
        "",
        "| set | metric | earlier bundled model | ensemble | members (min - max) | "
        "published | target | met |",
        "|---|---|---:|---:|---:|---|---:|---|",
    ]
    for name, row in report["sets"].items():
        metric, target, published = TARGETS[name]
        value = row["ensemble"][metric]
        spread = [m[metric] for m in row["members"]]
        met = (
            "" if target is None else ("yes" if value >= target else f"no ({value - target:+.4f})")
        )
        lines.append(
            f"| {name} | {metric} | {row['old_bundled'][metric]:.4f} | {value:.4f} | "
            f"{min(spread):.4f} - {max(spread):.4f} | {published} | "
            f"{'' if target is None else target} | {met} |"
        )
    ece = report["ece"]
    lines += [
        "",
        f"Expected calibration error on the pooled test sets ({ece['n']} records, 15 bins): "
        f"{ece['uncalibrated']:.4f} uncalibrated, {ece['temperature_only']:.4f} with a "
        f"temperature alone (T = {report['temperature_only']:.3f}), {ece['calibrated']:.4f} "
        f"with temperature and bias (T = {report['temperature']:.3f}, b = "
        f"{report['bias']:+.3f}; Platt scaling of the logit margin), both fitted on the "
        f"calibration share (target <= {ECE_TARGET}). Reliability diagram: "
        "`ensemble_reliability.png`.",
        "",
        f"Members: mean pairwise correlation of the test logit margins "
        f"{report['diversity']['mean_logit_correlation']:.3f}, mean share of test calls on "
        f"which two members disagree {report['diversity']['mean_disagreement']:.4f}.",
    ]
    return "\n".join(lines)


def _card(report: dict, card: dict, args) -> str:
    """The bundled ensemble's card (Markdown)."""
    data = card["data"]
    sources = ", ".join(
        f"{name} {v['images']} ({v['positives']} pre-miRNAs)" for name, v in data["sources"].items()
    )
    excluded = "\n".join(f"- {what}: {n}" for what, n in data["excluded"].items())
    members = json.loads((OUT / "member_0.json").read_text())
    return "\n".join(
        [
            "# deepmir_ensemble.zip",
            "",
            f"Written by `{card['trained_by']}`. {args.members} DeepMir CNNs (Cordero, "
            "Menkovski & Allmer, bioRxiv 10.1101/840579; `mirnamap.model.build_model`), each "
            "trained from scratch with its own seed, on four of five folds of the pool below, "
            "stopping early on the fifth (a different fold per member). Their logits are "
            "averaged; the calibrated probability scales their margin by 1 / T, T = "
            f"{report['temperature']:.3f}, and adds b = {report['bias']:+.3f}, both fitted "
            "on a 10 % share no member saw. Load "
            "with `mirnamap.ensemble.load_default_ensemble()`; `mirnamap predict` and "
            "`mirnamap explain` use it by default (`--members` picks a subset).",
            "",
            "## Data",
            f"{data['n_images']} images, {data['n_positives']} pre-miRNAs: {sources}. "
            "The deepMiRGene sets are folded by ViennaRNA and drawn by mirnamap; the DeepMir "
            "sets are the published images (RNAfold 2.1.3, the original encoder); the "
            "shuffles are one dinucleotide-preserving shuffle of each deepMiRGene training "
            "pre-miRNA, as hard negatives. Removed so that no test set leaks in (DeepMir "
            "images are matched to sequences by reading both strands back out of their "
            "colours, `mirnamap.encode.read_strands`):",
            excluded,
            "",
            "## Training",
            "Adam 1e-3 (halved after 2 flat epochs), batch 128, balanced class weights, at "
            f"most {args.epochs} epochs, patience {args.patience}; member 0 ran "
            f"{members['epochs_run']} epochs in {members['seconds'] / 60:.0f} min on 2 CPU "
            f"cores ({members['train_images_per_s']} images/s).",
            "",
            "## Figures",
            (RESULTS / "ensemble.md").read_text().split("\n", 2)[2],
            "## Versions",
            ", ".join(f"{k} {v}" for k, v in card["versions"].items()) + ".",
            "",
            "## Limits",
            "Human and cross-species pre-miRNAs against pseudo-hairpins, random coding "
            "windows and shuffles; no other kind of negative (e.g. other small-RNA loci) is "
            "measured. The published DeepMir images use RNAfold 2.1.3 folds, mirnamap's "
            "ViennaRNA 2.8: a hairpin may be drawn slightly differently by the two.",
            "",
        ]
    )
