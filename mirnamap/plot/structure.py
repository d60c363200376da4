"""The secondary-structure drawing: ViennaRNA's layout (:func:`structure_coordinates`),
where the numbers go (:func:`label_position`) and the coloured fold (:func:`plot_structure`).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.plot._common import colorbar, colour_map, fitted, title
from mirnamap.structure import pair_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The layouts of :func:`structure_coordinates`; the first is the default.
LAYOUTS = ("auto", "puzzler", "turtle", "simple", "naview")
#: The circle radius of a structure drawing, in backbone steps (median distance between
#: consecutive nucleotides); two circles overlap where centres are closer than twice it.
CIRCLE_RADIUS = 0.48

# RNApuzzler and RNAturtle set ViennaRNA's global plot type: one thread at a time.
_LAYOUT_LOCK = threading.Lock()
_PLOT_TYPES = {"simple": 0, "naview": 1, "turtle": 3, "puzzler": 4}


def _vienna_coordinates(structure: str, layout: str) -> np.ndarray:
    import RNA

    if layout == "naview":
        points = RNA.naview_xy_coordinates(structure)
    elif layout == "simple":
        points = RNA.simple_xy_coordinates(structure)
    else:
        with _LAYOUT_LOCK:
            before = RNA.cvar.rna_plot_type
            RNA.cvar.rna_plot_type = _PLOT_TYPES[layout]
            try:
                found = RNA.get_xy_coordinates(structure)
            finally:
                RNA.cvar.rna_plot_type = before
        points = [found.get(i) for i in range(len(structure))]
    # naview and simple return one point more than the sequence length: drop the last.
    return np.array([(p.X, p.Y) for p in points][: len(structure)], dtype=np.float64)


def _short_hairpin_loop(partner: np.ndarray) -> bool:
    """Whether a hairpin loop has fewer than 3 unpaired nucleotides (RNApuzzler and
    RNAturtle crash or hang on them; RNAfold never makes them)."""
    for i, j in enumerate(partner):
        if j > i and not (partner[i + 1 : j] >= 0).any() and j - i - 1 < 3:
            return True
    return False


def _closest(xy: np.ndarray) -> float:
    """The smallest distance between two nucleotides, in backbone steps (inf for < 2)."""
    if len(xy) < 2:
        return math.inf
    step = np.median(np.linalg.norm(np.diff(xy, axis=0), axis=1))
    apart = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(apart, np.inf)
    return float(apart.min() / step) if step > 0 else 0.0


def _untangle(xy: np.ndarray, rounds: int = 200) -> np.ndarray:
    """Push apart the nucleotides closer than one backbone step (few, in the rare folds
    no ViennaRNA layout draws untangled), so that no two circles overlap."""
    xy = xy.copy()
    step = np.median(np.linalg.norm(np.diff(xy, axis=0), axis=1))
    for _ in range(rounds):
        apart = xy[:, None] - xy[None]
        distance = np.linalg.norm(apart, axis=-1)
        np.fill_diagonal(distance, np.inf)
        close = distance < 0.98 * step
        if not close.any():
            break
        safe = np.where(close & (distance > 0), distance, 1.0)
        push = np.where(close, (1.02 * step - np.where(close, distance, 0.0)) / (2 * safe), 0.0)
        xy += 0.5 * (push[..., None] * apart).sum(axis=1)
    return xy


def structure_coordinates(structure: str, layout: str = "auto") -> np.ndarray:
    """ViennaRNA's drawing coordinates of a dot-bracket structure.

    Parameters
    ----------
    structure : str
        Dot-bracket, length L.
    layout : {"auto", "puzzler", "turtle", "simple", "naview"}, optional
        ViennaRNA's layout algorithm: RNApuzzler and RNAturtle (Wiegreffe et al. 2019,
        Bioinformatics 35:1342) avoid overlaps, naview overlaps at most bulges and loops.
        "auto" takes RNApuzzler, or the simple layout where RNApuzzler draws two
        nucleotides less than a backbone step apart, and pushes apart the few
        nucleotides still that close (about 1 % of the human set's negatives; none of
        its pre-miRNAs), so that circles of :data:`CIRCLE_RADIUS` steps never overlap.
        naview falls back to simple where it gives non-finite points. Default is
        "auto".

    Returns
    -------
    np.ndarray
        ``float64 (L, 2)``: x, y per nucleotide.

    Raises
    ------
    ValueError
        For an unknown layout, or "puzzler" / "turtle" of a structure with a hairpin
        loop of fewer than 3 nucleotides.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}")
    if not structure:
        return np.zeros((0, 2), dtype=np.float64)
    partner = pair_table(structure)
    if layout in ("puzzler", "turtle") and _short_hairpin_loop(partner):
        raise ValueError(
            f"layout {layout!r} needs hairpin loops of 3 or more nucleotides; use 'auto'"
        )
    if layout != "auto":
        xy = _vienna_coordinates(structure, layout)
        if layout == "naview" and not np.isfinite(xy).all():
            return structure_coordinates(structure, "simple")
        return xy
    tries = ["simple"] if _short_hairpin_loop(partner) else ["puzzler", "simple"]
    found = []
    for name in tries:
        xy = _vienna_coordinates(structure, name)
        if not np.isfinite(xy).all():
            continue
        if _closest(xy) >= 2 * CIRCLE_RADIUS:
            return xy
        found.append(xy)
    return _untangle(max(found, key=_closest))


