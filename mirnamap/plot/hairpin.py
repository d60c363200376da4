"""One hairpin's image and maps: :func:`plot_hairpin` (image, map, overlay) and
:func:`plot_backends` (one map per backend).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.geometry import IMAGE_SHAPE, MAP_SHAPE
from mirnamap.plot._common import colorbar, colour_map, fitted, image_axes, title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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


def _overlay(image: np.ndarray, saliency: np.ndarray, limit: float, cmap: str) -> np.ndarray:
    """RGB float image: the hairpin faded, the map's colour laid over it by |value|."""
    faded = 0.45 * image.astype(np.float64) / 255.0 + 0.55
    level = np.clip(saliency / limit, -1.0, 1.0)
    colour = colour_map(cmap)(0.5 + 0.5 * level)[..., :3]
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
    image_axes(axes[0], "hairpin")
    _base_legend(axes[0])
    axes[1].imshow(
        saliency, cmap=colour_map(cmap), vmin=-limit, vmax=limit, interpolation="nearest"
    )
    image_axes(axes[1], "saliency")
    axes[2].imshow(_overlay(image, saliency, limit, cmap), interpolation="nearest")
    image_axes(axes[2], "overlay")
    axes[2].set_xlabel("image column (0 = next to the terminal loop)", fontsize=8)
    colorbar(fig, list(axes), limit, cmap, "saliency (signed)")
    fig.suptitle(fitted(fig, 10, record_id, lambda r: title(r, probability, method)), fontsize=10)
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
    image_axes(axes[0], "hairpin")
    _base_legend(axes[0])
    bars[0].axis("off")
    for ax, bar, (name, saliency) in zip(axes[1:], bars[1:], maps.items(), strict=True):
        saliency = _check_map(saliency, f"map {name!r}")
        limit = symmetric_limit(saliency)
        shown = ax.imshow(
            saliency, cmap=colour_map(cmap), vmin=-limit, vmax=limit, interpolation="nearest"
        )
        image_axes(ax, name)
        fig.colorbar(shown, cax=bar).ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("image column (0 = next to the terminal loop)", fontsize=8)
    fig.suptitle(fitted(fig, 10, record_id, lambda r: title(r, probability)), fontsize=10)
    return fig
