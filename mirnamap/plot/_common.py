"""What the pictures share: titles that fit, the colour map and its bar, the image
axes, and writing a figure (:func:`save_figure`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mirnamap.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Colour of a nucleotide without a score (no pixel on the canvas).
NO_SCORE = "#9e9e9e"
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


def text_width(text: str, fontsize: float) -> float:
    """The width of one line of text in points (the default font, no mathtext)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=fontsize), ismath=False
    )
    return float(width)


def fitted(fig: Figure, fontsize: float, record_id: str | None, build) -> str:
    """``build(record_id)`` (one line), the id shortened (:func:`shorten`) until the line
    fits the figure's width."""
    room = 0.94 * fig.get_figwidth() * 72

    def fits(text: str) -> bool:
        return text_width(text, fontsize) <= room

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


def colour_map(name: str):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad=NO_SCORE)


def colorbar(fig: Figure, ax: Axes | Sequence[Axes], limit: float, cmap: str, label: str):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(Normalize(-limit, limit), colour_map(cmap))
    bar = fig.colorbar(mappable, ax=ax, fraction=0.03, pad=0.015, aspect=12)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar


def image_axes(ax: Axes, label: str) -> None:
    ax.set_yticks(*_STRAND_TICKS, fontsize=7)
    ax.set_xticks(range(0, 100, 10))
    ax.tick_params(labelsize=7)
    ax.set_title(label, fontsize=8, loc="left")


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
