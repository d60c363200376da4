"""One method's maps over an ensemble's members: their mean, spread and sign agreement.

:func:`ensemble_maps` runs a saliency backend on every member (or shares a sampling
backend's samples among them) and reduces the members' maps; :func:`sequence_method`
makes in-silico mutagenesis an explanation method like the backends;
:func:`sign_agreement` is the uncertainty rule of the pictures and the report.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.project import Projection, project

if TYPE_CHECKING:
    import keras

    from mirnamap._typing import Images, Layout
    from mirnamap.ensemble import Ensemble

__all__ = ["ensemble_maps", "sequence_method", "sign_agreement"]


def sign_agreement(member_scores: np.ndarray) -> np.ndarray:
    """The share of the members whose score has the sign of their mean, per nucleotide.

    The uncertainty of an ensemble's reading: a nucleotide read as "towards" (red) or
    "against" (blue) the target is stable where every member gives it that sign
    (``experiments/results/uncertainty_rule.md`` measures how well this predicts the
    reading of a held-out member, against ``|mean| < 2 sd``).

    Parameters
    ----------
    member_scores : np.ndarray
        ``float (K, L)``: each member's nucleotide scores (NaN where no pixel).

    Returns
    -------
    np.ndarray
        ``float64 (L,)`` in ``[0, 1]`` (1 for one member; a mean of exactly 0 agrees with
        the members that give 0); NaN where a score is NaN.

    Examples
    --------
    >>> sign_agreement(np.array([[1.0, -2.0, 1.0], [3.0, 1.0, -4.0]])).tolist()
    [1.0, 0.5, 0.5]
    """
    values = np.asarray(member_scores, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        share = (np.sign(values) == np.sign(values.mean(axis=0))).mean(axis=0)
    return np.where(np.isnan(values).any(axis=0), np.nan, share)


def ensemble_maps(
    ensemble: Ensemble,
    images: Images,
    layout: Layout,
    lengths: np.ndarray,
    ids: tuple[str, ...],
    method: str,
    target: int | np.ndarray | None,
    options: dict[str, Any],
    channels: bool,
    member_samples: str = "each",
    *,
    step: Any = None,
) -> tuple[
    np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray | None, tuple[np.ndarray, ...]
]:
    """One method's maps averaged over the members, their per-pixel and per-nucleotide
    standard deviations across the members, (``channels``, for a backend with a
    ``reduce`` option) the mean per-channel maps ``(M, 25, 100, 3)``, and per record the
    members' sign agreement ``float64 (L_i,)`` (:func:`sign_agreement`). ``step``, if
    given, is called after each member's maps (a progress bar).

    With ``member_samples="split"`` a sampling backend's samples are dealt out among the
    members (:func:`mirnamap.saliency.share_samples`): the mean is the sample-weighted
    mean of the members' maps, and the spread and the agreement are NaN (each member's map
    then holds the noise of its few samples, not only the members' disagreement)."""
    from mirnamap.ensemble import spread
    from mirnamap.saliency import explain, get_backend, reduce_channels, share_samples

    several = member_samples == "split" and len(ensemble) > 1
    shares = share_samples(method, len(ensemble), options) if several else None
    split = shares is not None
    if not split:  # every member with the options as given
        shares = [(k, options, 1.0 / len(ensemble)) for k in range(len(ensemble))]
    runs = [(ensemble.members[k], own) for k, own, _ in shares]
    per_channel = None

    def run(member: keras.Model, own: dict[str, Any], **extra: Any) -> np.ndarray:
        found = explain(member, images, method, target, **own, **extra)
        if step is not None:
            step()
        return found

    if channels and "reduce" in inspect.signature(get_backend(method)).parameters:
        per_channel = np.stack([run(m, o, reduce=None) for m, o in runs])
        # The same reduction the backend applies by default: the maps are identical.
        per_member = np.stack([reduce_channels(c, "sum") for c in per_channel])
    else:
        per_member = np.stack([run(m, o) for m, o in runs])
    if split:
        weights = np.array([w for _, _, w in shares], np.float32)
        mean = np.tensordot(weights, per_member, axes=1).astype(np.float32)
        if per_channel is not None:
            per_channel = np.tensordot(weights, per_channel, axes=1).astype(np.float32)
        unknown = tuple(np.full(n, np.nan, np.float32) for n in lengths)
        unsure = tuple(np.full(n, np.nan) for n in lengths)
        return mean, np.full(mean.shape, np.nan, np.float32), unknown, per_channel, unsure
    scores = [project(m, layout, lengths, ids=ids).scores for m in per_member]
    by_record = [np.stack([s[k] for s in scores]) for k in range(len(ids))]
    with np.errstate(invalid="ignore"):
        sd_scores = tuple(spread(member_scores) for member_scores in by_record)
    agreement = tuple(sign_agreement(member_scores) for member_scores in by_record)
    mean = per_member[0] if len(ensemble) == 1 else per_member.mean(axis=0, dtype=np.float32)
    if per_channel is not None:
        per_channel = per_channel[0] if len(ensemble) == 1 else per_channel.mean(axis=0)
    return mean, spread(per_member).astype(np.float32), sd_scores, per_channel, agreement


def sequence_method(
    ensemble: Ensemble,
    sequences: tuple[str, ...],
    structures: tuple[str, ...],
    layout: Layout,
    ids: tuple[str, ...],
    target: int | np.ndarray | None,
    options: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], Projection, Projection]:
    """In-silico mutagenesis (:func:`mirnamap.mutagenesis.ism`) as an explanation method.

    The wild types are drawn with the structures explained, so their images are the ones
    the other methods explain. Returns the maps (the nucleotide scores painted onto their
    pixels, :func:`mirnamap.mutagenesis.paint_scores`, so that projecting them gives the
    scores back), the per-pixel and per-nucleotide spread across members, and the
    signed and magnitude projections. These hold the mutagenesis scores of **every**
    nucleotide, those off the canvas (``n_pixels == 0``) too, as refolding gives them an
    effect; background and gap are 0 (mutagenesis puts nothing on empty pixels).
    """
    from mirnamap.mutagenesis import ism, paint_scores

    found = ism(ensemble, sequences, structures=structures, ids=ids, target=target, **options)
    if found.failures:  # cannot happen: the same records were drawn before
        first = found.failures[0]
        raise ValueError(f"record {first.id!r}: ism failed: {first.reason}")
    n_pixels = tuple(
        np.bincount(lay[lay >= 0].astype(np.int64), minlength=len(s)).astype(np.int64)
        for lay, s in zip(layout, sequences, strict=True)
    )

    def as_projection(scores: tuple[np.ndarray, ...]) -> Projection:
        zeros = np.zeros(len(scores))
        total = np.array([np.nansum(s) for s in scores], dtype=np.float64)
        return Projection(scores, n_pixels, None, zeros, zeros.copy(), total)

    magnitudes = tuple(np.abs(s) for s in found.scores)
    return (
        paint_scores(found.scores, layout),
        paint_scores(found.sd, layout),
        found.sd,
        as_projection(found.scores),
        as_projection(magnitudes),
    )
