"""The figures of a binary classifier's probabilities against true labels: the confusion
counts, the threshold and ranking metrics of :func:`metrics` (accuracy, sensitivity,
specificity, precision, F1, MCC, AUROC, AUPRC), the threshold that keeps a specificity
and the sensitivity there, the calibration bins and the expected calibration error,
reading a threshold option (a probability or ``"specificity:S"``) and printing metrics
on one line. NumPy and scikit-learn only: no model, no plot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "calibration_bins",
    "check_probabilities",
    "confusion",
    "expected_calibration_error",
    "format_metrics",
    "metrics",
    "parse_threshold",
    "sensitivity_at_specificity",
    "threshold_for_specificity",
]


def check_probabilities(labels: Any, probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
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

    y, p = check_probabilities(labels, probabilities)
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


def threshold_for_specificity(
    labels: Sequence[int], probabilities: Sequence[float], specificity: float
) -> float:
    """The lowest threshold whose calls keep ``specificity`` on these negatives.

    With ``n`` negatives, at most ``floor((1 - specificity) * n)`` of them may be called
    (``probability >= threshold``): the threshold is the next float above the first
    negative probability that must not be. Positives do not enter; the lowest such
    threshold gives the most sensitivity.

    Parameters
    ----------
    labels : array-like of int
        ``(N,)`` 0/1; the records labelled 0 are the negatives used.
    probabilities : array-like of float
        ``(N,)`` P(pre-miRNA).
    specificity : float
        In (0, 1).

    Returns
    -------
    float
        The threshold (above 1 where a negative has probability 1).

    Raises
    ------
    ValueError
        Without negatives, or with ``specificity`` outside (0, 1).

    >>> threshold_for_specificity([0, 0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.9], 0.75) > 0.3
    True
    """
    y, p = check_probabilities(labels, probabilities)
    if not 0.0 < specificity < 1.0:
        raise ValueError(f"specificity must be in (0, 1), got {specificity}")
    negatives = np.sort(p[y == 0])[::-1]
    if negatives.size == 0:
        raise ValueError("a threshold for a specificity needs negatives (labels 0)")
    # A small tolerance, so that 0.95 * 100 negatives allows 5 calls, not 4.
    allowed = math.floor((1.0 - specificity) * negatives.size + 1e-9)
    return float(np.nextafter(negatives[allowed], np.inf))


def sensitivity_at_specificity(
    labels: Sequence[int], probabilities: Sequence[float], specificity: float
) -> float:
    """The sensitivity at the threshold of :func:`threshold_for_specificity`: the most
    recall any threshold gives at a specificity of at least ``specificity``.

    NaN without positives or without negatives.

    >>> sensitivity_at_specificity([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.5, 0.9], 0.9)
    0.5
    """
    y, p = check_probabilities(labels, probabilities)
    if not (y == 1).any() or not (y == 0).any():
        return math.nan
    threshold = threshold_for_specificity(y, p, specificity)
    return float(np.mean(p[y == 1] >= threshold))


def parse_threshold(value: float | str) -> tuple[str, float]:
    """Read a decision threshold: a probability, or ``"specificity:S"``.

    Returns ``("probability", t)`` for a probability ``t`` in [0, 1] (a number, or its
    text) and ``("specificity", s)`` for ``"specificity:s"`` with ``s`` in (0, 1): the
    threshold that keeps specificity ``s`` on held-out negatives
    (:func:`threshold_for_specificity`).

    Raises
    ------
    ValueError
        Naming the value and the two forms.

    >>> parse_threshold(0.5), parse_threshold("specificity:0.95")
    (('probability', 0.5), ('specificity', 0.95))
    """
    forms = "a probability in [0, 1] or 'specificity:S' with S in (0, 1)"
    if isinstance(value, bool):
        raise ValueError(f"threshold must be {forms}, got {value!r}")
    kind, number = "probability", value
    if isinstance(value, str):
        text = value.strip().lower()
        if ":" in text:
            kind, _, number = text.partition(":")
            kind = kind.strip()
            if kind != "specificity":
                raise ValueError(f"threshold must be {forms}, got {value!r}")
        else:
            number = text
    try:
        number = float(number)
    except (TypeError, ValueError):
        raise ValueError(f"threshold must be {forms}, got {value!r}") from None
    inside = 0.0 <= number <= 1.0 if kind == "probability" else 0.0 < number < 1.0
    if not (math.isfinite(number) and inside):
        raise ValueError(f"threshold must be {forms}, got {value!r}")
    return kind, number


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
    y, p = check_probabilities(labels, probabilities)
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
