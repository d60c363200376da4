"""Evaluate a binary classifier: threshold metrics, ranking metrics, curves as PNG.

:func:`metrics` gives accuracy, sensitivity (recall of pre-miRNAs), specificity,
precision, F1, Matthews correlation, AUROC, AUPRC (average precision) and the confusion
matrix; :func:`sensitivity_at_specificity` the recall at a fixed false-positive rate (what
a genome scan needs) and :func:`threshold_for_specificity` the threshold that gives it.
The ``save_*`` functions draw ROC and precision-recall curves, reliability diagrams and
the learning curve of :func:`mirnamap.train.train` as PNG (matplotlib, Agg backend).
:func:`evaluate_models` scores one or several models side by side on one labelled set
(:class:`Evaluation`: a table, per-record probabilities, the curves with every model on
one plot).

>>> m = metrics([1, 1, 0, 0], [0.9, 0.4, 0.2, 0.6])
>>> m["tp"], m["fn"], m["tn"], m["fp"], m["accuracy"]
(1, 1, 1, 1, 0.5)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_dir

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from mirnamap._typing import Images
    from mirnamap.ensemble import Ensemble

__all__ = [
    "SPECIFICITIES",
    "Evaluation",
    "calibration_bins",
    "confusion",
    "evaluate_models",
    "expected_calibration_error",
    "format_metrics",
    "metrics",
    "parse_threshold",
    "save_learning_curve",
    "save_pr_curve",
    "save_reliability_diagram",
    "save_roc_curve",
    "score_probabilities",
    "sensitivity_at_specificity",
    "threshold_for_specificity",
]

#: The specificities :func:`evaluate_models` reports the sensitivity at.
SPECIFICITIES = (0.90, 0.95, 0.99)


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
    y, p = _check(labels, probabilities)
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
    y, p = _check(labels, probabilities)
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
    fig.tight_layout()
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format=path.suffix.lstrip(".").lower() or "png")
    return path


# ------------------------------------------------------------------ several models


def _spec_key(specificity: float) -> str:
    """The column of the sensitivity at a specificity: ``sensitivity_at_specificity_0.95``."""
    return f"sensitivity_at_specificity_{specificity:.2f}"


#: The columns of :meth:`Evaluation.to_frame`, after ``model`` (and the specificities').
_COLUMNS = (
    "n", "n_positive", "threshold", "accuracy", "sensitivity", "specificity", "precision",
    "f1", "mcc", "auroc", "auprc",
)  # fmt: skip
_AFTER = ("ece", "ece_uncalibrated", "tp", "fp", "tn", "fn")


def _plain(value: Any) -> Any:
    """A JSON-safe copy: NaN becomes null, numpy numbers become Python ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass(frozen=True, eq=False)
