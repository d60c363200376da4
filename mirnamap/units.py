"""The logit as a sum over dense units, and each unit's own map (issue 15).

The DeepMir logits layer is linear over the 256 ReLU units of the ``dense`` layer, so for
one hairpin the target logit minus its bias is exactly a sum of per-unit **shares**::

    logit_c - b_c = sum_j  W[j, c] * a_j        (a_j: unit j's activation)

With a sparse logits layer (the Gini bottleneck, ``train(gini=...)``; Henderson, Clevert &
Montanari 2021, arXiv:2105.04854) a few units carry most of that sum, and the logit can be
read as a combination of a few units. :func:`explain_units` returns the ``k`` units with
the largest ``|share|`` and each unit's own saliency map (any backend of
:mod:`mirnamap.saliency`, with the unit's activation as the target), projected onto the
nucleotides by :func:`mirnamap.project.project`. :func:`unit_regions` says, across a data
set, on which region of the hairpin each unit's map falls.

How a unit is explained: a ``keras.Model`` over the caller's layers whose output is the
dense layer's activations (:func:`unit_model`) is what the backends see; since it has no
layer named ``logits`` and ends in a ReLU, :func:`mirnamap.saliency.logits_model`
explains its outputs as they are, and ``target=j`` explains unit j. The caller's model is
never changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from mirnamap.errors import failures_frame
from mirnamap.files import atomic_write, check_output_dir
from mirnamap.model import LOGITS
from mirnamap.project import project, region_shares
from mirnamap.structure import REGIONS

if TYPE_CHECKING:
    import keras
    import pandas as pd

__all__ = [
    "DENSE",
    "REGION_COLUMNS",
    "UnitDecomposition",
    "UnitRegions",
    "explain_units",
    "unit_model",
    "unit_regions",
    "unit_shares",
]

#: Name of the hidden dense layer whose units the logit is a sum over (see build_model).
DENSE = "dense"
#: Columns of :attr:`UnitRegions.shares`: the regions, then background and gap bars.
REGION_COLUMNS = (*REGIONS, "background", "gap")


class UnitDecomposition(NamedTuple):
    """N hairpins' target logits decomposed over the dense units, with the top units' maps.

    Attributes
    ----------
    target : int
        The class whose logit is decomposed (1 = pre-miRNA).
    method : str
        The saliency backend of the unit maps.
    bias : float
        The logits layer's bias of ``target``.
    logits : np.ndarray
        ``float64 (N,)``: the target logit of each hairpin.
    shares : np.ndarray
        ``float64 (N, U)``: ``W[j, target] * a_j`` of every dense unit; each row sums to
        ``logits - bias``.
    units : np.ndarray
        ``int64 (N, k)``: the ``k`` units of largest ``|share|`` per hairpin, largest first.
    top_shares : np.ndarray
        ``float64 (N, k)``: their shares.
    maps : np.ndarray
        ``float32 (N, k, 25, 100)``: each top unit's map (its activation as the target).
    scores : tuple of np.ndarray or None
        With a layout: N ``float64 (k, L_i)`` arrays, the maps projected onto the
        nucleotides (NaN for a nucleotide with no pixel). None without one.
    """

    target: int
    method: str
    bias: float
    logits: np.ndarray
    shares: np.ndarray
    units: np.ndarray
    top_shares: np.ndarray
    maps: np.ndarray
    scores: tuple[np.ndarray, ...] | None

    def __len__(self) -> int:  # the number of hairpins
        return len(self.logits)

    @property
    def covered(self) -> np.ndarray:
        """``float64 (N,)``: the share of ``logit - bias`` the top ``k`` units carry."""
        total = self.shares.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total != 0, self.top_shares.sum(axis=1) / total, np.nan)

    def to_frame(self) -> pd.DataFrame:
        """One row per hairpin and top unit: hairpin (0-based), rank (1 = largest
        ``|share|``), unit, share, logit, covered (the hairpin's share carried by its top k)."""
        import pandas as pd

        n, k = self.units.shape
        return pd.DataFrame(
            {
                "hairpin": np.repeat(np.arange(n), k),
                "rank": np.tile(np.arange(1, k + 1), n),
                "unit": self.units.reshape(-1),
                "share": self.top_shares.reshape(-1),
                "logit": np.repeat(self.logits, k),
                "covered": np.repeat(self.covered, k),
            }
        )

    def failures_frame(self) -> pd.DataFrame:
        """No record fails here (arrays in, arrays out): an empty table of failures."""
        return failures_frame(())

    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``units.tsv`` (:meth:`to_frame`) and ``unit_maps.npz`` (``maps``,
        ``shares``, ``logits``, ``units``, ``target``, ``bias``) into ``folder``."""
        folder = check_output_dir(folder)
        with atomic_write(folder / "units.tsv") as handle:
            self.to_frame().to_csv(handle, sep="\t", index=False, float_format="%.6g")
        with atomic_write(folder / "unit_maps.npz", "wb") as handle:
            np.savez_compressed(
                handle, maps=self.maps, shares=self.shares, logits=self.logits,
                units=self.units, target=self.target, bias=self.bias,
            )  # fmt: skip
        return [folder / "units.tsv", folder / "unit_maps.npz"]


class UnitRegions(NamedTuple):
    """Across a data set: where on the hairpin each unit's map falls.

    Attributes
    ----------
    units : np.ndarray
        ``int64 (M,)``: the units that were among some hairpin's top ``k``, most often first.
    counts : np.ndarray
        ``int64 (M,)``: hairpins for which the unit was in the top ``k``.
    mean_share : np.ndarray
        ``float64 (M,)``: its mean share of the logit (signed) over those hairpins.
    shares : np.ndarray
        ``float64 (M, 7)``: the mean share of the unit's ``|map|`` on each column of
        :data:`REGION_COLUMNS` (the five regions, background, gap) over those hairpins;
        each row sums to 1 (NaN for a unit whose maps were all zero).
    """

    units: np.ndarray
    counts: np.ndarray
    mean_share: np.ndarray
    shares: np.ndarray


def unit_model(model: keras.Model, layer: str = DENSE) -> keras.Model:
    """A ``keras.Model`` over ``model``'s layers giving the activations of ``layer``.

    Parameters
    ----------
    model : keras.Model
        A DeepMir classifier; not changed.
    layer : str, optional
        The dense layer. Default is :data:`DENSE`.

    Returns
    -------
    keras.Model
        Input as ``model``'s, output ``float32 (N, U)``: the layer's activations.
    """
    import keras

    names = [lay.name for lay in model.layers]
    if layer not in names:
        raise ValueError(f"model {model.name!r} has no layer {layer!r} (its layers: {names})")
    # One input tensor, not a list: calling the model on an array then warns of nothing.
    inputs = model.inputs[0]
    return keras.Model(inputs, model.get_layer(layer).output, name=f"{model.name}_{layer}")


def _check_logits_layer(model: keras.Model, layer: str) -> tuple[np.ndarray, np.ndarray]:
    import keras

    logits = model.get_layer(LOGITS)
    if not isinstance(logits, keras.layers.Dense) or logits.get_config()["activation"] not in (
        "linear",
        None,
    ):
        raise ValueError(f"the {LOGITS!r} layer must be a linear Dense layer")
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in logits.get_weights())
    units = int(model.get_layer(layer).output.shape[-1])
    if kernel.shape[0] != units:
        raise ValueError(
            f"the {LOGITS!r} layer reads {kernel.shape[0]} inputs, not the {units} units of "
            f"{layer!r}: it must follow {layer!r} directly (dropout aside)"
        )
    return kernel, bias


def unit_shares(
    model: keras.Model,
    images: npt.ArrayLike,
    *,
    target: int = 1,
    layer: str = DENSE,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Each dense unit's share ``W[j, target] * a_j`` of the target logit.

    Parameters
    ----------
    model : keras.Model
        A DeepMir classifier whose ``logits`` layer reads ``layer`` (dropout aside).
    images : array_like
        ``uint8 (N, 25, 100, 3)``.
    target : int, optional
        The class. Default is 1 (pre-miRNA).
    layer : str, optional
        The dense layer. Default is :data:`DENSE`.
    batch_size : int, optional
        Images per forward pass. Default is 256.

    Returns
    -------
    shares : np.ndarray
        ``float64 (N, U)``.
    logits : np.ndarray
        ``float64 (N,)``: the target logit (each row of ``shares`` sums to ``logits - bias``).
    bias : float
    """
    from mirnamap.model import check_images, check_model

    check_model(model)
    images = check_images(images)
    kernel, bias = _check_logits_layer(model, layer)
    if isinstance(target, bool) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be a class index, got {target!r}")
    if not 0 <= int(target) < kernel.shape[1]:
        raise ValueError(f"target {target} is not a class index in [0, {kernel.shape[1]})")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    net = unit_model(model, layer)
    activations = np.zeros((len(images), kernel.shape[0]))
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].astype(np.float32)
        activations[start : start + len(batch)] = np.asarray(net(batch, training=False))
    shares = activations * kernel[:, int(target)][None, :]
    # The logit from the same activations, in float64: the decomposition is exact.
    logits = activations @ kernel[:, int(target)] + bias[int(target)]
    return shares, logits, float(bias[int(target)])


