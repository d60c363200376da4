"""A logit as a few dense units' tracks, and which units fall on which region
(:mod:`mirnamap.units`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.plot._common import colour_map, title
from mirnamap.plot.track import plot_sequence_track

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_units(
    units: npt.ArrayLike,
    shares: npt.ArrayLike,
    scores: npt.ArrayLike,
    sequence: str,
    structure: str,
    *,
    logit: float | None = None,
    bias: float | None = None,
    record_id: str | None = None,
    method: str | None = None,
    probability: float | None = None,
    abs_total: float | None = None,
) -> Figure:
    """A hairpin's logit as a few dense units: one nucleotide track per unit, with its share.

    The decomposition of :func:`mirnamap.units.explain_units`: each row is one unit's own
    map projected onto the nucleotides (normalised by its largest ``|score|``), labelled
    with the unit, its share ``w_j * a_j`` of ``logit - bias`` and that share in percent.

    Parameters
    ----------
    units : array_like
        ``int (k,)`` dense-unit indices, largest ``|share|`` first.
    shares : array_like
        ``float (k,)`` their shares of the logit.
    scores : array_like
        ``float (k, L)`` each unit's per-nucleotide scores (NaN = no pixel).
    sequence, structure : str
        The record (length L).
    logit, bias : float, optional
        The target logit and its bias, for the percentages and the title. Default is None:
        percentages of the shown units' sum.
    record_id, method, probability : optional
        For the title.
    abs_total : float, optional
        ``sum_j |share_j|`` over every unit: percentages are of it (they do not blow up
        when positive and negative shares cancel). Default is None: of ``logit - bias``.

    Returns
    -------
    matplotlib.figure.Figure
        As :func:`~mirnamap.plot.plot_sequence_track`, one row per unit.
    """
    units = np.asarray(units).ravel()
    shares = np.asarray(shares, dtype=np.float64).ravel()
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or not (len(units) == len(shares) == scores.shape[0]):
        raise ValueError(
            f"units {units.shape}, shares {shares.shape} and scores {scores.shape} must give "
            "one share and one (L,) track per unit"
        )
    if abs_total is not None:
        total = float(abs_total)
    elif logit is not None and bias is not None:
        total = float(logit - bias)
    else:
        total = float(shares.sum())
    rows = {}
    for unit, share, track in zip(units, shares, scores, strict=True):
        percent = (
            f" ({100 * share / total:+.0f} %{' of |all|' if abs_total else ''})" if total else ""
        )
        rows[f"unit {int(unit)}: {share:+.3f}{percent}"] = track
    fig = plot_sequence_track(rows, sequence, structure, record_id=record_id)
    parts = [title(record_id, probability, method)]
    if logit is not None and bias is not None:
        rest = float(logit - bias) - shares.sum()
        parts.append(
            f"logit {logit:+.3f} = bias {bias:+.3f} + shown units {shares.sum():+.3f} "
            f"+ other units {rest:+.3f}"
        )
    fig.suptitle("\n".join(p for p in parts if p), fontsize=9)
    return fig


def plot_unit_regions(
    units: npt.ArrayLike,
    shares: npt.ArrayLike,
    columns: Sequence[str],
    *,
    counts: npt.ArrayLike | None = None,
    heading: str | None = None,
    max_units: int = 30,
) -> Figure:
    """A heatmap: which dense units' maps fall on which region of the hairpin.

    Parameters
    ----------
    units : array_like
        ``int (M,)`` unit indices (rows), e.g. :attr:`mirnamap.units.UnitRegions.units`.
    shares : array_like
        ``float (M, R)``: the mean share of each unit's ``|map|`` per column.
    columns : sequence of str
        R column labels (regions, background, gap).
    counts : array_like, optional
        ``int (M,)`` hairpins per unit, shown in the row labels. Default is None.
    heading : str, optional
        Figure title. Default is none.
    max_units : int, optional
        Rows shown (the first ones). Default is 30.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    units = np.asarray(units).ravel()[:max_units]
    shares = np.asarray(shares, dtype=np.float64)[:max_units]
    if shares.shape != (len(units), len(columns)):
        raise ValueError(
            f"shares {shares.shape} must be (units, columns) = ({len(units)}, {len(columns)})"
        )
    labels = [f"unit {int(u)}" for u in units]
    if counts is not None:
        counts = np.asarray(counts).ravel()[:max_units]
        labels = [f"{lab} (n={int(c)})" for lab, c in zip(labels, counts, strict=True)]
    fig = Figure(figsize=(1.2 + 0.9 * len(columns), 1.2 + 0.28 * len(units)), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(
        np.ma.masked_invalid(shares), cmap=colour_map("Reds"), vmin=0, vmax=1, aspect="auto"
    )
    ax.set_xticks(range(len(columns)), list(columns), rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(units)), labels, fontsize=7)
    for (r, c), value in np.ndenumerate(shares):
        if np.isfinite(value):
            ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="mean share of the unit's |map|", shrink=0.8)
    if heading:
        ax.set_title(heading, fontsize=9)
    return fig
