"""Pixel maps onto nucleotides: the encoder's layout turns a saliency map into scores.

Every pixel of a Cordero image is painted by one nucleotide's bar, by nothing (white
background) or by a gap bar (black); the encoder records which in its **layout**
(:class:`mirnamap.encode.Encoding`). :func:`project` uses that layout as the one source of
truth for the geometry:

* a nucleotide's score is the **sum** of the map over the pixels its bar paints; a
  terminal-loop nucleotide paints a bar in both halves of the image and gets both;
* the sum over white pixels is ``background`` and over gap bars ``gap`` (bar lengths are
  information too, so saliency on empty pixels is reported, not dropped);
* a nucleotide that paints no pixel (its column fell off the 100-px canvas, or it was left
  over when one strand is longer than the other) gets **NaN**, never 0, and
  ``n_pixels == 0`` marks it.

So nothing is lost: ``nansum(scores) + background + gap == sum(map)`` for every hairpin.

:func:`summarise_regions` sums the scores over the regions of
:func:`mirnamap.structure.regions`: the terminal loop and the outermost base pair that
encloses it split the hairpin into 5' tail, 5' arm, terminal loop, 3' arm and 3' tail.

>>> import numpy as np
>>> from mirnamap.encode import encode
>>> enc = encode(["GGGAAACCC"], ["(((...)))"])
>>> proj = project(np.ones(enc.layout.shape, np.float32), enc.layout, [9])
>>> [int(v) for v in proj.scores[0]]  # pixels per nucleotide: loop nucleotides count twice
[2, 2, 2, 14, 18, 14, 2, 2, 2]
>>> float(proj.background[0] + proj.gap[0] + np.nansum(proj.scores[0])) == 25 * 100
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from mirnamap.encode import GAP, HEIGHT, WIDTH
from mirnamap.structure import REGIONS, regions

__all__ = [
    "Projection",
    "RegionSummary",
    "project",
    "region_shares",
    "summarise_regions",
]


class Projection(NamedTuple):
    """Per-nucleotide scores of N hairpins, and where the rest of each map went.

    Attributes
    ----------
    scores : tuple of np.ndarray
        N ``float64 (L_i,)`` arrays: the sum of the map over each nucleotide's pixels; NaN
        for a nucleotide that paints no pixel.
    n_pixels : tuple of np.ndarray
        N ``int64 (L_i,)`` arrays: pixels each nucleotide paints (0 = no pixel: cut off
        the canvas or left over by the alignment).
    channels : tuple of np.ndarray or None
        For per-channel maps ``(N, 25, 100, 3)``: N ``float64 (L_i, 3)`` arrays, the R, G
        and B parts of ``scores`` (NaN rows where no pixel); None for ``(N, 25, 100)`` maps.
    background : np.ndarray
        ``float64 (N,)``: sum of the map over white background pixels.
    gap : np.ndarray
        ``float64 (N,)``: sum of the map over black gap-bar pixels.
    total : np.ndarray
        ``float64 (N,)``: sum of the whole map.
    """

    scores: tuple[np.ndarray, ...]
    n_pixels: tuple[np.ndarray, ...]
    channels: tuple[np.ndarray, ...] | None
    background: np.ndarray
    gap: np.ndarray
    total: np.ndarray

    def __len__(self) -> int:  # the number of hairpins, not of fields
        return len(self.scores)

    @property
    def background_share(self) -> np.ndarray:
        """``float64 (N,)``: ``background / total`` (NaN where the total is 0).

        On signed maps this is a signed ratio; project ``np.abs(maps)`` for the share of
        the saliency magnitude.
        """
        return _ratio(self.background, self.total)

    @property
    def gap_share(self) -> np.ndarray:
        """``float64 (N,)``: ``gap / total`` (NaN where the total is 0)."""
        return _ratio(self.gap, self.total)

    def padded(self, width: int | None = None) -> np.ndarray:
        """Scores as one ``float64 (N, width)`` array, NaN-padded on the right.

        Parameters
        ----------
        width : int, optional
            Columns; longer hairpins are truncated. Default is the longest hairpin.
        """
        lengths = [len(s) for s in self.scores]
        width = max(lengths, default=0) if width is None else int(width)
        out = np.full((len(self.scores), width), np.nan)
        for k, score in enumerate(self.scores):
            out[k, : min(width, len(score))] = score[:width]
        return out


class RegionSummary(NamedTuple):
    """Scores summed per structural region.

    Attributes
    ----------
    sums : np.ndarray
        ``float64 (N, 5)``: sum of the painted nucleotides' scores in each region of
        :data:`mirnamap.structure.REGIONS` (0 for a region with no painted nucleotide).
    counts : np.ndarray
        ``int64 (N, 5)``: painted nucleotides per region (the denominator of a mean).
    unpainted : np.ndarray
        ``int64 (N, 5)``: nucleotides per region that paint no pixel.
    mature : np.ndarray
        ``float64 (N,)``: sum over the mature-miRNA region where one was given, else NaN.
    mature_counts : np.ndarray
        ``int64 (N,)``: painted nucleotides of the mature region (0 where none given).
    background, gap, total : np.ndarray
        ``float64 (N,)``, as in :class:`Projection`; ``sums.sum(1) + background + gap ==
        total``.
    """

    sums: np.ndarray
    counts: np.ndarray
    unpainted: np.ndarray
    mature: np.ndarray
    mature_counts: np.ndarray
    background: np.ndarray
    gap: np.ndarray
    total: np.ndarray

    @property
    def means(self) -> np.ndarray:
        """``float64 (N, 5)``: mean score per painted nucleotide of each region (NaN if none)."""
        return _ratio(self.sums, self.counts)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def _name(ids: Sequence[str] | None, k: int) -> str:
    return f"record {ids[k]!r} (#{k})" if ids is not None else f"record #{k}"


def project(
    maps: npt.ArrayLike,
    layout: npt.ArrayLike,
    lengths: npt.ArrayLike,
    *,
    ids: Sequence[str] | None = None,
) -> Projection:
    """Sum pixel maps onto the nucleotides that paint the pixels.

    Vectorised over the batch: one ``np.bincount`` over the flattened layout, so thousands
    of hairpins take milliseconds.

    Parameters
    ----------
    maps : array_like
        ``float (N, 25, 100)`` pixel maps, or ``(N, 25, 100, 3)`` per-channel maps (then
        ``scores`` is the channel sum and ``channels`` holds the parts).
    layout : array_like
        ``int (N, 25, 100)``: the encoder's layout (sequence position, -1 background,
        -2 gap bar).
    lengths : array_like
        ``int (N,)``: each hairpin's sequence length.
    ids : sequence of str, optional
        N record names for error messages. Default is the record's index.

    Returns
    -------
    Projection

    Raises
    ------
    ValueError
        If the shapes disagree, a map is not finite, or the layout holds a value that is
        neither -1, -2 nor a position inside its hairpin (the record is named).
    """
    maps = np.asarray(maps)
    layout = np.asarray(layout)
    lengths = np.asarray(lengths)
    if layout.ndim != 3 or layout.shape[1:] != (HEIGHT, WIDTH):
        raise ValueError(f"layout must have shape (N, {HEIGHT}, {WIDTH}), got {layout.shape}")
    if not np.issubdtype(layout.dtype, np.integer):
        raise TypeError(f"layout must be integer, got {layout.dtype}")
    n = layout.shape[0]
    per_channel = maps.ndim == 4
    if (
        maps.shape[:3] != layout.shape
        or (per_channel and maps.shape[3] != 3)
        or maps.ndim not in (3, 4)
    ):
        raise ValueError(
            f"maps must have shape {layout.shape} or {(*layout.shape, 3)} to match the "
            f"layout, got {maps.shape}"
        )
    if not np.issubdtype(maps.dtype, np.number) or np.issubdtype(maps.dtype, np.complexfloating):
        raise TypeError(f"maps must be real numbers, got {maps.dtype}")
    if lengths.shape != (n,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be {n} integers (one per map), got shape {lengths.shape}")
    if ids is not None and len(ids) != n:
        raise ValueError(f"got {n} maps but {len(ids)} ids")
    if n == 0:
        empty = np.zeros(0)
        return Projection((), (), () if per_channel else None, empty, empty, empty)
    if not np.isfinite(maps).all():
        finite = np.isfinite(maps.reshape(n, -1)).all(axis=1)
        raise ValueError(f"{_name(ids, int(np.flatnonzero(~finite)[0]))}: map is not finite")
    if (lengths < 0).any():
        raise ValueError(f"{_name(ids, int(np.flatnonzero(lengths < 0)[0]))}: negative length")
    flat_layout = layout.reshape(n, -1)
    bad = (flat_layout.min(axis=1, initial=0) < GAP) | (flat_layout.max(axis=1) >= lengths)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{_name(ids, k)}: layout has values outside -2 .. {int(lengths[k]) - 1} "
            f"(length {int(lengths[k])}); layout and lengths do not belong together"
        )

    # One bin per nucleotide of all hairpins (hairpin k's positions at offset[k] ..
    # offset[k] + L_k - 1), then a background and a gap bin per hairpin: a single
    # bincount over all pixels sums everything, so nothing can be lost or counted twice.
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    total_length = int(offsets[-1])
    n_bins = total_length + 2 * n
    lay = flat_layout.astype(np.int64)
    empty_bin = total_length + 2 * np.arange(n, dtype=np.int64)[:, None] + (lay == GAP)
    bins = np.where(lay >= 0, lay + offsets[:-1, None], empty_bin).ravel()
    counts = np.bincount(bins, minlength=n_bins)
    pixel_maps = maps.sum(axis=3, dtype=np.float64) if per_channel else maps
    sums = np.bincount(bins, weights=pixel_maps.reshape(-1), minlength=n_bins)
    flat = sums[:total_length]
    nucleotide_counts = counts[:total_length]
    flat[nucleotide_counts == 0] = np.nan
    channel_flat = None
    if per_channel:
        per_pixel = maps.reshape(-1, 3)
        channel_flat = np.stack(
            [
                np.bincount(bins, weights=per_pixel[:, c], minlength=n_bins)[:total_length]
                for c in range(3)
            ],
            axis=1,
        )
        channel_flat[nucleotide_counts == 0] = np.nan
    background = sums[total_length::2].copy()
    gap = sums[total_length + 1 :: 2].copy()
    total = pixel_maps.reshape(n, -1).sum(axis=1, dtype=np.float64)
    cuts = offsets[1:-1]
    return Projection(
        scores=tuple(np.split(flat, cuts)),
        n_pixels=tuple(np.split(nucleotide_counts.astype(np.int64), cuts)),
        channels=None if channel_flat is None else tuple(np.split(channel_flat, cuts)),
        background=background,
        gap=gap,
        total=total,
    )


def summarise_regions(
    projection: Projection,
    structures: Sequence[str],
    *,
    mature: Sequence[tuple[int, int] | None] | None = None,
    ids: Sequence[str] | None = None,
) -> RegionSummary:
    """Sum per-nucleotide scores over the regions of each hairpin.

    Parameters
    ----------
    projection : Projection
        N hairpins from :func:`project`.
    structures : sequence of str
        N dot-bracket structures (lengths must match the scores).
    mature : sequence of (start, end) or None, optional
        Per hairpin the mature miRNA as 0-based half-open positions ``[start, end)`` (a
        1-based inclusive miRBase range ``a..b`` is ``(a - 1, b)``), or None where not
        known. Default is None for all.
    ids : sequence of str, optional
        N record names for error messages.

    Returns
    -------
    RegionSummary
    """
    n = len(projection)
    if len(structures) != n:
        raise ValueError(f"got {n} projected hairpins but {len(structures)} structures")
    if mature is not None and len(mature) != n:
        raise ValueError(f"got {n} projected hairpins but {len(mature)} mature regions")
    sums = np.zeros((n, len(REGIONS)))
    counts = np.zeros((n, len(REGIONS)), dtype=np.int64)
    unpainted = np.zeros((n, len(REGIONS)), dtype=np.int64)
    mature_sums = np.full(n, np.nan)
    mature_counts = np.zeros(n, dtype=np.int64)
    for k, (score, structure) in enumerate(zip(projection.scores, structures, strict=True)):
        if len(score) != len(structure):
            raise ValueError(
                f"{_name(ids, k)}: {len(score)} scores but structure has {len(structure)} "
                "characters"
            )
        try:
            codes = regions(structure)
        except ValueError as error:
            raise ValueError(f"{_name(ids, k)}: {error}") from None
        has = ~np.isnan(score)
        sums[k] = np.bincount(codes[has], weights=score[has], minlength=len(REGIONS))
        counts[k] = np.bincount(codes[has], minlength=len(REGIONS))
        unpainted[k] = np.bincount(codes[~has], minlength=len(REGIONS))
        if mature is not None and mature[k] is not None:
            start, end = (int(v) for v in mature[k])  # type: ignore[union-attr]
            if not 0 <= start < end <= len(score):
                raise ValueError(
                    f"{_name(ids, k)}: mature region [{start}, {end}) is not inside "
                    f"0 .. {len(score)}"
                )
            part = score[start:end]
            mature_sums[k] = np.nansum(part)
            mature_counts[k] = int((~np.isnan(part)).sum())
    return RegionSummary(
        sums=sums,
        counts=counts,
        unpainted=unpainted,
        mature=mature_sums,
        mature_counts=mature_counts,
        background=projection.background,
        gap=projection.gap,
        total=projection.total,
    )


def region_shares(
    magnitudes: Projection,
    structures: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
) -> np.ndarray:
    """Where the saliency magnitude of each hairpin falls: shares per region, background, gap.

    Parameters
    ----------
    magnitudes : Projection
        N hairpins: :func:`project` of ``np.abs(maps)``.
    structures : sequence of str
        N dot-bracket structures (the regions come from them).
    ids : sequence of str, optional
        N record names for error messages.

    Returns
    -------
    np.ndarray
        ``float64 (N, 7)``: the shares of the whole map on the nucleotides of each region
        of :data:`REGIONS`, on the white background and on the gap bars; each row sums to
        1, and is NaN for an all-zero map.

    >>> from mirnamap.encode import encode
    >>> enc = encode(["GGGAAACCC"], ["(((...)))"])
    >>> maps = np.where(enc.layout >= 0, 1.0, 0.0)  # 1 on every nucleotide pixel
    >>> shares = region_shares(project(maps, enc.layout, [9]), ["(((...)))"])
    >>> [round(float(v), 3) for v in shares[0]]
    [0.0, 0.103, 0.793, 0.103, 0.0, 0.0, 0.0]
    """
    summary = summarise_regions(magnitudes, structures, ids=ids)
    shares = summary.sums / np.where(summary.total == 0, np.nan, summary.total)[:, None]
    return np.column_stack([shares, magnitudes.background_share, magnitudes.gap_share])
