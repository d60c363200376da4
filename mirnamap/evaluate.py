"""Evaluate a binary classifier: threshold metrics, ranking metrics, curves as PNG.

:func:`metrics` gives accuracy, sensitivity (recall of pre-miRNAs), specificity,
precision, F1, Matthews correlation, AUROC, AUPRC (average precision) and the confusion
matrix. The ``save_*`` functions draw ROC and precision-recall curves and the learning
curve of :func:`mirnamap.train.train` as PNG (matplotlib, Agg backend).

>>> m = metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6])
>>> m["tp"], m["fn"], m["tn"], m["fp"], m["accuracy"]
(1, 1, 1, 1, 0.5)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "calibration_bins",
    "confusion",
    "expected_calibration_error",
    "format_metrics",
    "metrics",
    "save_learning_curve",
    "save_pr_curve",
    "save_reliability_diagram",
    "save_roc_curve",
]


def _check(labels: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if labels.ndim != 1 or probabilities.shape != labels.shape:
        raise ValueError(
            f"labels and probabilities must both have shape (N,), got {labels.shape} and "
            f"{probabilities.shape}"
        )
    if labels.size and not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0 or 1, got values {np.unique(labels)[:5]}")
    if not np.isfinite(probabilities).all():
        raise ValueError("probabilities hold NaN or infinite values")
    return labels.astype(np.int64), probabilities


def confusion(labels: Sequence[int], predictions: Sequence[int]) -> dict[str, int]:
    """Counts of true/false positives/negatives (class 1 = positive).

    Parameters
    ----------
    labels, predictions : array-like of int
        ``(N,)`` true and predicted classes, 0 or 1.

    Returns
    -------
    dict
        ``tn``, ``fp``, ``fn``, ``tp`` as int.

    >>> confusion([1, 0, 1, 0], [1, 1, 0, 0])
    {'tn': 1, 'fp': 1, 'fn': 1, 'tp': 1}
    """
    y, p = np.asarray(labels).astype(bool), np.asarray(predictions).astype(bool)
    if y.shape != p.shape:
        raise ValueError(f"labels {y.shape} and predictions {p.shape} differ in shape")
    return {
        "tn": int((~y & ~p).sum()),
        "fp": int((~y & p).sum()),
        "fn": int((y & ~p).sum()),
        "tp": int((y & p).sum()),
    }


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else math.nan


def metrics(
    labels: Sequence[int], probabilities: Sequence[float], threshold: float = 0.5
) -> dict[str, float | int]:
    """Classification metrics of P(pre-miRNA) against the true labels.

    Parameters
    ----------
    labels : array-like of int
        ``(N,)`` true classes: 1 = pre-miRNA, 0 = negative.
    probabilities : array-like of float
        ``(N,)`` predicted P(pre-miRNA), e.g. from :func:`mirnamap.model.predict_proba`.
    threshold : float, optional
        A record is called a pre-miRNA when its probability is >= this. Default is 0.5.

    Returns
    -------
    dict
        ``accuracy``, ``sensitivity`` (TP / (TP + FN)), ``specificity`` (TN / (TN + FP)),
        ``precision`` (TP / (TP + FP)), ``f1``, ``mcc`` (Matthews), ``auroc``, ``auprc``
        (average precision, scikit-learn), the confusion counts ``tn``, ``fp``, ``fn``,
        ``tp``, ``n``, ``n_positive`` and ``threshold``. A ratio with a zero denominator
        is NaN; so are AUROC and AUPRC when only one class is present.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y, p = _check(labels, probabilities)
    counts = confusion(y, p >= threshold)
    tn, fp, fn, tp = counts["tn"], counts["fp"], counts["fn"], counts["tp"]
    precision = _ratio(tp, tp + fp)
    sensitivity = _ratio(tp, tp + fn)
    denominator = math.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    both = y.size and 0 < y.sum() < y.size
    return {
        "accuracy": _ratio(tp + tn, y.size),
        "sensitivity": sensitivity,
        "specificity": _ratio(tn, tn + fp),
        "precision": precision,
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "mcc": _ratio(tp * tn - fp * fn, denominator) if denominator else math.nan,
        "auroc": float(roc_auc_score(y, p)) if both else math.nan,
        "auprc": float(average_precision_score(y, p)) if both else math.nan,
        **counts,
        "n": int(y.size),
        "n_positive": int(y.sum()),
        "threshold": float(threshold),
    }


def format_metrics(
    scores: Mapping[str, Any],
    keys: Sequence[str] = ("accuracy", "sensitivity", "specificity", "mcc", "auroc", "auprc"),
) -> str:
    """One line of metrics (as :func:`metrics` returns them), four decimals each.

    >>> format_metrics({"accuracy": 0.5, "auroc": 0.75, "n": 3})
    'accuracy 0.5000  auroc 0.7500'
    """
    return "  ".join(f"{k} {scores[k]:.4f}" for k in keys if k in scores)