def explain_units(
    model: keras.Model,
    images: npt.ArrayLike,
    layout: npt.ArrayLike | None = None,
    lengths: npt.ArrayLike | None = None,
    *,
    k: int = 5,
    target: int = 1,
    method: str = "gradient",
    layer: str = DENSE,
    batch_size: int = 64,
    seed: int = 0,
    **params: Any,
) -> UnitDecomposition:
    """Decompose each hairpin's logit over the dense units and explain the top ``k``.

    Parameters
    ----------
    model : keras.Model
        A DeepMir classifier (best with a sparse logits layer, ``train(gini=...)``); not
        changed.
    images : array_like
        ``uint8 (N, 25, 100, 3)`` hairpin images.
    layout : array_like, optional
        ``int (N, 25, 100)``: the encoder's layout, to project the unit maps onto the
        nucleotides (with ``lengths``). Default is None: maps only.
    lengths : array_like, optional
        ``int (N,)`` sequence lengths (with ``layout``).
    k : int, optional
        Units per hairpin, 1..U. Default is 5.
    target : int, optional
        The class whose logit is decomposed. Default is 1 (pre-miRNA).
    method : str, optional
        The saliency backend of the unit maps (:func:`mirnamap.saliency.list_backends`).
        Default is "gradient".
    layer : str, optional
        The dense layer. Default is :data:`DENSE`.
    batch_size, seed : int, optional
        Of the backend. Default is 64 and 0.
    **params
        Options of the backend (e.g. ``n_samples``).

    Returns
    -------
    UnitDecomposition

    Raises
    ------
    ValueError
        For a ``k`` outside 1..U, a layout without lengths (or the other way round), or
        shapes that disagree.
    """
    from mirnamap.saliency import explain

    shares, logits, bias = unit_shares(model, images, target=target, layer=layer)
    n, n_units = shares.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be an int, got {k!r}")
    if not 1 <= k <= n_units:
        raise ValueError(f"k must be in 1..{n_units} (the units of {layer!r}), got {k}")
    if (layout is None) != (lengths is None):
        raise ValueError("give both layout and lengths to project the unit maps, or neither")
    images = np.asarray(images)
    if layout is not None:  # checked before the maps are computed, not after
        layout = np.asarray(layout)
        lengths = np.asarray(lengths)
        if layout.shape != (n, *images.shape[1:3]) or lengths.shape != (n,):
            raise ValueError(
                f"layout {layout.shape} and lengths {lengths.shape} do not fit {n} images"
            )
    # Largest |share| first; a stable sort keeps ties in unit order (reproducible).
    units = np.argsort(-np.abs(shares), axis=1, kind="stable")[:, :k].astype(np.int64)
    top = np.take_along_axis(shares, units, axis=1)
    maps = explain(
        unit_model(model, layer),
        np.repeat(images, k, axis=0),
        method,
        target=units.ravel(),
        batch_size=batch_size,
        seed=seed,
        progress=False,
        **params,
    ).reshape(n, k, *images.shape[1:3])
    scores = None
    if layout is not None:
        flat = project(
            maps.reshape(n * k, *maps.shape[2:]), np.repeat(layout, k, 0), np.repeat(lengths, k)
        )
        scores = tuple(np.stack(flat.scores[i * k : (i + 1) * k]) for i in range(n))
    return UnitDecomposition(int(target), method, bias, logits, shares, units, top, maps, scores)


