"""Pictures of saliency: on the hairpin image, along the sequence, on the fold, per data set.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no global
state, safe in threads and with the Agg backend); :func:`save_figure` writes it as PNG
and/or SVG and closes it. Signed scores are drawn with a diverging colour map on symmetric
limits ``[-m, m]`` (blue negative, white 0, red positive) and a colour bar; a nucleotide
with no score (cut off the canvas) is grey, never white. Titles carry the record id, the
method and the predicted probability when given.

Functions
---------
plot_hairpin
    The 25 x 100 hairpin image, its saliency map, and the map over the image.
plot_sequence_track
    One row per backend, one cell per nucleotide; sequence and dot-bracket underneath.
plot_structure
    The secondary structure (ViennaRNA layout) with each nucleotide coloured by its score.
plot_backends
    One hairpin explained by several backends, one panel each.
plot_average_maps
    Average maps of groups of hairpins (e.g. true positives vs true negatives).
plot_region_bars
    Per-region bars (mean and standard error) for groups, one panel per backend.
plot_motif_logo, save_motif_logos
    Sequence logos of motifs found across hairpins (:mod:`mirnamap.motifs`).
plot_units, plot_unit_regions
    A logit as a few dense units' tracks; which units fall on which region
    (:mod:`mirnamap.units`).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.files import atomic_write
from mirnamap.geometry import IMAGE_SHAPE, MAP_SHAPE
from mirnamap.structure import pair_table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "LAYOUTS",
    "MIN_AGREEMENT",
    "NO_SCORE",
    "label_position",
    "plot_average_maps",
    "plot_backends",
    "plot_hairpin",
    "plot_motif_logo",
    "plot_region_bars",
    "plot_sequence_track",
    "plot_structure",
    "plot_unit_regions",
    "plot_units",
    "save_figure",
    "save_motif_logos",
    "shorten",
    "structure_coordinates",
    "title",
    "unstable",
]

#: Colour of a nucleotide without a score (no pixel on the canvas).
NO_SCORE = "#9e9e9e"
#: The layouts of :func:`structure_coordinates`; the first is the default.
LAYOUTS = ("auto", "puzzler", "turtle", "simple", "naview")
#: A nucleotide's reading (the sign of the members' mean score) is marked unstable where
#: fewer than this share of the ensemble's members give it that sign: with 1.0, unless
#: every member agrees. Measured in ``experiments/results/uncertainty_rule.md``.
MIN_AGREEMENT = 1.0
#: The circle radius of a structure drawing, in backbone steps (median distance between
#: consecutive nucleotides); two circles overlap where centres are closer than twice it.
CIRCLE_RADIUS = 0.48
#: The legend of the uncertainty marks.
UNSTABLE_NOTE = "dot: unstable reading, not every member gives the score the sign of their mean"
_STRAND_TICKS = ([6, 18], ["top\n(5' arm)", "bottom\n(3' arm)"])


def title(
    record_id: str | None = None, probability: float | None = None, method: str | None = None
) -> str:
    """The heading of a picture: ``id - method - P(pre-miRNA) = p``."""
    parts = [str(record_id)] if record_id is not None else []
    if method:
        parts.append(method)
    if probability is not None and not math.isnan(float(probability)):
        parts.append(f"P(pre-miRNA) = {float(probability):.3f}")
    return "  \u00b7  ".join(parts)


def shorten(text: str, n_chars: int) -> str:
    """``text`` in at most ``n_chars`` characters, its middle replaced by an ellipsis.

    >>> shorten("hsa-mir-21_chr17_59841266_59841337", 15)
    'hsa-mir\u20269841337'
    """
    if n_chars < 1:
        raise ValueError(f"n_chars must be at least 1, got {n_chars}")
    if len(text) <= n_chars:
        return text
    head = n_chars // 2
    tail = n_chars - 1 - head
    return text[:head] + "\u2026" + (text[len(text) - tail :] if tail else "")


def _text_width(text: str, fontsize: float) -> float:
    """The width of one line of text in points (the default font, no mathtext)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False
    )
    return float(width)


def _fitted(fig: Figure, fontsize: float, record_id: str | None, build) -> str:
    """``build(record_id)`` (one line), the id shortened (:func:`shorten`) until the line
    fits the figure's width."""
    room = 0.94 * fig.get_figwidth() * 72

    def fits(text: str) -> bool:
        return _text_width(text, fontsize) <= room

    if record_id is None or fits(build(record_id)):
        return build(record_id)
    low, high = 1, len(record_id) - 1  # the most characters of the id that still fit
    while low < high:
        middle = (low + high + 1) // 2
        if fits(build(shorten(record_id, middle))):
            low = middle
        else:
            high = middle - 1
    return build(shorten(record_id, low))


