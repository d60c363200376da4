"""An ensemble's card: what a reader needs to know what it is and how well it does.

The card travels inside the ensemble file (``ensemble.json``) and is written beside it as
Markdown (:func:`card_markdown`): the data sources and counts, the options, the
per-member and ensemble figures on the calibration share and the test sets, and the
versions of the software. :func:`mirnamap.members.train_ensemble` fills it in.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "CALIBRATION",
    "MANIFEST",
    "build_card",
    "card_markdown",
    "card_scores",
    "compact_scores",
    "json_safe",
    "score_test_set",
    "versions",
]

#: The split value of the calibration share in :func:`mirnamap.members.ensemble_splits`
#: (folds are 0..F-1).
CALIBRATION = -1
#: The manifest's name inside the ensemble archive.
MANIFEST = "manifest.tsv"


def versions() -> dict[str, str]:
    """The versions a card records: Python, mirnamap, TensorFlow, Keras, numpy, platform."""
    from importlib import metadata

    import mirnamap

    out = {"python": platform.python_version(), "mirnamap": mirnamap.__version__}
    for package in ("tensorflow", "keras", "numpy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    out["platform"] = f"{platform.system()} {platform.machine()}"
    return out


def compact_scores(scores: Mapping[str, Any]) -> dict[str, Any]:
    """The figures a card keeps (no confusion counts beyond n)."""
    keep = ("n", "n_positive", "threshold", "accuracy", "sensitivity", "specificity", "mcc",
            "auroc", "auprc", "ece", "ece_uncalibrated")  # fmt: skip
    out = {k: scores[k] for k in keep if k in scores}
    out.update({k: v for k, v in scores.items() if k.startswith("sensitivity_at_")})
    return out


def card_scores(labels: np.ndarray, probability: np.ndarray, calibrated=None, threshold=0.5):
    """The card's figures of ``probability`` (``float (N,)``) against ``labels`` (``(N,)``),
    ECE of ``calibrated`` where given; ``{"n": 0}`` for no record."""
    from mirnamap.evaluate import score_probabilities

    if labels.size == 0:
        return {"n": 0}
    return compact_scores(score_probabilities(labels, probability, calibrated, threshold=threshold))


def score_test_set(models, names, images, labels, temperature, bias, threshold) -> dict:
    """The card's figures on a test set: the calibrated ensemble's and each member's."""
    from mirnamap.ensemble import Ensemble, calibrate
    from mirnamap.model import check_images

    images = check_images(images, "test images")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"{images.shape[0]} test images but test labels of shape {labels.shape}")
    prediction = Ensemble(models, names=names).predict(images)
    calibrated = calibrate(prediction.logits, temperature, bias)
    return {
        "ensemble": card_scores(labels, prediction.probability, calibrated, threshold),
        "members": {
            n: card_scores(labels, p) for n, p in zip(names, prediction.members, strict=True)
        },
    }


#: How the card describes the "unsure" rule (:mod:`mirnamap.flags`).
FLAG_RULE = {
    "rule": "unsure where the members' sd of P(pre-miRNA) >= sd",
    "chosen_on": "calibration share (Youden's J of the sd as a detector of wrong calls)",
}


def build_card(
    *, records, labels, split, origin, options, members, init_source, starts, freeze, rule,
    value, chosen, temperature, bias, calibration_scores, test_scores, found, allow_overlap,
    failures, sequences_known, flag_rule=None,
) -> dict[str, Any]:  # fmt: skip
    """The card: what a reader needs to know what the ensemble is and how well it does."""
    origin_array = np.array(origin)
    sources = {}
    for name in sorted(set(origin)):
        mask = origin_array == name
        sources[name] = {"images": int(mask.sum()), "positives": int(labels[mask].sum())}
    calibration = split == CALIBRATION
    return json_safe(
        {
            "trained_by": "mirnamap.members.train_ensemble",
            "members": members,
            "seed": options["seed"],
            "data": {
                "sources": sources,
                "n_images": int(labels.size),
                "n_positives": int(labels.sum()),
                "n_calibration": int(calibration.sum()),
                "n_calibration_positives": int(labels[calibration].sum()),
                "folds": [int((split == f).sum()) for f in range(options["folds"])],
                "n_failed": len(failures),
                "sequences_known": sequences_known,
                "manifest": MANIFEST,
            },
            "options": {**options, "members": members},
            "init": (
                None
                if init_source is None
                else {
                    "source": init_source,
                    "networks": list(starts),
                    "rule": "member k starts from network k mod n (member k from k where the "
                    "counts match)",
                }
            ),
            "freeze": freeze,
            "calibration": {
                "temperature": temperature,
                "bias": bias,
                "fitted_on": "calibration share" if calibration.any() else None,
            },
            "threshold": {
                "value": chosen,
                "rule": "probability" if rule == "probability" else f"specificity:{value}",
                "applies_to": "probability (softmax of the mean logits)",
            },
            "flag": None if flag_rule is None else flag_rule.as_dict() | FLAG_RULE,
            "figures": {
                "members": [
                    {
                        "name": r.name,
                        "seed": r.seed,
                        "fold": r.fold,
                        "n_train": r.n_train,
                        "n_validation": r.n_validation,
                        "epochs_run": r.epochs_run,
                        "seconds": round(r.seconds, 1),
                        "init": r.init,
                        "validation": r.validation,
                        "calibration": r.calibration,
                        "history": r.history,
                    }
                    for r in records
                ],
                "ensemble_calibration_share": calibration_scores,
                "test": test_scores,
                "note": "the calibration share fitted the temperature, bias and threshold: its "
                "threshold figures are in-sample; no member trained or stopped on it",
            },
            "overlap": (
                {"checked": False}
                if found is None
                else {
                    "checked": True,
                    "training_records_in_test": int(found.train_records.size),
                    "test_records_in_training": int(found.test_records.size),
                    "allowed": bool(allow_overlap),
                }
            ),
            "versions": versions(),
            "created": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        }
    )