def unit_regions(
    decomposition: UnitDecomposition,
    layout: npt.ArrayLike,
    lengths: npt.ArrayLike,
    structures: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
) -> UnitRegions:
    """Which units fire for which region of the hairpin, across a data set.

    For every hairpin and each of its top units, the share of the unit's ``|map|`` on each
    region (:func:`mirnamap.project.region_shares`); averaged per unit over the hairpins
    where it is in the top ``k``.

    Parameters
    ----------
    decomposition : UnitDecomposition
        From :func:`explain_units` over N hairpins.
    layout : array_like
        ``int (N, 25, 100)``.
    lengths : array_like
        ``int (N,)``.
    structures : sequence of str
        N dot-bracket structures.
    ids : sequence of str, optional
        N record names for error messages.

    Returns
    -------
    UnitRegions
    """
    n, k = decomposition.units.shape
    layout = np.asarray(layout)
    lengths = np.asarray(lengths)
    if len(structures) != n or len(lengths) != n or len(layout) != n:
        raise ValueError(
            f"{n} decomposed hairpins but {len(layout)} layouts, {len(lengths)} lengths and "
            f"{len(structures)} structures"
        )
    flat = project(
        np.abs(decomposition.maps.reshape(n * k, *decomposition.maps.shape[2:])),
        np.repeat(layout, k, 0),
        np.repeat(lengths, k),
    )
    repeated_ids = None if ids is None else [i for i in ids for _ in range(k)]
    per = region_shares(flat, [s for s in structures for _ in range(k)], ids=repeated_ids)
    unit_of = decomposition.units.ravel()
    found, counts = np.unique(unit_of, return_counts=True)
    order = np.lexsort((found, -counts))
    found, counts = found[order], counts[order]
    shares = np.full((len(found), len(REGION_COLUMNS)), np.nan)
    mean_share = np.zeros(len(found))
    top = decomposition.top_shares.ravel()
    for row, unit in enumerate(found):
        members = unit_of == unit
        mean_share[row] = top[members].mean()
        valid = members & np.isfinite(per).all(axis=1)
        if valid.any():
            shares[row] = per[valid].mean(axis=0)
    return UnitRegions(found.astype(np.int64), counts.astype(np.int64), mean_share, shares)