def _wrapped(fig: Figure, fontsize: float, text: str) -> str:
    """``text`` broken into lines that fit the figure's width."""
    import textwrap

    room = 0.94 * fig.get_figwidth() * 72
    width = len(text)
    while width > 20 and _text_width(max(textwrap.wrap(text, width), key=len), fontsize) > room:
        width -= 5
    return textwrap.fill(text, width)


def _cmap(name: str):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=NO_SCORE)


def _colorbar(fig: Figure, ax: Axes | Sequence[Axes], limit: float, cmap: str, label: str):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(Normalize(-limit, limit), _cmap(cmap))
    bar = fig.colorbar(mappable, ax=ax, fraction=0.03, pad=0.015, aspect=12)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar


def _check_map(saliency: np.ndarray, what: str = "saliency") -> np.ndarray:
    saliency = np.asarray(saliency, dtype=np.float64)
    if saliency.shape != MAP_SHAPE:
        raise ValueError(f"{what} must have shape {MAP_SHAPE}, got {saliency.shape}")
    return saliency


def _check_image(image: npt.ArrayLike | None) -> np.ndarray | None:
    if image is None:
        return None
    image = np.asarray(image)
    if image.shape != IMAGE_SHAPE:
        raise ValueError(f"image must have shape {IMAGE_SHAPE}, got {image.shape}")
    return image


def _base_legend(ax: Axes) -> None:
    """A legend of the image's colours (:data:`mirnamap.encode.COLORS`, black = gap)
    above the right end of ``ax``."""
    from matplotlib.patches import Patch

    from mirnamap.encode import COLORS

    handles = [
        Patch(facecolor=np.array(rgb) / 255.0, edgecolor="0.4", linewidth=0.5, label=base)
        for base, rgb in COLORS.items()
    ]
    handles.append(Patch(facecolor="black", edgecolor="0.4", linewidth=0.5, label="gap"))
    ax.legend(
        handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(handles),
        frameon=False, fontsize=7, handlelength=1.0, handleheight=0.9, columnspacing=0.9,
        handletextpad=0.35, borderaxespad=0.15, borderpad=0.1,
    )  # fmt: skip


def _image_axes(ax: Axes, label: str) -> None:
    ax.set_yticks(*_STRAND_TICKS, fontsize=7)
    ax.set_xticks(range(0, 100, 10))
    ax.tick_params(labelsize=7)
    ax.set_title(label, fontsize=8, loc="left")


def _overlay(image: np.ndarray, saliency: np.ndarray, limit: float, cmap: str) -> np.ndarray:
    """RGB float image: the hairpin faded, the map's colour laid over it by |value|."""
    faded = 0.45 * image.astype(np.float64) / 255.0 + 0.55
    level = np.clip(saliency / limit, -1.0, 1.0)
    colour = _cmap(cmap)(0.5 + 0.5 * level)[..., :3]
    alpha = np.abs(level)[..., None] ** 0.7
    return (1 - alpha) * faded + alpha * colour


