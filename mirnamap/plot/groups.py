"""Pictures of groups of hairpins: average maps (:func:`plot_average_maps`) and
per-region bars (:func:`plot_region_bars`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.geometry import MAP_SHAPE
from mirnamap.plot._common import colorbar, colour_map, image_axes, title

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
            ax.imshow(mean, cmap=colour_map(cmap), vmin=-limit, vmax=limit, interpolation="nearest")
            image_axes(ax, f"{name}\n(n = {count})")
        if images is not None:
            mask = np.asarray(groups[name], dtype=bool)
            if mask.any():
                axes[row, 0].imshow(
                    images[mask].mean(axis=0).astype(np.uint8), interpolation="nearest"
                )
                image_axes(axes[row, 0], f"{name}\nmean image")
            else:
                axes[row, 0].axis("off")
    colorbar(fig, list(axes[:, -1]), limit, cmap, "mean saliency")
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
