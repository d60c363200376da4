"""Sequence logos of motifs found across hairpins (:mod:`mirnamap.motifs`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.plot._common import save_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