def label_position(xy: np.ndarray, partner: np.ndarray, i: int, radius: float) -> np.ndarray:
    """Where the number of nucleotide ``i`` goes: 2.6 radii from its centre, away from its
    partner (stems) or its neighbours' centre (loops), turned by the least angle that
    keeps it 2 radii clear of every circle centre (the report places its labels alike).

    Parameters
    ----------
    xy : np.ndarray
        ``float (L, 2)`` circle centres; ``partner`` the ``int (L,)`` pair table.
    i : int
        The nucleotide.
    radius : float
        The circles' radius.

    Returns
    -------
    np.ndarray
        ``float64 (2,)``: x, y of the label's centre.
    """
    if partner[i] >= 0:
        away = xy[i] - xy[partner[i]]
    else:
        away = xy[i] - xy[max(0, i - 3) : i + 4].mean(axis=0)
    start = math.atan2(away[1], away[0]) if np.linalg.norm(away) > 0 else 0.0
    best, best_room = None, -1.0
    for turn in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8):  # 22.5 degrees each
        angle = start + turn * math.pi / 8
        spot = xy[i] + 2.6 * radius * np.array([math.cos(angle), math.sin(angle)])
        room = float(np.linalg.norm(xy - spot, axis=1).min())
        if room >= 2.0 * radius:
            return spot
        if room > best_room:
            best, best_room = spot, room
    return best


def plot_structure(
    sequence: str,
    structure: str,
    scores: npt.ArrayLike,
    *,
    record_id: str | None = None,
    probability: float | None = None,
    method: str | None = None,
    layout: str = "auto",
    limit: float | None = None,
    cmap: str = DIVERGING,
) -> Figure:
    """The secondary structure drawn by ViennaRNA, each nucleotide coloured by its score.

    Parameters
    ----------
    sequence, structure : str
        The record (length L).
    scores : array_like
        ``float (L,)``; NaN (no pixel) is grey.
    record_id, probability, method : optional
        For the title.
    layout : {"auto", "puzzler", "turtle", "simple", "naview"}, optional
        ViennaRNA's layout algorithm (:func:`structure_coordinates`; "auto" draws no two
        circles overlapping). Default is "auto".
    limit : float, optional
        Colour range ``[-limit, limit]``. Default is the largest ``|score|``.
    cmap : str, optional
        Diverging colour map. Default is :data:`mirnamap.colours.DIVERGING`.

    Returns
    -------
    matplotlib.figure.Figure
        Its axes hold one PatchCollection with a circle per nucleotide.
    """
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    n = len(sequence)
    scores = np.asarray(scores, dtype=np.float64)
    if len(structure) != n or scores.shape != (n,):
        raise ValueError(
            f"sequence ({n}), structure ({len(structure)}) and scores {scores.shape} must "
            "have the same length"
        )
    # Check the brackets here, so that a malformed structure fails with a clear message
    # instead of whatever ViennaRNA's layout makes of it.
    partner = pair_table(structure)
    xy = structure_coordinates(structure, layout)
    limit = symmetric_limit(scores) if limit is None else float(limit)
    step = np.median(np.linalg.norm(np.diff(xy, axis=0), axis=1)) if n > 1 else 1.0
    radius = CIRCLE_RADIUS * step
    span = np.ptp(xy, axis=0) + 8 * radius
    scale = 7.0 / max(span)
    fig = Figure(
        figsize=(max(6.0, span[0] * scale + 1.6), max(4.0, span[1] * scale + 0.8)),
        layout="constrained",
    )
    ax = fig.add_subplot()
    ax.add_collection(LineCollection([xy], colors="0.55", linewidths=1.0, zorder=1))
    pairs = [(xy[i], xy[j]) for i, j in enumerate(partner) if j > i]
    if pairs:
        ax.add_collection(LineCollection(pairs, colors="0.3", linewidths=1.6, zorder=1))
    circles = PatchCollection(
        [Circle((x, y), radius) for x, y in xy],
        cmap=colour_map(cmap),
        zorder=2,
        edgecolors="0.25",
        linewidths=0.4,
    )
    circles.set_array(np.ma.masked_invalid(scores))
    circles.set_clim(-limit, limit)
    ax.add_collection(circles)
    # Letters fill about the circle: its radius in points is radius * scale * 72.
    size = float(np.clip(1.1 * radius * scale * 72, 2.5, 10))
    # White letters on dark circles, black on light ones.
    dark = np.nan_to_num(np.abs(scores) / limit) > 0.6
    for (x, y), letter, on_dark in zip(xy, sequence, dark, strict=True):
        ax.text(
            x,
            y,
            letter,
            ha="center",
            va="center",
            fontsize=size,
            zorder=3,
            color="white" if on_dark else "black",
        )
    # Number every 10th nucleotide, beside it where no circle is (label_position).
    for i in sorted({0, *range(9, n, 10), n - 1}):  # the last one is "3'", not also "80"
        label = "5'" if i == 0 else "3'" if i == n - 1 else str(i + 1)
        ax.text(
            *label_position(xy, partner, i, radius),
            label,
            ha="center",
            va="center",
            fontsize=size * 0.85,
            color="0.2",
            zorder=3,
        )
    low, high = xy.min(axis=0) - 4 * radius, xy.max(axis=0) + 4 * radius
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_anchor("E")  # next to the colour bar, however narrow the drawing
    ax.axis("off")
    colorbar(fig, ax, limit, cmap, "score (signed); grey: no pixel")
    heading = [fitted(fig, 9, record_id, title)] if record_id is not None else []
    fig.suptitle("\n".join([*heading, title(None, probability, method)]), fontsize=9)
    return fig
