"""Scoring maps against the truth: per-hairpin metrics on the nucleotides.

:func:`adapt_truth` passes a per-nucleotide truth through the representation (closed over
base pairs, painted onto the pixels and projected back); :func:`score_maps` projects pixel
maps onto nucleotides and computes every map metric of :data:`~mirnamap.benchmark.config.METRICS`
per hairpin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mirnamap.benchmark import metrics
from mirnamap.benchmark.config import MAP_METRICS

__all__ = ["adapt_truth", "score_maps"]


def adapt_truth(
    truth: Sequence[np.ndarray],
    layout: np.ndarray,
    lengths: np.ndarray,
    structures: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Pass a per-nucleotide truth through the representation.

    With ``structures``, the truth is first closed over base pairs: a nucleotide paired to
    a truth nucleotide gets its value (the larger of the two). This is the analogue of
    Rasmussen et al.'s implicit hydrogens: the Cordero image draws a base pair as one
    column, and a planted stem motif fixes its partners by complementarity, so the label
    is as much a function of the partner strand and no model can be asked to prefer one.
    Then the truth is painted onto the pixels of its nucleotides (with the encoder's
    layout) and projected back with :func:`mirnamap.project.project`: what a perfect pixel
    map of the truth would score. Nucleotides count by their pixels; one off the canvas
    gets 0. Use the closure for set truths only: a signed additive truth already weighs
    every nucleotide, partners included.

    Parameters
    ----------
    truth : sequence of np.ndarray
        N ``float (L_i,)``.
    layout : np.ndarray
        ``int16 (N, 25, 100)``.
    lengths : np.ndarray
        ``int (N,)``.
    structures : sequence of str, optional
        N dot-brackets of length ``L_i``: close the truth over their base pairs. Default
        is None: no closure.

    Returns
    -------
    list of np.ndarray
        N ``float64 (L_i,)``.

    >>> from mirnamap.encode import encode
    >>> enc = encode(["GGGAAACCC"], ["(((...)))"])
    >>> adapt_truth([np.eye(9)[4]], enc.layout, np.array([9]))[0].tolist()
    [0.0, 0.0, 0.0, 0.0, 18.0, 0.0, 0.0, 0.0, 0.0]
    >>> adapt_truth([np.eye(9)[1]], enc.layout, np.array([9]), ["(((...)))"])[0].tolist()
    [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0]
    """
    from mirnamap.project import project
    from mirnamap.structure import pair_table

    if structures is not None:
        if len(structures) != len(truth):
            raise ValueError(f"{len(structures)} structures for {len(truth)} truth vectors")
        closed = []
        for i, (t, structure) in enumerate(zip(truth, structures, strict=True)):
            t = np.asarray(t, dtype=np.float64)
            if len(structure) != len(t):
                raise ValueError(
                    f"hairpin {i}: structure has length {len(structure)}, truth {len(t)}"
                )
            partner = pair_table(structure)
            mate = np.where(partner >= 0, t[np.clip(partner, 0, None)], 0.0)
            closed.append(np.maximum(t, mate))
        truth = closed
    padded = metrics.pad(truth, fill=0.0)
    if padded.shape[1] == 0:
        return [np.zeros(0) for _ in truth]
    index = np.clip(layout.astype(np.int64), 0, None).reshape(len(truth), -1)
    painted = np.take_along_axis(padded, index, axis=1).reshape(layout.shape)
    painted = np.where(layout >= 0, painted, 0.0)
    projected = project(painted, layout, np.asarray(lengths, dtype=np.int64))
    return [np.nan_to_num(s, nan=0.0) for s in projected.scores]


def score_maps(
    maps: np.ndarray,
    layout: np.ndarray,
    lengths: np.ndarray,
    truth: Sequence[np.ndarray],
    *,
    signed: bool = False,
    distractor: Sequence[np.ndarray] | None = None,
    structures: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Score N pixel maps against per-nucleotide truth: every map metric, per hairpin.

    Parameters
    ----------
    maps : np.ndarray
        ``float (N, 25, 100)`` raw signed maps.
    layout : np.ndarray
        ``int16 (N, 25, 100)``, the encoder's layout.
    lengths : np.ndarray
        ``int (N,)``.
    truth : sequence of np.ndarray
        N ``float (L_i,)``: 0/1 for a truth set; signed weights if ``signed``.
    signed : bool, optional
        The truth is a signed vector (``additive``): only the two cosines, on the signed
        projection; the set metrics are NaN. Default is False.
    distractor : sequence of np.ndarray, optional
        N ``bool (L_i,)``: where the distractor sits.
    structures : sequence of str, optional
        N dot-brackets: the set truth is closed over their base pairs before it is adapted
        (see :func:`adapt_truth`; ignored if ``signed``). Default is None.

    Returns
    -------
    dict of str to np.ndarray
        Metric name -> ``float64 (N,)``.
    """
    from mirnamap.project import project

    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max()) if len(lengths) else 0
    magnitude = metrics.pad(
        [np.nan_to_num(s, nan=0.0) for s in project(np.abs(maps), layout, lengths).scores],
        width=width,
    )
    truth_pad = metrics.pad(truth, width=width)
    adapted = metrics.pad(
        adapt_truth(truth, layout, lengths, None if signed else structures), width=width
    )
    n = len(lengths)
    out = {m: np.full(n, np.nan) for m in MAP_METRICS}
    if signed:
        values = metrics.pad(
            [np.nan_to_num(s, nan=0.0) for s in project(maps, layout, lengths).scores], width=width
        )
        out["cos_raw"] = metrics.cosine(values, truth_pad)
        out["cos_adapted"] = metrics.cosine(values, adapted)
        return out
    truth_set = np.nan_to_num(truth_pad) > 0
    out["auroc"] = metrics.auroc(magnitude, truth_set)
    out["auprc"] = metrics.auprc(magnitude, truth_set)
    out["top_k"] = metrics.top_k_precision(magnitude, truth_set)
    out["mass"] = metrics.relevance_mass(magnitude, truth_set)
    out["pointing"] = metrics.pointing_game(magnitude, truth_set)
    out["cos_raw"] = metrics.cosine(magnitude, np.nan_to_num(truth_pad))
    out["cos_adapted"] = metrics.cosine(magnitude, adapted)
    if distractor is not None:
        distract = np.nan_to_num(metrics.pad(distractor, width=width, fill=0.0)) > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(distract, np.nan_to_num(magnitude), 0).sum(1) / np.nansum(
                magnitude, axis=1
            )
        out["distractor"] = np.where(distract.any(axis=1), share, np.nan)
    return out