def calibration_bins(
    labels: Sequence[int], probabilities: Sequence[float], n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-width bins of P(pre-miRNA): per bin the count, mean probability and positive rate.

    Returns
    -------
    counts, confidence, frequency : np.ndarray
        ``(n_bins,)`` each; bins without records have NaN confidence and frequency.
    """
    y, p = _check(labels, probabilities)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    which = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, weights=p, minlength=n_bins) / counts
        frequency = np.bincount(which, weights=y, minlength=n_bins) / counts
    return counts, confidence, frequency


def expected_calibration_error(
    labels: Sequence[int], probabilities: Sequence[float], n_bins: int = 15
) -> float:
    """ECE: the count-weighted mean |positive rate - mean probability| over equal bins.

    Ref. Naeini, Cooper & Hauskrecht 2015 (AAAI); Guo et al. 2017, arXiv:1706.04599.

    >>> expected_calibration_error([0, 1, 1, 0], [0.25, 0.75, 0.75, 0.25], n_bins=4)
    0.25
    """
    counts, confidence, frequency = calibration_bins(labels, probabilities, n_bins)
    used = counts > 0
    return float(np.sum(counts[used] * np.abs(frequency[used] - confidence[used])) / counts.sum())


def save_reliability_diagram(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | os.PathLike[str],
    *,
    n_bins: int = 15,
    title: str = "",
) -> Path:
    """Reliability diagram (PNG): positive rate against mean probability per bin, ECE in
    the legend, and the record count per bin underneath."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0, 6.0), dpi=120)
    ax, hist = fig.subplots(2, 1, height_ratios=(3, 1), sharex=True)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="calibrated")
    for name, (y, p) in _curves(curves).items():
        counts, confidence, frequency = calibration_bins(y, p, n_bins)
        ece = expected_calibration_error(y, p, n_bins)
        ax.plot(confidence, frequency, marker="o", label=f"{name} (ECE {ece:.3f})")
        centres = (np.arange(n_bins) + 0.5) / n_bins
        hist.bar(centres, counts, width=1 / n_bins, alpha=0.5, label=name)
    ax.set(ylabel="fraction pre-miRNA", xlim=(0, 1), ylim=(0, 1), title=title)
    ax.legend(loc="upper left", fontsize=8)
    hist.set(xlabel="P(pre-miRNA)", ylabel="records", yscale="log")
    return _save(fig, path)


def _figure(size: tuple[float, float] = (4.5, 4.5), ncols: int = 1):
    # A bare Figure draws with Agg and leaves pyplot's global state (and backend) alone.
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=120)
    return fig, fig.subplots(1, ncols)


def _curves(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]]
    | tuple[Sequence[int], Sequence[float]],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if isinstance(curves, tuple):
        curves = {"": curves}
    return {name: _check(y, p) for name, (y, p) in curves.items()}


def save_roc_curve(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]]
    | tuple[Sequence[int], Sequence[float]],
    path: str | os.PathLike[str],
    *,
    title: str = "ROC curve",
) -> Path:
    """Draw ROC curves (one per named set of labels and probabilities) to a PNG.

    Parameters
    ----------
    curves : (labels, probabilities) or dict of name to (labels, probabilities)
        ``(N,)`` labels 0/1 and ``(N,)`` P(pre-miRNA) per curve.
    path : str or PathLike
        PNG to write (folders created).
    title : str, optional
        Default is "ROC curve".

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    fig, ax = _figure()
    for name, (y, p) in _curves(curves).items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} AUROC {roc_auc_score(y, p):.3f}".strip())
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(
        xlabel="false positive rate (1 - specificity)",
        ylabel="true positive rate (sensitivity)",
        title=title,
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def save_pr_curve(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]]
    | tuple[Sequence[int], Sequence[float]],
    path: str | os.PathLike[str],
    *,
    title: str = "Precision-recall curve",
) -> Path:
    """Draw precision-recall curves to a PNG; arguments as :func:`save_roc_curve`."""
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig, ax = _figure()
    for name, (y, p) in _curves(curves).items():
        precision, recall, _ = precision_recall_curve(y, p)
        ax.step(
            recall,
            precision,
            where="post",
            label=f"{name} AUPRC {average_precision_score(y, p):.3f}".strip(),
        )
        ax.axhline(y.mean(), color="0.7", lw=0.8, ls="--")
    ax.set(
        xlabel="recall (sensitivity)", ylabel="precision", title=title, xlim=(0, 1), ylim=(0, 1.01)
    )
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def save_learning_curve(
    history: Mapping[str, Sequence[float]], path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """Draw loss and accuracy per epoch (training and validation) to a PNG.

    Parameters
    ----------
    history : dict
        ``TrainResult.history``: lists ``loss``, ``accuracy`` and optionally ``val_loss``,
        ``val_accuracy``, one value per epoch.
    path : str or PathLike
        PNG to write.
    title : str, optional
        Default is "".

    Returns
    -------
    pathlib.Path
        The PNG written.
    """
    from matplotlib.ticker import MaxNLocator

    if not history.get("loss"):
        raise ValueError("history has no 'loss' values to draw")
    fig, axes = _figure((8, 3.5), ncols=2)
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        for prefix, label in (("", "training"), ("val_", "validation")):
            values = history.get(prefix + key)
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=label)
        ax.set(xlabel="epoch", ylabel=key)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _save(fig, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path