def json_safe(value: Any) -> Any:
    """A copy that strict JSON readers take: NaN and infinities become null."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _figure(value: Any) -> str:
    return (
        "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
    )


def _flag_line(flag: Mapping[str, Any] | None) -> str:
    if not flag:
        return "No call is flagged unsure (one member, or no cut on the spread separates)."
    return (
        f"A call is flagged `unsure` where the members' standard deviation of P(pre-miRNA) is "
        f">= {flag['sd']:.4g}, chosen on the calibration share: it flags "
        f"{flag['errors_caught']} of its {flag['errors']} wrong calls and "
        f"{flag['right_flagged']} of its {flag['right']} right ones."
    )


def card_markdown(card: Mapping[str, Any]) -> str:
    """A card of :func:`train_ensemble` as Markdown (what ``NAME.md`` beside the file holds)."""
    data, options, figures = card["data"], card["options"], card["figures"]
    init = card.get("init")
    lines = [
        "# Ensemble card",
        "",
        f"{card['members']} DeepMir networks (Cordero, Menkovski & Allmer, bioRxiv "
        "10.1101/840579), trained by `mirnamap.members.train_ensemble`"
        + (f", fine-tuned from {init['source']}" if init else " from scratch")
        + (f" with the convolutions frozen ({card['freeze']})" if card.get("freeze") else "")
        + ". Their logits are averaged; the calibrated probability scales the margin by "
        f"1 / T, T = {card['calibration']['temperature']:.4f}, and adds "
        f"b = {card['calibration']['bias']:.4f}. Records are called pre-miRNA at probability "
        f">= {card['threshold']['value']:.6g} ({card['threshold']['rule']}).",
        "",
        _flag_line(card.get("flag")),
        "",
        "## Data",
        f"{data['n_images']} images, {data['n_positives']} pre-miRNAs; "
        f"{data['n_calibration']} ({data['n_calibration_positives']} pre-miRNAs) held out of "
        f"every member for calibration; folds of {', '.join(map(str, data['folds']))}; "
        f"{data['n_failed']} input records left out (not folded or drawn).",
        "",
        "| source | images | pre-miRNAs |",
        "|---|---:|---:|",
        *(f"| {k} | {v['images']} | {v['positives']} |" for k, v in data["sources"].items()),
        "",
        "Leakage check against a test set: "
        + (
            "not run."
            if not card["overlap"]["checked"]
            else f"{card['overlap']['training_records_in_test']} training records found in it"
            + (" (allowed)." if card["overlap"]["allowed"] else ".")
        ),
        "",
        "## Training",
        f"Adam {options['learning_rate']}, batch {options['batch_size']}, at most "
        f"{options['epochs']} epochs, early stopping {options['early_stopping']}, learning rate "
        f"halved after {options['reduce_lr']} flat epochs, class weights "
        f"{options['class_weight']}; member k: seed {options['seed']} + k, validation fold "
        f"k mod {options['folds']}.",
        "",
        "| member | seed | fold | trained on | epochs | seconds | start | val AUROC | cal AUROC |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
        *(
            f"| {m['name']} | {m['seed']} | {m['fold']} | {m['n_train']} | {m['epochs_run']} | "
            f"{m['seconds']} | {m['init'] or 'scratch'} | {_figure(m['validation'].get('auroc'))}"
            f" | {_figure(m['calibration'].get('auroc'))} |"
            for m in figures["members"]
        ),
        "",
        "## Figures on the calibration share",
        "| metric | ensemble |",
        "|---|---:|",
        *(
            f"| {k} | {_figure(v) if v is None or isinstance(v, float) else v} |"
            for k, v in figures["ensemble_calibration_share"].items()
        ),
        "",
        figures["note"] + ".",
        "",
        "## Versions",
        ", ".join(f"{k} {v}" for k, v in card["versions"].items()) + ".",
        "",
    ]
    return "\n".join(lines)