class Evaluation:
    """M models scored on one labelled set of N records (:func:`evaluate_models`).

    Attributes
    ----------
    names : tuple of str
        The M models, in the order given.
    labels : np.ndarray
        ``int8 (N,)`` true classes of the records with an image.
    probabilities : np.ndarray
        ``float64 (M, N)``: each model's P(pre-miRNA), the ``probability`` that
        ``predict`` reports and calls on (for an ensemble, the softmax of the mean logits).
    calibrated : np.ndarray
        ``float64 (M, N)``: the calibrated probability (the ensemble's temperature and
        bias; for a single network, its own probability).
    thresholds : tuple of float
        The threshold each model was scored at (its stored one unless overridden).
    scores : tuple of dict
        Per model: :func:`metrics` at its threshold, the sensitivity at each of
        ``specificities`` (``sensitivity_at_specificity_0.95``, ...), ``ece`` (of the
        calibrated probability) and ``ece_uncalibrated``.
    ids : tuple of str
        The N records' ids.
    failures : tuple of Failure
        Records of the input without an image (not scored).
    specificities : tuple of float
        Where the sensitivity was read.
    n_bins : int
        Bins of the expected calibration error and the reliability diagram.
    """

    names: tuple[str, ...]
    labels: np.ndarray
    probabilities: np.ndarray
    calibrated: np.ndarray
    thresholds: tuple[float, ...]
    scores: tuple[dict[str, Any], ...]
    ids: tuple[str, ...]
    failures: tuple[Failure, ...] = ()
    specificities: tuple[float, ...] = SPECIFICITIES
    n_bins: int = 15

    def __len__(self) -> int:
        return len(self.names)

    def columns(self) -> list[str]:
        """The table's columns: model, counts, threshold metrics, ranking metrics, the
        sensitivities at the specificities, calibration errors and the confusion counts."""
        return ["model", *_COLUMNS, *map(_spec_key, self.specificities), *_AFTER]

    def to_frame(self) -> pd.DataFrame:
        """One row per model (:meth:`columns`)."""
        import pandas as pd

        rows = [
            {"model": name, **score} for name, score in zip(self.names, self.scores, strict=True)
        ]
        return pd.DataFrame(rows, columns=self.columns())

    def predictions_frame(self) -> pd.DataFrame:
        """One row per scored record: id, label, and per model ``<name>`` (probability)
        and ``<name>:calibrated``."""
        import pandas as pd

        frame = pd.DataFrame({"id": list(self.ids), "label": self.labels.astype(np.int8)})
        for k, name in enumerate(self.names):
            frame[name] = self.probabilities[k]
            frame[f"{name}:calibrated"] = self.calibrated[k]
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """One row per input record without an image: index, id, reason, stage."""
        return failures_frame(self.failures)

    def _curves(self, calibrated: bool = False) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        values = self.calibrated if calibrated else self.probabilities
        return {name: (self.labels, values[k]) for k, name in enumerate(self.names)}

    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write what ``mirnamap evaluate`` writes into ``folder``; returns the paths.

        ``metrics.tsv`` (:meth:`to_frame`), ``metrics.json`` (the same, with the
        thresholds and counts), ``predictions.tsv`` (:meth:`predictions_frame`),
        ``roc.png`` and ``pr.png`` (every model on one plot; only when both classes are
        present), ``reliability.png`` (calibrated probabilities) and, where records failed,
        ``failures.tsv``. Every file is written under a temporary name and renamed.
        """
        folder = check_output_dir(folder)
        written = []
        for name, frame in (
            ("metrics.tsv", self.to_frame()),
            ("predictions.tsv", self.predictions_frame()),
        ):
            with atomic_write(folder / name) as handle:
                frame.to_csv(
                    handle, sep="\t", index=False, lineterminator="\n", float_format="%.6g"
                )
            written.append(folder / name)
        report = {
            "models": [
                {"model": name, "threshold": t, **score}
                for name, t, score in zip(self.names, self.thresholds, self.scores, strict=True)
            ],
            "n": int(self.labels.size),
            "n_positive": int(self.labels.sum()),
            "n_failed": len(self.failures),
            "specificities": list(self.specificities),
            "n_bins": self.n_bins,
        }
        with atomic_write(folder / "metrics.json") as handle:
            handle.write(json.dumps(_plain(report), indent=2, allow_nan=False) + "\n")
        written.append(folder / "metrics.json")
        if 0 < self.labels.sum() < self.labels.size:
            written.append(save_roc_curve(self._curves(), folder / "roc.png"))
            written.append(save_pr_curve(self._curves(), folder / "pr.png"))
        if self.labels.size:
            written.append(
                save_reliability_diagram(
                    self._curves(calibrated=True), folder / "reliability.png", n_bins=self.n_bins
                )
            )
        if self.failures:
            with atomic_write(folder / "failures.tsv") as handle:
                self.failures_frame().to_csv(handle, sep="\t", index=False, lineterminator="\n")
            written.append(folder / "failures.tsv")
        return written


def score_probabilities(
    labels: Sequence[int],
    probabilities: Sequence[float],
    calibrated: Sequence[float] | None = None,
    *,
    threshold: float = 0.5,
    specificities: Sequence[float] = SPECIFICITIES,
    n_bins: int = 15,
) -> dict[str, Any]:
    """Every figure of :func:`evaluate_models` for one model's probabilities.

    Parameters
    ----------
    labels : array-like of int
        ``(N,)`` 0/1.
    probabilities : array-like of float
        ``(N,)`` P(pre-miRNA), called at ``>= threshold``.
    calibrated : array-like of float, optional
        ``(N,)`` calibrated probabilities, for ``ece``. Default is None: ``probabilities``.
    threshold : float, optional
        Default is 0.5.
    specificities : sequence of float, optional
        Default is :data:`SPECIFICITIES`.
    n_bins : int, optional
        Default is 15.

    Returns
    -------
    dict
        :func:`metrics`, ``sensitivity_at_specificity_<s>`` per specificity, ``ece``
        and ``ece_uncalibrated``.
    """
    y, p = _check(labels, probabilities)
    c = p if calibrated is None else _check(y, calibrated)[1]
    out: dict[str, Any] = metrics(y, p, threshold)
    for specificity in specificities:
        out[_spec_key(specificity)] = sensitivity_at_specificity(y, p, specificity)
    empty = y.size == 0
    out["ece"] = math.nan if empty else expected_calibration_error(y, c, n_bins)
    out["ece_uncalibrated"] = math.nan if empty else expected_calibration_error(y, p, n_bins)
    return out


def evaluate_models(
    models: Mapping[str, Ensemble | keras.Model | str | os.PathLike[str]],
    images: Images,
    labels: Sequence[int],
    *,
    ids: Sequence[str] | None = None,
    failures: Sequence[Failure] = (),
    threshold: float | None = None,
    specificities: Sequence[float] = SPECIFICITIES,
    n_bins: int = 15,
    batch_size: int = 256,
) -> Evaluation:
    """Score one or several models side by side on one labelled set of images.

    Parameters
    ----------
    models : mapping of str to Ensemble, keras.Model or path
        By name: an ensemble, a network, a ``.zip`` ensemble or a ``.keras`` file
        (:func:`mirnamap.ensemble.resolve_ensemble`), or None for the bundled one.
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    labels : array-like of int
        ``(N,)`` 1 = pre-miRNA, 0 = negative.
    ids : sequence of str, optional
        The N records' ids. Default is None: ``"0"``, ``"1"``, ...
    failures : sequence of Failure, optional
        Records of the input that have no image (listed, not scored). Default is none.
    threshold : float, optional
        Score every model at this threshold. Default is None: each at its own
        (:attr:`mirnamap.ensemble.Ensemble.threshold`, 0.5 for a single network).
    specificities : sequence of float, optional
        Where to read the sensitivity. Default is (0.90, 0.95, 0.99).
    n_bins : int, optional
        Bins of the calibration error and reliability diagram. Default is 15.
    batch_size : int, optional
        Images per forward pass; never changes the result. Default is 256.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        If ``models`` is empty or not a mapping, the labels are not 0/1 of the images'
        number, a threshold or specificity is out of range, or a model cannot be read
        (the name and file are given).
    """
    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.model import check_images

    if not isinstance(models, Mapping) or not models:
        raise ValueError(
            "models must be a non-empty mapping of name to model, ensemble or file, got "
            f"{type(models).__name__}"
        )
    images = check_images(images)
    y = np.asarray(labels)
    if y.shape != (images.shape[0],):
        raise ValueError(f"{images.shape[0]} images but labels of shape {y.shape}")
    y = _check(y, np.zeros(y.shape))[0]
    ids = tuple(str(i) for i in (ids if ids is not None else range(len(y))))
    if len(ids) != len(y):
        raise ValueError(f"{len(y)} images but {len(ids)} ids")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    specificities = tuple(float(s) for s in specificities)
    for specificity in specificities:
        if not 0.0 < specificity < 1.0:
            raise ValueError(f"specificities must be in (0, 1), got {specificity}")
    names, probabilities, calibrated, thresholds, scores = [], [], [], [], []
    for name, model in models.items():
        try:
            ensemble = resolve_ensemble(model)
        except (OSError, ValueError) as error:
            raise ValueError(f"model {name!r}: {error}") from None
        prediction = ensemble.predict(images, batch_size=batch_size)
        t = ensemble.threshold if threshold is None else float(threshold)
        names.append(str(name))
        probabilities.append(prediction.probability)
        calibrated.append(prediction.calibrated)
        thresholds.append(float(t))
        scores.append(
            score_probabilities(
                y,
                prediction.probability,
                prediction.calibrated,
                threshold=t,
                specificities=specificities,
                n_bins=n_bins,
            )
        )
    shape = (len(names), len(y))
    return Evaluation(
        names=tuple(names),
        labels=y.astype(np.int8),
        probabilities=np.asarray(probabilities, dtype=np.float64).reshape(shape),
        calibrated=np.asarray(calibrated, dtype=np.float64).reshape(shape),
        thresholds=tuple(thresholds),
        scores=tuple(scores),
        ids=ids,
        failures=tuple(failures),
        specificities=specificities,
        n_bins=int(n_bins),
    )
