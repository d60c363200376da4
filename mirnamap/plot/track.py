"""The sequence track: one row per backend, one cell per nucleotide, and the marks of
unstable readings (:func:`unstable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.plot._common import colorbar, colour_map, fitted, text_width, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: A nucleotide's reading (the sign of the members' mean score) is marked unstable where
#: fewer than this share of the ensemble's members give it that sign: with 1.0, unless
#: every member agrees. Measured in ``experiments/results/uncertainty_rule.md``.
MIN_AGREEMENT = 1.0
#: The legend of the uncertainty marks.
UNSTABLE_NOTE = "dot: unstable reading, not every member gives the score the sign of their mean"


def _wrapped(fig: Figure, fontsize: float, text: str) -> str:
    """``text`` broken into lines that fit the figure's width."""
    import textwrap

    room = 0.94 * fig.get_figwidth() * 72
    width = len(text)
    while width > 20 and text_width(max(textwrap.wrap(text, width), key=len), fontsize) > room:
        width -= 5
    return textwrap.fill(text, width)


def _letters_size(n: int) -> float:
    return float(np.clip(9.0 - n / 40.0, 5.0, 9.0))


def plot_sequence_track(
    scores: Mapping[str, npt.ArrayLike],
    sequence: str,
    structure: str,
    *,
    record_id: str | None = None,
    probability: float | None = None,
    normalise: bool = True,
    cmap: str = DIVERGING,
    agreement: Mapping[str, npt.ArrayLike] | None = None,
) -> Figure:
    """One row per backend, one cell per nucleotide, the sequence and fold written under it.

    Parameters
    ----------
    scores : mapping of str to array_like
        Per backend name, ``float (L,)`` per-nucleotide scores (NaN = no pixel, grey).
    sequence, structure : str
        The record (length L).
    record_id, probability : optional
        For the title.
    normalise : bool, optional
        Divide each row by its largest ``|score|`` so that backends with different scales
        can be read side by side (the colour bar then runs from -1 to 1). Default is True.
    cmap : str, optional
        Diverging colour map. Default is :data:`mirnamap.colours.DIVERGING`.
    agreement : mapping of str to array_like, optional
        Per backend, ``float (L,)``: the share of the ensemble's members that give the
        nucleotide's score the sign of their mean
        (:func:`mirnamap.pipeline.maps.sign_agreement`). A cell whose reading is
        unstable (:func:`unstable`: not every member agrees) gets a black dot; the rule
        is stated under the title. Default is None: no marks.

    Returns
    -------
    matplotlib.figure.Figure
        Its first axes holds one image of shape ``(n_backends, L)``: one cell per
        nucleotide and backend; ``fig.uncertain`` is the ``bool (n_backends, L)`` matrix of
        dotted cells. A long id is shortened with an ellipsis to fit the title.
    """
    from matplotlib.figure import Figure

    n = len(sequence)
    if len(structure) != n:
        raise ValueError(f"sequence has {n} nt but structure has {len(structure)} characters")
    if not scores:
        raise ValueError("no scores to draw")
    rows = []
    for name, values in scores.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(f"backend {name!r}: scores have shape {values.shape}, expected ({n},)")
        rows.append(values / symmetric_limit(values) if normalise else values)
    matrix = np.ma.masked_invalid(np.array(rows))
    uncertain = np.zeros(matrix.shape, dtype=bool)
    marked = np.zeros(len(rows), dtype=bool)  # the rows with an agreement to mark
    for r, name in enumerate(scores):
        if agreement is not None and name in agreement:
            share = np.asarray(agreement[name], dtype=np.float64)
            if share.shape != (n,):
                raise ValueError(
                    f"backend {name!r}: agreement has shape {share.shape}, expected ({n},)"
                )
            marked[r] = not np.isnan(share).all()  # all NaN: the members shared samples
            uncertain[r] = unstable(share) & ~np.isnan(rows[r])
    limit = 1.0 if normalise else symmetric_limit(matrix.filled(np.nan))
    width = max(6.5, 0.115 * n + 2.5)
    fig = Figure(figsize=(width, 1.5 + 0.42 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(
        matrix,
        cmap=colour_map(cmap),
        vmin=-limit,
        vmax=limit,
        aspect="auto",
        interpolation="nearest",
        extent=(-0.5, n - 0.5, len(rows) - 0.5, -0.5),
    )
    ax.set_yticks(range(len(rows)), list(scores), fontsize=8)
    ax.set_xlim(-0.5, n - 0.5)
    ticks = [0, *range(9, n, 10)]
    ax.set_xticks(ticks, [str(t + 1) for t in ticks], fontsize=7)
    ax.xaxis.set_ticks_position("top")
    # Thin white lines between cells (a LineCollection: one artist, not 2 ticks per cell).
    from matplotlib.collections import LineCollection
    from matplotlib.transforms import ScaledTranslation

    edges = [[(x, -0.5), (x, len(rows) - 0.5)] for x in np.arange(1, n) - 0.5]
    edges += [[(-0.5, y), (n - 0.5, y)] for y in np.arange(1, len(rows)) - 0.5]
    ax.add_collection(LineCollection(edges, colors="white", linewidths=0.4))
    if uncertain.any():
        rows_at, columns_at = np.nonzero(uncertain)
        # Black with a white rim: visible on dark red and dark blue cells alike.
        ax.scatter(
            columns_at, rows_at, s=9, c="black", marker="o", edgecolors="white", linewidths=0.5
        )
    size = _letters_size(n)
    for text, below in ((sequence, 3.0), (structure, 3.0 + 1.5 * size)):
        # Offsets in points keep the two text rows together whatever the figure's height.
        transform = ax.get_xaxis_transform() + ScaledTranslation(
            0, -below / 72, fig.dpi_scale_trans
        )
        for i, letter in enumerate(text):
            ax.text(
                i,
                0.0,
                letter,
                transform=transform,
                ha="center",
                va="top",
                fontsize=size,
                family="monospace",
            )
    # Blank label lines reserve room under the axes for the two text rows (the layout
    # engine does not see text placed with offset transforms).
    ax.set_xlabel("\n" * 3, fontsize=size)
    label = "score / max |score| of its row" if normalise else "score"
    colorbar(fig, ax, limit, cmap, label)
    missing = int(np.isnan(matrix.filled(np.nan)[0]).sum())
    notes = [f"grey: {missing} nt with no pixel on the canvas"] if missing else []
    if agreement is not None:
        unmarked = [name for name, on in zip(scores, marked, strict=True) if not on]
        cells = int((~np.ma.getmaskarray(matrix))[marked].sum())
        notes.append(f"{UNSTABLE_NOTE} ({int(uncertain.sum())} of {cells} cells)")
        if unmarked:
            notes.append(f"no marks for {', '.join(unmarked)} (no members' signs)")
    heading = fitted(fig, 10, record_id, lambda r: title(r, probability))
    text = "\n".join([*([heading] if heading else []), *(_wrapped(fig, 9, n) for n in notes)])
    fig.suptitle(text, fontsize=9)
    fig.set_figheight(fig.get_figheight() + 0.16 * text.count("\n"))  # room for the notes
    fig.uncertain = uncertain
    return fig


def unstable(agreement: npt.ArrayLike) -> np.ndarray:
    """``bool``: the nucleotides whose reading is unstable, agreement below
    :data:`MIN_AGREEMENT` (:func:`mirnamap.pipeline.maps.sign_agreement`); NaN (no
    score) is not marked.

    >>> unstable([1.0, 0.8, float("nan")]).tolist()
    [False, True, False]
    """
    agreement = np.asarray(agreement, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return agreement < MIN_AGREEMENT - 1e-9