def plot_hairpin(
    image: npt.ArrayLike,
    saliency: npt.ArrayLike,
    *,
    record_id: str | None = None,
    probability: float | None = None,
    method: str | None = None,
    limit: float | None = None,
    cmap: str = DIVERGING,
) -> Figure:
    """The hairpin image, its saliency map and the map over the image.

    Parameters
    ----------
    image : array_like
        ``uint8 (25, 100, 3)`` hairpin image.
    saliency : array_like
        ``float (25, 100)`` pixel map (signed).
    record_id, probability, method : optional
        For the title. Default is none of them.
    limit : float, optional
        Colour range ``[-limit, limit]``. Default is the map's largest ``|value|``.
    cmap : str, optional
        Diverging colour map. Default is :data:`mirnamap.colours.DIVERGING`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels (image, map, overlay), a legend of the base colours over the image
        and a colour bar; a long id is shortened with an ellipsis to fit the title.
    """
    from matplotlib.figure import Figure

    image = _check_image(image)
    saliency = _check_map(saliency)
    limit = symmetric_limit(saliency) if limit is None else float(limit)
    fig = Figure(figsize=(10, 7.2), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    axes[0].imshow(image, interpolation="nearest", aspect="equal")
    _image_axes(axes[0], "hairpin")
    _base_legend(axes[0])
    axes[1].imshow(saliency, cmap=_cmap(cmap), vmin=-limit, vmax=limit, interpolation="nearest")
    _image_axes(axes[1], "saliency")
    axes[2].imshow(_overlay(image, saliency, limit, cmap), interpolation="nearest")
    _image_axes(axes[2], "overlay")
    axes[2].set_xlabel("image column (0 = next to the terminal loop)", fontsize=8)
    _colorbar(fig, list(axes), limit, cmap, "saliency (signed)")
    fig.suptitle(_fitted(fig, 10, record_id, lambda r: title(r, probability, method)), fontsize=10)
    return fig


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
        cmap=_cmap(cmap),
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
    _colorbar(fig, ax, limit, cmap, label)
    missing = int(np.isnan(matrix.filled(np.nan)[0]).sum())
    notes = [f"grey: {missing} nt with no pixel on the canvas"] if missing else []
    if agreement is not None:
        unmarked = [name for name, on in zip(scores, marked, strict=True) if not on]
        cells = int((~np.ma.getmaskarray(matrix))[marked].sum())
        notes.append(f"{UNSTABLE_NOTE} ({int(uncertain.sum())} of {cells} cells)")
        if unmarked:
            notes.append(f"no marks for {', '.join(unmarked)} (no members' signs)")
    heading = _fitted(fig, 10, record_id, lambda r: title(r, probability))
    text = "\n".join([*([heading] if heading else []), *(_wrapped(fig, 9, n) for n in notes)])
    fig.suptitle(text, fontsize=9)
    fig.set_figheight(fig.get_figheight() + 0.16 * text.count("\n"))  # room for the notes
    fig.uncertain = uncertain
    return fig


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
        cmap=_cmap(cmap),
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
    _colorbar(fig, ax, limit, cmap, "score (signed); grey: no pixel")
    heading = [_fitted(fig, 9, record_id, title)] if record_id is not None else []
    fig.suptitle("\n".join([*heading, title(None, probability, method)]), fontsize=9)
    return fig


def plot_backends(
    image: npt.ArrayLike,
    maps: Mapping[str, npt.ArrayLike],
    *,
    record_id: str | None = None,
    probability: float | None = None,
    cmap: str = DIVERGING,
) -> Figure:
    """One hairpin explained by several backends: the image, then one map per backend.

    Each backend's map gets its own symmetric colour range (their scales differ) and its
    own colour bar.

    Parameters
    ----------
    image : array_like
        ``uint8 (25, 100, 3)``.
    maps : mapping of str to array_like
        Per backend name, a ``float (25, 100)`` map.
    record_id, probability : optional
        For the title.
    cmap : str, optional
        Diverging colour map. Default is :data:`mirnamap.colours.DIVERGING`.

    Returns
    -------
    matplotlib.figure.Figure
        ``1 + len(maps)`` panels.
    """
    from matplotlib.figure import Figure

    image = _check_image(image)
    if not maps:
        raise ValueError("no maps to draw")
    fig = Figure(figsize=(8.4, 1.0 + 1.75 * (len(maps) + 1)), layout="constrained")
    # A colour-bar column on every row (hidden for the image) keeps the panels aligned.
    grid = fig.subplots(len(maps) + 1, 2, squeeze=False, gridspec_kw={"width_ratios": [1, 0.015]})
    axes, bars = grid[:, 0], grid[:, 1]
    axes[0].imshow(image, interpolation="nearest")
    _image_axes(axes[0], "hairpin")
    _base_legend(axes[0])
    bars[0].axis("off")
    for ax, bar, (name, saliency) in zip(axes[1:], bars[1:], maps.items(), strict=True):
        saliency = _check_map(saliency, f"map {name!r}")
        limit = symmetric_limit(saliency)
        shown = ax.imshow(
            saliency, cmap=_cmap(cmap), vmin=-limit, vmax=limit, interpolation="nearest"
        )
        _image_axes(ax, name)
        fig.colorbar(shown, cax=bar).ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("image column (0 = next to the terminal loop)", fontsize=8)
    fig.suptitle(_fitted(fig, 10, record_id, lambda r: title(r, probability)), fontsize=10)
    return fig


def plot_average_maps(
    maps: npt.ArrayLike,
    groups: Mapping[str, npt.ArrayLike],
    *,
    images: npt.ArrayLike | None = None,
    method: str | None = None,
    cmap: str = DIVERGING,
) -> Figure:
    """Average saliency maps of groups of hairpins, on one shared colour range.

    Parameters
    ----------
    maps : array_like
        ``float (N, 25, 100)``.
    groups : mapping of str to array_like
        Group name (e.g. "true positives") to a ``bool (N,)`` mask.
    images : array_like, optional
        ``uint8 (N, 25, 100, 3)``: also draw each group's average image. Default is None.
    method : str, optional
        For the title.
    cmap : str, optional
        Diverging colour map. Default is :data:`mirnamap.colours.DIVERGING`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or maps.shape[1:] != MAP_SHAPE:
        raise ValueError(
            f"maps must have shape (N, {', '.join(map(str, MAP_SHAPE))}), got {maps.shape}"
        )
    if images is not None:
        images = np.asarray(images)
        if images.shape != (*maps.shape, 3):
            raise ValueError(f"images must have shape {(*maps.shape, 3)}, got {images.shape}")
    means = {}
    for name, mask in groups.items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (maps.shape[0],):
            raise ValueError(
                f"group {name!r}: mask has shape {mask.shape}, expected ({maps.shape[0]},)"
            )
        means[name] = (int(mask.sum()), maps[mask].mean(axis=0) if mask.any() else None)
    if not means:
        raise ValueError("no groups to draw")
    limit = symmetric_limit(np.array([m for _, m in means.values() if m is not None] or [0.0]))
    columns = 2 if images is not None else 1
    fig = Figure(figsize=(10 if columns == 1 else 15, 0.8 + 1.9 * len(means)), layout="constrained")
    axes = fig.subplots(len(means), columns, squeeze=False)
    for row, (name, (count, mean)) in enumerate(means.items()):
        ax = axes[row, -1]
        if mean is None:
            ax.text(
                0.5, 0.5, f"{name}: no hairpins", ha="center", va="center", transform=ax.transAxes
            )
            ax.axis("off")
        else:
            ax.imshow(mean, cmap=_cmap(cmap), vmin=-limit, vmax=limit, interpolation="nearest")
            _image_axes(ax, f"{name}\n(n = {count})")
        if images is not None:
            mask = np.asarray(groups[name], dtype=bool)
            if mask.any():
                axes[row, 0].imshow(
                    images[mask].mean(axis=0).astype(np.uint8), interpolation="nearest"
                )
                _image_axes(axes[row, 0], f"{name}\nmean image")
            else:
                axes[row, 0].axis("off")
    _colorbar(fig, list(axes[:, -1]), limit, cmap, "mean saliency")
    fig.suptitle(title(None, None, method) or "average saliency", fontsize=10)
    return fig


def plot_region_bars(
    values: Mapping[str, Mapping[str, npt.ArrayLike]],
    region_names: Sequence[str],
    *,
    ylabel: str = "share of |saliency|",
    heading: str | None = None,
) -> Figure:
    """Per-region bars: mean and standard error per group, one panel per backend.

    Parameters
    ----------
    values : mapping of str to mapping of str to array_like
        Backend name -> group name -> ``float (n, R)`` per-hairpin values for the R
        regions (NaN ignored).
    region_names : sequence of str
        R region labels.
    ylabel : str, optional
        Default is "share of |saliency|".
    heading : str, optional
        Figure title. Default is none.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per backend with ``R x groups`` bars.
    """
    from matplotlib.figure import Figure

    if not values:
        raise ValueError("no values to draw")
    r = len(region_names)
    panels = len(values)
    columns = min(panels, 3)
    rows = math.ceil(panels / columns)
    fig = Figure(figsize=(4.6 * columns, 3.3 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False, sharey=False).ravel()
    colours = ["#b2182b", "#2166ac", "#4d9221", "#8073ac", "#e08214"]
    for ax, (backend, groups) in zip(axes, values.items(), strict=False):
        width = 0.8 / max(len(groups), 1)
        for g, (group, table) in enumerate(groups.items()):
            table = np.asarray(table, dtype=np.float64).reshape(-1, r)
            count = (~np.isnan(table)).sum(axis=0)
            mean = np.nanmean(table, axis=0) if table.size else np.full(r, np.nan)
            spread = np.nanstd(table, axis=0, ddof=1) if table.shape[0] > 1 else np.zeros(r)
            error = spread / np.sqrt(np.maximum(count, 1))
            ax.bar(
                np.arange(r) + (g - (len(groups) - 1) / 2) * width,
                mean,
                width,
                yerr=error,
                label=f"{group} (n = {table.shape[0]})",
                color=colours[g % len(colours)],
                capsize=2,
            )
        ax.set_xticks(range(r), list(region_names), rotation=30, ha="right", fontsize=8)
        ax.axhline(0, color="0.3", linewidth=0.6)
        ax.set_title(backend, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    for ax in axes[panels:]:
        ax.axis("off")
    if heading:
        fig.suptitle(heading, fontsize=10)
    return fig


def save_figure(
    fig: Figure,
    path: str | os.PathLike[str],
    *,
    formats: Sequence[str] | None = None,
    dpi: int = 110,
) -> list[Path]:
    """Write a figure and release it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or PathLike
        File name; its suffix is the format unless ``formats`` is given, in which case
        one file per format is written next to it (``x.png``, ``x.svg``).
    formats : sequence of str, optional
        E.g. ``("png", "svg")``. Default is the suffix of ``path``.
    dpi : int, optional
        Resolution of raster formats. Default is 110.

    Returns
    -------
    list of Path
        The files written (folders are created).
    """
    path = Path(path)
    if formats is None:
        if not path.suffix:
            raise ValueError(f"{path}: no suffix; give formats=('png', 'svg')")
        targets = [path]
    else:
        targets = [path.with_suffix(f".{f.lstrip('.')}") for f in formats]
    try:
        for target in targets:  # atomically: no half-written picture under its name
            with atomic_write(target, "wb") as handle:
                fig.savefig(handle, dpi=dpi, format=target.suffix.lstrip(".") or None)
    finally:
        fig.clear()
    return targets


def plot_motif_logo(
    counts: npt.ArrayLike,
    *,
    name: str = "motif",
    subtitle: str = "",
    ax: Axes | None = None,
) -> Figure:
    """A sequence logo (letter heights in bits) of a ``(W, 4)`` count matrix, with logomaker.

    Parameters
    ----------
    counts : array_like
        ``float (W, 4)``: bases A, C, G, U per column (e.g. ``Motif.counts`` of
        :func:`mirnamap.motifs.find_motifs`).
    name : str, optional
        The title. Default is "motif".
    subtitle : str, optional
        A second title line (support, region). Default is "".
    ax : matplotlib.axes.Axes, optional
        Draw here. Default is a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Ref. Tareen & Kinney 2020, Bioinformatics 36:2272 (logomaker).
    """
    import logomaker
    import pandas as pd
    from matplotlib.figure import Figure

    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[1] != 4 or len(counts) == 0:
        raise ValueError(f"counts must have shape (W, 4) with W >= 1, got {counts.shape}")
    if ax is None:
        fig = Figure(figsize=(0.55 * len(counts) + 1.2, 2.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    frame = pd.DataFrame(counts, columns=list("ACGU"))
    bits = logomaker.transform_matrix(frame, from_type="counts", to_type="information")
    logomaker.Logo(bits, ax=ax, color_scheme="classic")
    ax.set_ylim(0, 2)
    ax.set_ylabel("bits")
    ax.set_xticks(range(len(counts)), [str(i + 1) for i in range(len(counts))])
    ax.set_title(name + (f"\n{subtitle}" if subtitle else ""), fontsize=9)
    return fig


def save_motif_logos(motifs: Sequence, folder: str | os.PathLike[str]) -> list[Path]:
    """One PNG logo per motif, ``folder/<name>.png``.

    Parameters
    ----------
    motifs : sequence of Motif
        E.g. ``find_motifs(...).motifs`` (anything with ``name``, ``consensus``,
        ``counts``, ``support``, ``n_hairpins`` and ``region``).
    folder : str or PathLike
        Created if missing.

    Returns
    -------
    list of Path
        The files written, in the order of ``motifs``.
    """
    folder = Path(folder)
    written = []
    for motif in motifs:
        fig = plot_motif_logo(
            motif.counts,
            name=f"{motif.name}: {motif.consensus}",
            subtitle=f"{motif.support} seqlets, {motif.n_hairpins} hairpins, {motif.region}",
        )
        written += save_figure(fig, folder / f"{motif.name}.png")
    return written


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
        As :func:`plot_sequence_track`, one row per unit.
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
        np.ma.masked_invalid(shares), cmap=_cmap("Reds"), vmin=0, vmax=1, aspect="auto"
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
