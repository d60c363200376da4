"""The evaluation pictures, as PNG: ROC and precision-recall curves and reliability
diagrams (one curve per named set of labels and probabilities, every set on one plot),
and the learning curve of :func:`~mirnamap.train.train` (loss and accuracy per epoch).
Each is drawn on a bare matplotlib ``Figure`` (Agg, leaving pyplot's state alone) and
written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mirnamap.files import atomic_write
from mirnamap.metrics import calibration_bins, check_probabilities, expected_calibration_error

__all__ = [
    "save_learning_curve",
    "save_pr_curve",
    "save_reliability_diagram",
    "save_roc_curve",
]


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
    return {name: check_probabilities(y, p) for name, (y, p) in curves.items()}


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
