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

The metrics live in :mod:`mirnamap.metrics` and the pictures in :mod:`mirnamap.curves`;
this module holds the comparison of models, and every name above is importable from it.

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

from mirnamap.curves import (
    save_learning_curve,
    save_pr_curve,
    save_reliability_diagram,
    save_roc_curve,
)
from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_dir
from mirnamap.metrics import (
    calibration_bins,
    check_probabilities,
    confusion,
    expected_calibration_error,
    format_metrics,
    metrics,
    parse_threshold,
    sensitivity_at_specificity,
    threshold_for_specificity,
)

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
    y, p = check_probabilities(labels, probabilities)
    c = p if calibrated is None else check_probabilities(y, calibrated)[1]
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
    y = check_probabilities(y, np.zeros(y.shape))[0]
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
