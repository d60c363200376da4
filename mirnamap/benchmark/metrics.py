"""How well per-nucleotide scores match a known truth: vectorised, pure NumPy.

Every metric takes a batch of hairpins of different lengths as NaN-padded rows:
``scores`` ``float (N, L)`` with NaN where row i has no nucleotide (padding; give
nucleotides that paint no pixel a score of 0, not NaN), and ``truth`` ``(N, L)`` (bool
for the set metrics, float for the cosine). Each returns ``float64 (N,)``, NaN where the
metric is undefined for a row (no truth, or nothing but truth). Ties are handled
exactly (average ranks; expected values under random tie-breaking), so a constant map
scores chance, never better.

>>> truth = np.array([[True, True, False, False]])
>>> float(auroc(np.array([[4.0, 3.0, 2.0, 1.0]]), truth)[0])
1.0
>>> float(auroc(np.array([[1.0, 2.0, 3.0, 4.0]]), truth)[0])
0.0
>>> float(auroc(np.zeros((1, 4)), truth)[0])
0.5
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "auprc",
    "auroc",
    "bootstrap_median",
    "cosine",
    "deletion_area",
    "pad",
    "pointing_game",
    "relevance_mass",
    "spearman",
    "top_k_precision",
]


def pad(
    rows: Sequence[npt.ArrayLike], fill: float = np.nan, width: int | None = None
) -> np.ndarray:
    """Stack 1-D arrays of different lengths into one ``float64 (N, width)`` array.

    >>> pad([[1, 2], [3]]).tolist()
    [[1.0, 2.0], [3.0, nan]]
    """
    arrays = [np.asarray(r, dtype=np.float64).ravel() for r in rows]
    width = max((len(a) for a in arrays), default=0) if width is None else width
    out = np.full((len(arrays), width), fill, dtype=np.float64)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a[:width]
    return out


def _check(
    scores: npt.ArrayLike, truth: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, truth (as given) and the valid mask, with shapes checked."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth)
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (N, L), got shape {scores.shape}")
    if truth.shape != scores.shape:
        raise ValueError(f"truth has shape {truth.shape} but scores {scores.shape}")
    return scores, truth, ~np.isnan(scores)


def _average_ranks(x: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-row ascending ranks (1-based, ties averaged) among the valid entries.

    Returns the ranks (NaN where invalid), the sort order, and for each sorted entry the
    0-based start of its tie group.
    """
    n, width = x.shape
    keyed = np.where(valid, x, np.inf)  # invalid entries sort last, after every valid one
    order = np.argsort(keyed, axis=1, kind="stable")
    ordered = np.take_along_axis(keyed, order, axis=1)
    index = np.broadcast_to(np.arange(width), (n, width))
    differs = ordered[:, 1:] != ordered[:, :-1]
    first = np.ones((n, width), dtype=bool)
    first[:, 1:] = differs
    last = np.ones((n, width), dtype=bool)
    last[:, :-1] = differs
    start = np.maximum.accumulate(np.where(first, index, 0), axis=1)
    end = np.minimum.accumulate(np.where(last, index, width - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((n, width), dtype=np.float64)
    np.put_along_axis(ranks, order, (start + end) / 2.0 + 1.0, axis=1)
    ranks[~valid] = np.nan
    return ranks, order, start


def auroc(scores: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray:
    """Area under the ROC curve of ``scores`` ranking the ``truth`` nucleotides first.

    Parameters
    ----------
    scores : array_like
        ``float (N, L)``, NaN-padded.
    truth : array_like
        ``bool (N, L)``.

    Returns
    -------
    np.ndarray
        ``float64 (N,)``: 1 = every truth nucleotide above every other, 0.5 = chance.
    """
    scores, truth, valid = _check(scores, truth)
    truth = truth.astype(bool) & valid
    ranks, _, _ = _average_ranks(scores, valid)
    n_pos = truth.sum(axis=1)
    n_neg = valid.sum(axis=1) - n_pos
    rank_sum = np.where(truth, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), out, np.nan)


def auprc(scores: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray:
    """Average precision (area under the precision-recall curve), ties exact.

    Equal to scikit-learn's ``average_precision_score`` per row: the mean over truth
    nucleotides of the precision among everything scored at least as high.

    Returns
    -------
    np.ndarray
        ``float64 (N,)``; chance level is the truth's share of the row.
    """
    scores, truth, valid = _check(scores, truth)
    truth = truth.astype(bool) & valid
    _, order, start = _average_ranks(scores, valid)
    sorted_truth = np.take_along_axis(truth, order, axis=1)
    before = np.cumsum(sorted_truth, axis=1) - sorted_truth  # truth strictly before
    below_group = np.take_along_axis(before, start, axis=1)  # truth scored lower
    n_pos = truth.sum(axis=1, keepdims=True)
    n_valid = valid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = (n_pos - below_group) / (n_valid - start)
        out = np.where(sorted_truth, precision, 0.0).sum(axis=1) / n_pos[:, 0]
    return np.where(n_pos[:, 0] > 0, out, np.nan)


def top_k_precision(
    scores: npt.ArrayLike, truth: npt.ArrayLike, k: npt.ArrayLike | None = None
) -> np.ndarray:
    """Share of truth among the ``k`` highest scores (expected value over ties).

    Parameters
    ----------
    k : array_like of int, optional
        ``(N,)`` or a scalar. Default is None: each row's truth size.
    """
    scores, truth, valid = _check(scores, truth)
    truth = truth.astype(bool) & valid
    n_valid = valid.sum(axis=1)
    k = (
        truth.sum(axis=1)
        if k is None
        else np.broadcast_to(np.asarray(k, dtype=np.int64), n_valid.shape)
    )
    k_clipped = np.clip(k, 1, np.maximum(n_valid, 1))
    descending = -np.sort(-np.where(valid, scores, -np.inf), axis=1)
    kth = np.take_along_axis(descending, (k_clipped - 1)[:, None], axis=1)
    above = valid & (scores > kth)
    tied = valid & (scores == kth)
    n_above, n_tied = above.sum(axis=1), tied.sum(axis=1)
    hits_above = (above & truth).sum(axis=1)
    hits_tied = (tied & truth).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = hits_above + (k_clipped - n_above) * hits_tied / n_tied
        out = expected / k_clipped
    return np.where((k > 0) & (n_valid > 0), out, np.nan)


def relevance_mass(scores: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray:
    """Share of the total ``|scores|`` that falls on the truth (Arras et al. 2022).

    Returns NaN for a row whose scores are all 0 or that has no truth.
    """
    scores, truth, valid = _check(scores, truth)
    truth = truth.astype(bool) & valid
    magnitude = np.where(valid, np.abs(scores), 0.0)
    total = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(truth, magnitude, 0.0).sum(axis=1) / total
    return np.where((total > 0) & truth.any(axis=1), out, np.nan)


def pointing_game(scores: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray:
    """Whether the highest score hits the truth (Zhang et al. 2018); ties share the hit.

    Returns
    -------
    np.ndarray
        ``float64 (N,)`` in [0, 1]: the share of the tied maxima that are truth.
    """
    scores, truth, valid = _check(scores, truth)
    truth = truth.astype(bool) & valid
    top = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True)
    maxima = valid & (scores == top)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (maxima & truth).sum(axis=1) / maxima.sum(axis=1)
    return np.where(truth.any(axis=1) & valid.any(axis=1), out, np.nan)


def cosine(scores: npt.ArrayLike, truth: npt.ArrayLike) -> np.ndarray:
    """Cosine similarity of each row of ``scores`` and ``truth`` over the valid entries.

    The overlap of Rasmussen, Christensen & Jensen (2022): signed, so an attribution
    of the wrong sign counts against. NaN where either row is all zero.

    >>> float(cosine(np.array([[1.0, 0.0, np.nan]]), np.array([[2.0, 0.0, 0.0]]))[0])
    1.0
    """
    scores, truth, valid = _check(scores, truth)
    a = np.where(valid, scores, 0.0)
    b = np.where(valid, np.asarray(truth, dtype=np.float64), 0.0)
    norms = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (a * b).sum(axis=1) / norms
    return np.where(norms > 0, out, np.nan)


def spearman(a: npt.ArrayLike, b: npt.ArrayLike) -> np.ndarray:
    """Spearman rank correlation of each row of ``a`` with the same row of ``b``.

    Parameters
    ----------
    a, b : array_like
        ``float (N, ...)``; each row is flattened. NaN in either excludes that entry.

    Returns
    -------
    np.ndarray
        ``float64 (N,)``; NaN where a row is constant.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a has shape {a.shape} but b {b.shape}")
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    valid = ~(np.isnan(a) | np.isnan(b))
    ra, _, _ = _average_ranks(a, valid)
    rb, _, _ = _average_ranks(b, valid)
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ca = np.where(valid, ra - np.nansum(ra, axis=1, keepdims=True) / count[:, None], 0.0)
        cb = np.where(valid, rb - np.nansum(rb, axis=1, keepdims=True) / count[:, None], 0.0)
        norms = np.sqrt((ca * ca).sum(axis=1) * (cb * cb).sum(axis=1))
        out = (ca * cb).sum(axis=1) / norms
    return np.where(norms > 0, out, np.nan)


def deletion_area(curves: npt.ArrayLike, steps: npt.ArrayLike) -> np.ndarray:
    """Normalised area under deletion curves (trapezoids over ``steps``).

    Parameters
    ----------
    curves : array_like
        ``float (N, S)``: the model's probability after mutating ``steps[s]`` nucleotides.
    steps : array_like
        ``int (S,)``, increasing, starting at 0.

    Returns
    -------
    np.ndarray
        ``float64 (N,)``: area divided by ``steps[-1]``, so a curve that stays at p has
        area p. Lower means the mutated nucleotides mattered more.

    >>> deletion_area([[1.0, 0.0, 0.0]], [0, 1, 2]).tolist()
    [0.25]
    """
    curves = np.asarray(curves, dtype=np.float64)
    steps = np.asarray(steps, dtype=np.float64)
    if curves.ndim != 2 or curves.shape[1] != steps.shape[0] or steps.shape[0] < 2:
        raise ValueError(
            f"curves must be (N, {steps.shape[0]}) with >= 2 steps, got {curves.shape}"
        )
    if (np.diff(steps) <= 0).any():
        raise ValueError(f"steps must increase, got {steps.tolist()}")
    widths = np.diff(steps)
    area = ((curves[:, 1:] + curves[:, :-1]) / 2.0 * widths).sum(axis=1)
    return area / (steps[-1] - steps[0])


def bootstrap_median(
    values: npt.ArrayLike, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """The median of ``values`` and a percentile bootstrap interval for it.

    Parameters
    ----------
    values : array_like
        ``float (N,)``; NaNs are left out.
    n_boot : int, optional
        Bootstrap resamples. Default is 1000.
    level : float, optional
        Coverage of the interval. Default is 0.95.
    seed : int, optional
        Seeds the resampling. Default is 0.

    Returns
    -------
    (median, low, high) : tuple of float
        NaN for all three when no value is finite.

    >>> bootstrap_median([2.0, 2.0, 2.0])
    (2.0, 2.0, 2.0)
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    resamples = values[rng.integers(0, values.size, size=(n_boot, values.size))]
    medians = np.median(resamples, axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(medians, [tail, 1.0 - tail])
    return (float(np.median(values)), float(low), float(high))
