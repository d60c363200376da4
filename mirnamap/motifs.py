"""Seqlets and motifs: short high-scoring stretches of nucleotide maps, clustered across hairpins.

A nucleotide map (one score per nucleotide, from :func:`mirnamap.project.project`) says
which nucleotides of *one* hairpin the model used. Across many hairpins the question is
which *sequences* it uses. Two steps answer it, as in TF-MoDISco (Shrikumar et al. 2018,
arXiv:1811.00416) and tangermeme's seqlet caller:

:func:`call_seqlets`
    Windows of ``width`` nucleotides whose summed score is larger in magnitude than the
    hairpin's own null: the same scores permuted within the hairpin (``n_null`` seeded
    shuffles). The threshold is the ``1 - alpha`` quantile of the shuffled maps' *largest*
    window, so on a map of pure noise a hairpin has a seqlet with probability about
    ``alpha`` (family-wise over its windows). Windows are taken greedily, the strongest
    first, none overlapping. Each seqlet carries its hairpin, start, end, sequence, sign,
    score and region (the regions of :func:`mirnamap.structure.regions`, the same rule
    :func:`mirnamap.project.summarise_regions` sums over).
:func:`find_motifs`
    Greedy k-mer clustering on the forward strand: the k-mer found in the most seqlets
    seeds a motif, its seqlets are aligned on it, counted into a position count matrix and
    removed, and so on. Seqlets of different regions and signs are clustered apart by
    default.

Why not modisco-lite (``modiscolite``, the field's tool)? It runs here (3.0.0 with numpy 2),
but it always matches reverse complements, and the two arms of a hairpin stem are reverse
complements of each other: a motif on the 5' arm and its partner on the 3' arm become one
motif (a check: 600 hairpins with UGUGA on one arm or UCACA on the other gave one pattern of
255 seqlets, 133 of them UCACA). It has no switch for that, and its 21-nt windows and
100-seqlet minimum fit genomes rather than 60-110-nt hairpins.

>>> import numpy as np
>>> seq = "GGAUCUGUGAUCGAUCGAAAGAUCGAUCACAGAUCC"
>>> st = "((((((((((((((((....))))))))))))))))"
>>> score = np.zeros(len(seq)); score[5:10] = 1.0
>>> found = call_seqlets([score], [seq], [st], width=5, seed=0)
>>> [(s.start, s.end, s.sequence, s.region) for s in found.seqlets]
[(5, 10, 'UGUGA', "5' arm")]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from mirnamap.structure import REGIONS, regions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BASES",
    "Motif",
    "Motifs",
    "Seqlet",
    "Seqlets",
    "call_seqlets",
    "find_motifs",
    "information_content",
]

#: Columns of every count matrix.
BASES = "ACGU"
_SIGNS = ("both", "positive", "negative")


class Seqlet(NamedTuple):
    """One high-|score| stretch of one hairpin.

    Attributes
    ----------
    hairpin : int
        Index of the hairpin in the input.
    id : str
        Its record name.
    start, end : int
        0-based half-open positions ``[start, end)`` in the hairpin's sequence.
    sequence : str
        The nucleotides ``sequence[start:end]``.
    sign : int
        +1 when the window's summed score is positive, -1 when negative.
    score : float
        The window's summed score (NaN scores count as 0).
    region : str
        The region of :data:`mirnamap.structure.REGIONS` holding most of the window
        (ties go to the region of its middle nucleotide).
    threshold : float
        The hairpin's null threshold the window's ``|score|`` passed.
    """

    hairpin: int
    id: str
    start: int
    end: int
    sequence: str
    sign: int
    score: float
    region: str
    threshold: float


class Seqlets(NamedTuple):
    """The seqlets of N hairpins, and what happened to every hairpin.

    Attributes
    ----------
    seqlets : tuple of Seqlet
        Ordered by hairpin, then start.
    thresholds : np.ndarray
        ``float64 (N,)``: each hairpin's null threshold on ``|window score|`` (NaN where
        the hairpin was skipped).
    counts : np.ndarray
        ``int64 (N,)``: seqlets per hairpin.
    reasons : tuple of str
        N entries: "" for a hairpin that was searched, else why it was skipped.
    ids, sequences, structures : tuple of str
        The N hairpins (sequences upper-case, T as U).
    width : int
        Window width in nucleotides.
    alpha : float
        The null's family-wise level per hairpin.
    """

    seqlets: tuple[Seqlet, ...]
    thresholds: np.ndarray
    counts: np.ndarray
    reasons: tuple[str, ...]
    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    width: int
    alpha: float

    def __len__(self) -> int:  # the number of seqlets, not of fields
        return len(self.seqlets)

    def to_frame(self, assignment: npt.ArrayLike | None = None) -> pd.DataFrame:
        """One row per seqlet: hairpin, id, start, end, sequence, sign, score, region,
        threshold (and ``motif``, the motif name or "", when ``assignment`` is given: the
        ``Motifs.assignment`` of :func:`find_motifs`)."""
        import pandas as pd

        frame = pd.DataFrame(list(self.seqlets), columns=list(Seqlet._fields))
        if assignment is not None:
            assignment = np.asarray(assignment)
            if assignment.shape != (len(self.seqlets),):
                raise ValueError(f"assignment must have {len(self.seqlets)} entries")
            frame["motif"] = [f"motif_{a + 1}" if a >= 0 else "" for a in assignment]
        return frame

    def hairpins_frame(self) -> pd.DataFrame:
        """One row per input hairpin (every one accounted for): id, n_seqlets, threshold,
        status ("searched" or "skipped") and reason."""
        import pandas as pd

        return pd.DataFrame(
            {
                "id": list(self.ids),
                "n_seqlets": self.counts,
                "threshold": self.thresholds,
                "status": ["skipped" if r else "searched" for r in self.reasons],
                "reason": list(self.reasons),
            }
        )


def _window_sums(values: np.ndarray, width: int) -> np.ndarray:
    """``(..., L)`` -> ``(..., L - width + 1)`` sums of every window of ``width``."""
    csum = np.cumsum(values, axis=-1)
    pad = np.zeros((*values.shape[:-1], 1))
    csum = np.concatenate([pad, csum], axis=-1)
    return csum[..., width:] - csum[..., :-width]


def _majority_region(codes: np.ndarray) -> str:
    counts = np.bincount(codes, minlength=len(REGIONS))
    best = np.flatnonzero(counts == counts.max())
    if len(best) == 1:
        return REGIONS[int(best[0])]
    return REGIONS[int(codes[len(codes) // 2])]


def call_seqlets(
    scores: Sequence[npt.ArrayLike],
    sequences: Sequence[str],
    structures: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    width: int = 5,
    alpha: float = 0.05,
    n_null: int = 200,
    sign: str = "both",
    max_per_hairpin: int | None = None,
    seed: int = 0,
) -> Seqlets:
    """Call seqlets on per-nucleotide maps against a null of shuffled maps.

    Parameters
    ----------
    scores : sequence of array_like
        N ``float (L_i,)`` per-nucleotide scores (NaN = the nucleotide paints no pixel;
        counted as 0).
    sequences, structures : sequence of str
        The N hairpins and their dot-bracket structures (length ``L_i`` each).
    ids : sequence of str, optional
        N record names. Default is ``"0"``, ``"1"``, ...
    width : int, optional
        Window width in nucleotides. Default is 5.
    alpha : float, optional
        Per-hairpin family-wise level: the threshold is the ``1 - alpha`` quantile of the
        largest ``|window score|`` of each shuffled map. Default is 0.05.
    n_null : int, optional
        Shuffles per hairpin. Default is 200.
    sign : {"both", "positive", "negative"}, optional
        Which windows count: either sign (by ``|score|``), or only those for (against)
        the explained class. Default is "both".
    max_per_hairpin : int, optional
        Most seqlets per hairpin. Default is None: no limit.
    seed : int, optional
        Seeds the shuffles (hairpin ``k`` uses its own stream, so a hairpin's seqlets do
        not depend on the others). Default is 0.

    Returns
    -------
    Seqlets
        Every hairpin is accounted for: searched (``counts[k]`` seqlets, maybe 0) or
        skipped with a reason (shorter than ``width``, no finite score, an all-zero map,
        or a structure without a hairpin loop).

    Raises
    ------
    ValueError
        If the inputs disagree in number or a hairpin's lengths disagree (named), or an
        option makes no sense.
    """
    n = len(scores)
    if len(sequences) != n or len(structures) != n:
        raise ValueError(
            f"got {n} score arrays, {len(sequences)} sequences and {len(structures)} structures"
        )
    if ids is None:
        ids = [str(k) for k in range(n)]
    elif len(ids) != n:
        raise ValueError(f"got {n} score arrays but {len(ids)} ids")
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n_null < 1:
        raise ValueError(f"n_null must be >= 1, got {n_null}")
    if sign not in _SIGNS:
        raise ValueError(f"sign must be one of {_SIGNS}, got {sign!r}")
    if max_per_hairpin is not None and max_per_hairpin < 1:
        raise ValueError(f"max_per_hairpin must be >= 1 or None, got {max_per_hairpin}")
    found: list[Seqlet] = []
    thresholds = np.full(n, np.nan)
    counts = np.zeros(n, dtype=np.int64)
    reasons = [""] * n
    seqs = tuple(str(s).upper().replace("T", "U") for s in sequences)
    streams = np.random.SeedSequence(seed).spawn(n)
    for k in range(n):
        name = f"record {ids[k]!r} (#{k})"
        score = np.asarray(scores[k], dtype=np.float64)
        length = len(seqs[k])
        if score.ndim != 1 or len(score) != length or len(structures[k]) != length:
            raise ValueError(
                f"{name}: {score.shape} scores, sequence of {length} and structure of "
                f"{len(structures[k])} nucleotides do not match"
            )
        if length < width:
            reasons[k] = f"shorter ({length} nt) than the seqlet width {width}"
            continue
        if not np.isfinite(score).any():
            reasons[k] = "no nucleotide has a finite score"
            continue
        try:
            codes = regions(structures[k])
        except ValueError as error:
            reasons[k] = f"no region labels: {error}"
            continue
        values = np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0)
        if not values.any():
            reasons[k] = "all scores are 0"
            continue
        rng = np.random.default_rng(streams[k])
        shuffled = rng.permuted(np.broadcast_to(values, (n_null, length)), axis=1)
        windows = _window_sums(values, width)
        null = _window_sums(shuffled, width)
        if sign == "positive":
            strength, null_strength = windows, null
        elif sign == "negative":
            strength, null_strength = -windows, -null
        else:
            strength, null_strength = np.abs(windows), np.abs(null)
        threshold = float(np.quantile(null_strength.max(axis=1), 1 - alpha))
        thresholds[k] = threshold
        taken: list[int] = []
        available = strength > threshold
        # Strongest first; a taken window rules out every window overlapping it.
        for start in np.argsort(-strength, kind="stable"):
            if not available[start]:
                continue
            if max_per_hairpin is not None and len(taken) >= max_per_hairpin:
                break
            taken.append(int(start))
            available[max(0, start - width + 1) : start + width] = False
        for start in sorted(taken):
            end = start + width
            total = float(windows[start])
            found.append(
                Seqlet(
                    hairpin=k,
                    id=str(ids[k]),
                    start=start,
                    end=end,
                    sequence=seqs[k][start:end],
                    sign=1 if total > 0 else -1,
                    score=total,
                    region=_majority_region(codes[start:end]),
                    threshold=threshold,
                )
            )
        counts[k] = len(taken)
    return Seqlets(
        seqlets=tuple(found),
        thresholds=thresholds,
        counts=counts,
        reasons=tuple(reasons),
        ids=tuple(str(i) for i in ids),
        sequences=seqs,
        structures=tuple(structures),
        width=int(width),
        alpha=float(alpha),
    )


class Motif(NamedTuple):
    """A motif: seqlets of many hairpins aligned on a shared k-mer.

    Attributes
    ----------
    name : str
        ``motif_1``, ``motif_2``, ... in order of support.
    consensus : str
        The most frequent base of each column of ``counts`` that is kept (at least
        ``min_ic`` bits, inside most members' seqlets); edge columns that are not are
        trimmed, inner ones read "N".
    core : str
        The k-mer the motif was seeded with.
    counts : np.ndarray
        ``float64 (W, 4)``: bases (A, C, G, U) per column of the aligned, trimmed window;
        columns a member's hairpin does not reach are not counted.
    members : tuple of int
        Indices into ``Seqlets.seqlets``.
    offsets : tuple of int
        Per member the hairpin position of the window's first column.
    support : int
        Number of member seqlets.
    n_hairpins : int
        Distinct hairpins among the members.
    regions : dict of str to int
        Members per region.
    sign : int
        +1 or -1 (the members' sign; 0 if mixed, with ``split_signs=False``).
    mean_score : float
        Mean summed score of the members.
    """

    name: str
    consensus: str
    core: str
    counts: np.ndarray
    members: tuple[int, ...]
    offsets: tuple[int, ...]
    support: int
    n_hairpins: int
    regions: dict[str, int]
    sign: int
    mean_score: float

    @property
    def pwm(self) -> np.ndarray:
        """``float64 (W, 4)``: the base probabilities of each column."""
        total = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, total, out=np.zeros_like(self.counts), where=total > 0)

    @property
    def region(self) -> str:
        """The region holding most members."""
        return max(self.regions, key=lambda r: self.regions[r])


class Motifs(NamedTuple):
    """The motifs of a set of seqlets.

    Attributes
    ----------
    motifs : tuple of Motif
        By support, largest first.
    assignment : np.ndarray
        ``int64 (S,)``: per seqlet the index of its motif, -1 for none.
    """

    motifs: tuple[Motif, ...]
    assignment: np.ndarray

    def __len__(self) -> int:  # the number of motifs, not of fields
        return len(self.motifs)

    def to_frame(self) -> pd.DataFrame:
        """One row per motif: name, consensus, core, width, support, n_hairpins, region
        (the most common), regions (``region:count`` joined by ``;``), sign, mean_score."""
        import pandas as pd

        rows = [
            {
                "name": m.name,
                "consensus": m.consensus,
                "core": m.core,
                "width": len(m.counts),
                "support": m.support,
                "n_hairpins": m.n_hairpins,
                "region": m.region,
                "regions": ";".join(f"{r}:{c}" for r, c in m.regions.items()),
                "sign": m.sign,
                "mean_score": m.mean_score,
            }
            for m in self.motifs
        ]
        columns = ["name", "consensus", "core", "width", "support", "n_hairpins", "region"]
        return pd.DataFrame(rows, columns=[*columns, "regions", "sign", "mean_score"])


def information_content(counts: npt.ArrayLike, pseudocount: float = 0.0) -> np.ndarray:
    """Bits of information per column of a ``(W, 4)`` count matrix (0 .. 2).

    >>> information_content([[10, 0, 0, 0], [1, 1, 1, 1]]).round(3).tolist()
    [2.0, 0.0]
    """
    counts = np.asarray(counts, dtype=np.float64) + pseudocount
    total = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    return np.where(total[:, 0] > 0, 2.0 - entropy, 0.0)


def _kmers_of(sequence: str, k: int) -> set[str]:
    return {
        sequence[i : i + k]
        for i in range(len(sequence) - k + 1)
        if set(sequence[i : i + k]) <= set(BASES)
    }


def _cluster(
    members: list[int],
    found: Seqlets,
    k: int,
    flank: int,
    min_support: int,
    min_ic: float,
    min_coverage: float,
    absorb: bool,
) -> list[tuple[str, list[int], list[int], np.ndarray, str]]:
    """Greedy k-mer clustering of one group of seqlets (see :func:`find_motifs`)."""
    out = []
    left = list(members)
    while len(left) >= min_support:
        kmer_sets = {i: _kmers_of(found.seqlets[i].sequence, k) for i in left}
        tally = Counter(kmer for i in left for kmer in kmer_sets[i])
        if not tally:
            break
        # The most seqlets, then the most summed |score|, then alphabetical: deterministic.
        strength = Counter()
        for i in left:
            for kmer in kmer_sets[i]:
                strength[kmer] += abs(found.seqlets[i].score)
        core = min(tally, key=lambda m: (-tally[m], -strength[m], m))
        if tally[core] < min_support:
            break
        chosen = [i for i in left if core in kmer_sets[i]]
        window = k + 2 * flank
        counts = np.zeros((window, len(BASES)))
        coverage = np.zeros(window)
        offsets = []
        for i in chosen:
            seqlet = found.seqlets[i]
            # The core's first occurrence in the seqlet anchors the alignment; the window
            # reaches ``flank`` nucleotides either side into the hairpin.
            at = seqlet.start + seqlet.sequence.index(core) - flank
            offsets.append(at)
            coverage[max(0, seqlet.start - at) : max(0, seqlet.end - at)] += 1
            sequence = found.sequences[seqlet.hairpin]
            for column in range(window):
                position = at + column
                if 0 <= position < len(sequence) and sequence[position] in BASES:
                    counts[column, BASES.index(sequence[position])] += 1
        ic = information_content(counts)
        # A column stays if it is informative and inside most members' seqlets: a few
        # members' random flanks can look informative, their seqlets do not reach there.
        keep = np.flatnonzero((ic >= min_ic) & (coverage >= min_coverage * len(chosen)))
        if len(keep) == 0:  # cannot happen (the core's columns are pure), but be safe
            keep = np.arange(flank, flank + k)
        first, last = int(keep[0]), int(keep[-1])
        trimmed = counts[first : last + 1]
        consensus = "".join(
            BASES[int(np.argmax(row))] if first + j in set(keep.tolist()) else "N"
            for j, row in enumerate(trimmed)
        )
        offsets = [o + first for o in offsets]
        if absorb:
            # Seqlets shifted off the core share no k-mer with it; those whose hairpin
            # holds the consensus overlapping at least half of it belong here too.
            taken = set(chosen)
            extra = [(i, _consensus_at(found, i, consensus)) for i in left if i not in taken]
            extra = [(i, at) for i, at in extra if at is not None]
            for i, at in extra:
                sequence = found.sequences[found.seqlets[i].hairpin]
                for column, base in enumerate(sequence[at : at + len(consensus)]):
                    if base in BASES:
                        trimmed[column, BASES.index(base)] += 1
            order = sorted([*zip(chosen, offsets, strict=True), *extra])
            chosen, offsets = [i for i, _ in order], [at for _, at in order]
        out.append((core, chosen, offsets, trimmed, consensus))
        left = [i for i in left if i not in set(chosen)]
    return out


def _consensus_at(found: Seqlets, index: int, consensus: str) -> int | None:
    """Start of the consensus (N matches any base) in the seqlet's hairpin, overlapping the
    seqlet by at least half the consensus, nearest the seqlet's start; None if absent."""
    seqlet = found.seqlets[index]
    sequence = found.sequences[seqlet.hairpin]
    width = len(consensus)
    need = -(-width // 2)
    lo = max(0, seqlet.start - width + need)
    hi = min(len(sequence) - width, seqlet.end - need)
    starts = sorted(range(lo, hi + 1), key=lambda p: (abs(p - seqlet.start), p))
    for p in starts:
        if all(c in ("N", b) for c, b in zip(consensus, sequence[p : p + width], strict=True)):
            return p
    return None


def find_motifs(
    found: Seqlets,
    *,
    k: int = 4,
    flank: int = 3,
    min_support: int = 5,
    min_ic: float = 0.5,
    min_coverage: float = 0.5,
    absorb: bool = True,
    split_regions: bool = True,
    split_signs: bool = True,
) -> Motifs:
    """Cluster seqlets across hairpins into motifs (greedy k-mer seeding, forward strand).

    Within each group (by default: one per region and sign), the k-mer present in most
    seqlets seeds a motif; every seqlet holding it is aligned on its first occurrence and
    its hairpin's nucleotides from ``flank`` before to ``flank`` after the k-mer are counted;
    edge columns under ``min_ic`` bits, or outside the seqlets of ``min_coverage`` of the
    members, are trimmed; with ``absorb``, the group's other seqlets whose hairpin holds the
    consensus across them join too. Its seqlets are then removed and the
    next k-mer seeds the next motif, until none is found in ``min_support`` seqlets.
    Reverse complements are never matched: in a hairpin the two arms of the stem are
    reverse complements, and a motif and its partner on the other arm are different
    sequence features to a model that reads them in different rows of the image.

    Parameters
    ----------
    found : Seqlets
        From :func:`call_seqlets`.
    k : int, optional
        Core length (at most the seqlet width). Default is 4.
    flank : int, optional
        Nucleotides counted either side of the core. Default is 3.
    min_support : int, optional
        Fewest seqlets of a motif. Default is 5.
    min_ic : float, optional
        Bits a column needs to stay at the motif's edges. Default is 0.5.
    min_coverage : float, optional
        Share of the members whose seqlet window must cover a column for it to stay at
        the motif's edges. Default is 0.5.
    absorb : bool, optional
        Let the group's other seqlets join a motif when their hairpin holds its consensus
        (N matching any base) overlapping at least half of it: seqlets shifted off the
        core by 2 nt or more share no k-mer with it. Default is True.
    split_regions : bool, optional
        Cluster each region's seqlets apart. Default is True.
    split_signs : bool, optional
        Cluster positive and negative seqlets apart. Default is True.

    Returns
    -------
    Motifs
        Motifs by support; ``assignment`` maps every seqlet to its motif or -1.
    """
    if not 1 <= k <= found.width:
        raise ValueError(f"k must be 1 .. the seqlet width {found.width}, got {k}")
    if flank < 0:
        raise ValueError(f"flank must be >= 0, got {flank}")
    if min_support < 1:
        raise ValueError(f"min_support must be >= 1, got {min_support}")
    groups: dict[tuple, list[int]] = {}
    for i, seqlet in enumerate(found.seqlets):
        key = (seqlet.region if split_regions else "", seqlet.sign if split_signs else 0)
        groups.setdefault(key, []).append(i)
    raw = []
    for key in sorted(groups, key=lambda g: (REGIONS.index(g[0]) if g[0] else -1, -g[1])):
        for core, chosen, offsets, counts, consensus in _cluster(
            groups[key], found, k, flank, min_support, min_ic, min_coverage, absorb
        ):
            raw.append((core, chosen, offsets, counts, consensus))
    raw.sort(key=lambda r: (-len(r[1]), -sum(abs(found.seqlets[i].score) for i in r[1])))
    motifs = []
    assignment = np.full(len(found.seqlets), -1, dtype=np.int64)
    for rank, (core, chosen, offsets, counts, consensus) in enumerate(raw):
        assignment[chosen] = rank
        members = [found.seqlets[i] for i in chosen]
        signs = {s.sign for s in members}
        tally = Counter(s.region for s in members)
        motifs.append(
            Motif(
                name=f"motif_{rank + 1}",
                consensus=consensus,
                core=core,
                counts=counts,
                members=tuple(chosen),
                offsets=tuple(offsets),
                support=len(chosen),
                n_hairpins=len({s.hairpin for s in members}),
                regions={r: tally[r] for r in REGIONS if tally[r]},
                sign=signs.pop() if len(signs) == 1 else 0,
                mean_score=float(np.mean([s.score for s in members])),
            )
        )
    return Motifs(tuple(motifs), assignment)
