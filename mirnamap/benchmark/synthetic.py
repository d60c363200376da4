"""Synthetic pre-miRNA-like hairpins whose true explanation is known.

A hairpin is first *designed* (a stem of 18-30 base pairs with bulges and internal loops,
a terminal loop of 4-15 nt and short unpaired tails), then filled with a sequence that
should fold that way, and kept only where ViennaRNA (:func:`mirnamap.fold.fold`) folds it
to exactly the designed dot-bracket. Designs are proposed in batches and folded over
worker processes; rejected ones are simply not used.

Four tasks, each with the ground truth of every hairpin (the nucleotides, or the
per-nucleotide weights, that decide its label):

``motif``
    A planted sequence motif decides the label. Positives carry ``motif`` at an allowed
    start offset of its ``motif_region``; each negative is the *twin* of a positive: the
    same design, with the motif's nucleotides replaced by a random k-mer of the same GC
    count (never the motif). Truth: the motif's nucleotides.
``structure``
    A planted structure feature decides it: a ``bulge_size``-nt bulge on the 5' arm at
    ``bulge_positions`` base pairs from the terminal loop. The negative twin has the same
    nucleotides bulged on the 3' arm at the same place. Truth: the bulged nucleotides.
``interaction``
    Motif AND bulge: positives carry both; negatives carry one, the other or neither
    (in turn). Truth: motif and bulge nucleotides.
``additive``
    A regression label, the Crippen-logP analogue: the sum of known per-nucleotide weights
    (by base, ``base_weights``); the class label is that sum above its median, and the
    signed weights are the truth.

Twins share length, GC content and design; pairs whose minimum free energies differ by
more than ``mfe_tolerance`` are dropped, so negatives are matched on length, GC content and
MFE. A distractor motif is planted in both classes (at the same place in a twin pair) and
is never part of the truth.

>>> data = make_dataset("motif", n_pairs=4, seed=1, workers=1)
>>> len(data), sorted(set(data.labels.tolist()))
(8, [0, 1])
>>> all(data.truth[i].sum() == len(data.params.motif) for i in range(8) if data.labels[i])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from mirnamap.fold import fold

__all__ = ["TASKS", "Design", "SyntheticSet", "TaskParams", "gc_content", "make_dataset"]

#: The task names :func:`make_dataset` knows.
TASKS = ("motif", "structure", "interaction", "additive")

_BASES = np.array(list("ACGU"))
_COMPLEMENT = {"A": "U", "U": "A", "G": "C", "C": "G"}
# Pairs ViennaRNA may form (Watson-Crick and wobble): facing unpaired nucleotides must not.
_CAN_PAIR = frozenset({"AU", "UA", "GC", "CG", "GU", "UG"})
# Unpaired nucleotides lean towards A and U, as in real loops; G least (it pairs with C and U).
_UNPAIRED_P = np.array([0.35, 0.2, 0.15, 0.3])
_REGIONS = ("loop", "stem5", "stem3")


@dataclass(frozen=True)
class TaskParams:
    """Everything that shapes a synthetic task (all lengths in nucleotides or base pairs).

    Attributes
    ----------
    stem_pairs : tuple of int
        Inclusive range of base pairs in the stem. Default is (18, 30).
    loop_length : tuple of int
        Inclusive range of terminal-loop lengths. Default is (4, 15); the motif task
        raises the lower end to fit the motif when it sits in the loop.
    tail_length : tuple of int
        Inclusive range of unpaired nucleotides at each end. Default is (0, 2).
    max_bulges, max_internal_loops : int
        Most random bulges (1-3 nt) and internal loops (1x1 to 3x3) per hairpin, placed
        at least 3 bp apart and 3 bp from the stem's ends. Default is 2 and 2.
    gc : tuple of float
        Range of the stem's GC fraction, drawn per hairpin. Default is (0.35, 0.65).
    motif : str
        The label-deciding motif. Default is "UGUGA" (after the apical UGU motif).
    motif_region : str
        Where it sits: "loop" (terminal loop), "stem5" or "stem3" (paired nucleotides of
        the 5' or 3' arm, partners made complementary). Default is "stem5": in the stem
        every nucleotide paints a bar of similar size, whereas loop nucleotides paint long
        arches, so a motif in the loop is "found" by any map that follows pixel counts.
    motif_positions : tuple of int
        Inclusive range of the motif's start offset inside its region (5' to 3', 0 = the
        region's first nucleotide). Default is (2, 14).
    distractor : str
        A motif planted in both classes. Default is "GAAC"; "" plants none.
    distractor_region : str
        As ``motif_region``, for the distractor. Default is "stem3".
    distractor_positions : tuple of int
        As ``motif_positions``. Default is (2, 14).
    bulge_size : int
        Size of the label-deciding bulge. Default is 2.
    bulge_positions : tuple of int
        Inclusive range of base pairs between the terminal loop and the bulge. Default is
        (4, 10).
    base_weights : tuple of float
        Additive task: weight of A, C, G and U. Default is (1.0, -1.0, 0.5, -0.5).
    mfe_tolerance : float
        Most MFE difference (kcal/mol) within a twin pair. Default is 3.0.
    """

    stem_pairs: tuple[int, int] = (18, 30)
    loop_length: tuple[int, int] = (4, 15)
    tail_length: tuple[int, int] = (0, 2)
    max_bulges: int = 2
    max_internal_loops: int = 2
    gc: tuple[float, float] = (0.35, 0.65)
    motif: str = "UGUGA"
    motif_region: str = "stem5"
    motif_positions: tuple[int, int] = (2, 14)
    distractor: str = "GAAC"
    distractor_region: str = "stem3"
    distractor_positions: tuple[int, int] = (2, 14)
    bulge_size: int = 2
    bulge_positions: tuple[int, int] = (4, 10)
    base_weights: tuple[float, float, float, float] = (1.0, -1.0, 0.5, -0.5)
    mfe_tolerance: float = 3.0
    extra: dict = field(default_factory=dict)

    def check(self) -> TaskParams:
        """Raise ValueError naming the first parameter that makes no sense."""
        for name in (
            "stem_pairs",
            "loop_length",
            "tail_length",
            "motif_positions",
            "distractor_positions",
            "bulge_positions",
            "gc",
        ):
            lo, hi = getattr(self, name)
            if lo > hi or lo < 0:
                raise ValueError(
                    f"{name} must be an increasing range of values >= 0, got {(lo, hi)}"
                )
        if self.stem_pairs[0] < 8:
            raise ValueError(f"stem_pairs must start at >= 8 bp, got {self.stem_pairs}")
        if self.loop_length[0] < 3:
            raise ValueError(f"loop_length must start at >= 3 nt, got {self.loop_length}")
        for name in ("motif", "distractor"):
            value = getattr(self, name)
            if set(value) - set("ACGU") or (name == "motif" and not value):
                raise ValueError(f"{name} must be a non-empty ACGU string, got {value!r}")
        for name in ("motif_region", "distractor_region"):
            if getattr(self, name) not in _REGIONS:
                raise ValueError(f"{name} must be one of {_REGIONS}, got {getattr(self, name)!r}")
        if self.distractor and self.distractor_region == self.motif_region:
            raise ValueError("motif and distractor must sit in different regions")
        if not 1 <= self.bulge_size <= 6:
            raise ValueError(f"bulge_size must be 1..6, got {self.bulge_size}")
        if self.bulge_positions[1] + 4 > self.stem_pairs[0]:
            raise ValueError(
                f"bulge_positions {self.bulge_positions} do not fit a stem of "
                f"{self.stem_pairs[0]} bp (need 4 bp to spare)"
            )
        if len(self.base_weights) != 4:
            raise ValueError(f"base_weights must give A, C, G, U, got {self.base_weights}")
        return self


class Design(NamedTuple):
    """A designed hairpin before its sequence is final.

    Attributes
    ----------
    sequence : list of str
        Per-position bases (mutable while planting).
    structure : str
        The designed dot-bracket.
    partner : np.ndarray
        ``int64 (L,)``: paired position, -1 if unpaired.
    regions : dict of str to np.ndarray
        ``int64`` positions of "loop", "stem5" (paired 5'-arm nucleotides, 5' to 3') and
        "stem3" (paired 3'-arm nucleotides, 5' to 3').
    bulge : np.ndarray
        ``int64`` positions of the task's bulge (empty if none).
    """

    sequence: list[str]
    structure: str
    partner: np.ndarray
    regions: dict[str, np.ndarray]
    bulge: np.ndarray


class SyntheticSet(NamedTuple):
    """N synthetic hairpins, folded as designed, with labels and ground truth.

    Attributes
    ----------
    task : str
        One of :data:`TASKS`.
    ids : tuple of str
        ``"{task}_{group}_{p|n}"`` names.
    sequences, structures : tuple of str
        Sequences and their (designed = MFE) dot-brackets.
    mfe : np.ndarray
        ``float64 (N,)`` minimum free energies, kcal/mol.
    labels : np.ndarray
        ``int64 (N,)``: 1 = positive class, 0 = negative.
    truth : tuple of np.ndarray
        N ``float64 (L_i,)``: 1 on the label-deciding nucleotides (0 elsewhere, all 0 for
        negatives of the set tasks); the signed base weights for ``additive``.
    target : np.ndarray
        ``float64 (N,)``: the additive label's value (sum of weights); 0/1 otherwise.
    distractor : tuple of np.ndarray
        N ``bool (L_i,)``: where the distractor motif was planted.
    group : np.ndarray
        ``int64 (N,)``: twin-pair index (a positive and its negative share it; splits
        should keep a group together).
    params : TaskParams
        The parameters that made the set.
    seed : int
        The seed that made it.
    n_designed : int
        Designs folded to get this set (for the acceptance rate).
    """

    task: str
    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    mfe: np.ndarray
    labels: np.ndarray
    truth: tuple[np.ndarray, ...]
    target: np.ndarray
    distractor: tuple[np.ndarray, ...]
    group: np.ndarray
    params: TaskParams
    seed: int
    n_designed: int

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def lengths(self) -> np.ndarray:
        """``int64 (N,)`` sequence lengths."""
        return np.array([len(s) for s in self.sequences], dtype=np.int64)

    def subset(self, index: Sequence[int] | np.ndarray) -> SyntheticSet:
        """The records at ``index`` (in that order), as a new set."""
        index = np.asarray(index, dtype=np.int64)
        pick = [int(i) for i in index]
        return self._replace(
            ids=tuple(self.ids[i] for i in pick),
            sequences=tuple(self.sequences[i] for i in pick),
            structures=tuple(self.structures[i] for i in pick),
            mfe=self.mfe[index],
            labels=self.labels[index],
            truth=tuple(self.truth[i] for i in pick),
            target=self.target[index],
            distractor=tuple(self.distractor[i] for i in pick),
            group=self.group[index],
        )

    def describe(self) -> dict:
        """Summary figures: sizes, acceptance, and how well the classes are matched."""
        lengths = self.lengths
        gc = np.array([gc_content(s) for s in self.sequences])
        pos, neg = self.labels == 1, self.labels == 0
        return {
            "task": self.task,
            "n": len(self),
            "positives": int(pos.sum()),
            "acceptance": round(len(self) / max(1, self.n_designed), 3),
            "length_mean_pos_neg": [float(lengths[pos].mean()), float(lengths[neg].mean())],
            "gc_mean_pos_neg": [round(float(gc[pos].mean()), 4), round(float(gc[neg].mean()), 4)],
            "mfe_mean_pos_neg": [
                round(float(self.mfe[pos].mean()), 2),
                round(float(self.mfe[neg].mean()), 2),
            ],
        }


def gc_content(sequence: str) -> float:
    """Fraction of G and C in ``sequence`` (0 for an empty one).

    >>> gc_content("GGAU")
    0.5
    """
    return (sequence.count("G") + sequence.count("C")) / len(sequence) if sequence else 0.0


# ------------------------------------------------------------------------- designing


def _draw_unpaired(rng: np.random.Generator, n: int) -> list[str]:
    return list(_BASES[rng.choice(4, size=n, p=_UNPAIRED_P)]) if n else []


def _non_pairing(rng: np.random.Generator, base: str) -> str:
    """An unpaired base that cannot pair with ``base``."""
    while True:
        other = str(_BASES[rng.choice(4, p=_UNPAIRED_P)])
        if other + base not in _CAN_PAIR:
            return other


def _place_defects(
    rng: np.random.Generator, n_pairs: int, count: int, forbidden: set[int]
) -> list[int]:
    """Gap indices (between pair k and k+1) for ``count`` defects, 3 bp apart."""
    allowed = [k for k in range(3, n_pairs - 4) if k not in forbidden]
    rng.shuffle(allowed)
    chosen: list[int] = []
    for k in allowed:
        if len(chosen) == count:
            break
        if all(abs(k - c) >= 3 for c in chosen):
            chosen.append(k)
    return chosen


def _design(
    rng: np.random.Generator,
    params: TaskParams,
    *,
    n_pairs: int,
    loop_min: int,
    bulge_gap: int | None,
) -> Design:
    """Design one hairpin: structure, a sequence that should fold to it, and its regions.

    ``bulge_gap`` puts the task's 5' bulge at that gap index (gap k lies between base
    pair k and k + 1, counted from the outside); random defects keep 3 bp away from it.
    """
    loop_len = int(
        rng.integers(max(loop_min, params.loop_length[0]), max(loop_min, params.loop_length[1]) + 1)
    )
    tail5, tail3 = (
        int(v) for v in rng.integers(params.tail_length[0], params.tail_length[1] + 1, 2)
    )
    gc = float(rng.uniform(*params.gc))

    forbidden: set[int] = set()
    if bulge_gap is not None:
        forbidden.update(range(bulge_gap - 2, bulge_gap + 3))
    n_bulges = int(rng.integers(0, params.max_bulges + 1))
    n_internal = int(rng.integers(0, params.max_internal_loops + 1))
    gaps = _place_defects(rng, n_pairs, n_bulges + n_internal, forbidden)
    defects: dict[int, tuple[int, int]] = {}
    for i, k in enumerate(gaps):
        if i < n_bulges:
            size = int(rng.integers(1, 4))
            defects[k] = (size, 0) if rng.random() < 0.5 else (0, size)
        else:
            a = int(rng.integers(1, 4))
            b = int(np.clip(a + rng.integers(-1, 2), 1, 3))
            defects[k] = (a, b)
    if bulge_gap is not None:
        defects[bulge_gap] = (params.bulge_size, 0)

    # Pair bases: GC fraction gc, no wobble pairs (they make folds ambiguous).
    pair_kind = rng.choice(4, size=n_pairs, p=[gc / 2, gc / 2, (1 - gc) / 2, (1 - gc) / 2])
    pairs = [("GC", "CG", "AU", "UA")[int(t)] for t in pair_kind]

    seq: list[str] = []
    db: list[str] = []
    left_pos = np.zeros(n_pairs, dtype=np.int64)
    gap_left: dict[int, list[int]] = {}
    seq += _draw_unpaired(rng, tail5)
    db += ["."] * tail5
    for k in range(n_pairs):
        left_pos[k] = len(seq)
        seq.append(pairs[k][0])
        db.append("(")
        if k in defects and defects[k][0]:
            gap_left[k] = list(range(len(seq), len(seq) + defects[k][0]))
            seq += _draw_unpaired(rng, defects[k][0])
            db += ["."] * defects[k][0]
    loop = np.arange(len(seq), len(seq) + loop_len, dtype=np.int64)
    seq += _draw_unpaired(rng, loop_len)
    db += ["."] * loop_len
    right_pos = np.zeros(n_pairs, dtype=np.int64)
    gap_right: dict[int, list[int]] = {}
    for k in range(n_pairs - 1, -1, -1):
        right_pos[k] = len(seq)
        seq.append(pairs[k][1])
        db.append(")")
        if k > 0 and (k - 1) in defects and defects[k - 1][1]:
            gap_right[k - 1] = list(range(len(seq), len(seq) + defects[k - 1][1]))
            seq += _draw_unpaired(rng, defects[k - 1][1])
            db += ["."] * defects[k - 1][1]
    seq += _draw_unpaired(rng, tail3)
    db += ["."] * tail3

    # Facing unpaired nucleotides next to a helix end must not pair, or the helix grows.
    for k in set(gap_left) & set(gap_right):
        left, right = gap_left[k], gap_right[k]
        seq[right[-1]] = _non_pairing(rng, seq[left[0]])
        if len(left) > 1 or len(right) > 1:
            seq[right[0]] = _non_pairing(rng, seq[left[-1]])
    seq[int(loop[-1])] = _non_pairing(rng, seq[int(loop[0])])
    if tail5 and tail3:
        seq[len(seq) - tail3] = _non_pairing(rng, seq[tail5 - 1])

    partner = np.full(len(seq), -1, dtype=np.int64)
    partner[left_pos] = right_pos
    partner[right_pos] = left_pos
    bulge = np.array(gap_left.get(bulge_gap, []) if bulge_gap is not None else [], dtype=np.int64)
    regions = {
        "loop": loop,
        # Paired 5'-arm nucleotides from the loop side outwards would be natural for
        # distances, but regions are indexed 5' to 3' like the sequence.
        "stem5": left_pos,
        "stem3": np.sort(right_pos),
    }
    return Design(seq, "".join(db), partner, regions, bulge)


def _plant(design: Design, kmer: str, region: str, start: int) -> np.ndarray:
    """Write ``kmer`` into ``region`` from offset ``start``; complement paired partners."""
    where = design.regions[region][start : start + len(kmer)]
    for position, base in zip(where, kmer, strict=True):
        design.sequence[int(position)] = base
        mate = int(design.partner[position])
        if mate >= 0:
            design.sequence[mate] = _COMPLEMENT[base]
    return where


def _offset(
    rng: np.random.Generator,
    design: Design,
    region: str,
    k: int,
    positions: tuple[int, int],
    avoid: np.ndarray | None = None,
) -> int | None:
    """A start offset for a k-mer in ``region``, or None if none fits.

    The window must be contiguous in the sequence (and, in a stem, one helix: no bulge
    or internal loop inside), and neither it nor its partners may touch ``avoid``.
    """
    region_pos = design.regions[region]
    starts = []
    for s in range(positions[0], min(positions[1], len(region_pos) - k) + 1):
        window = region_pos[s : s + k]
        if window[-1] - window[0] != k - 1:
            continue
        mates = design.partner[window]
        if (mates >= 0).any() and abs(int(mates[0]) - int(mates[-1])) != k - 1:
            continue
        if (
            avoid is not None
            and len(avoid)
            and (np.isin(window, avoid).any() or np.isin(mates, avoid).any())
        ):
            continue
        starts.append(s)
    return int(rng.choice(starts)) if starts else None


def _gc_matched_kmer(rng: np.random.Generator, motif: str) -> str:
    """A random k-mer with the motif's GC count that is not the motif."""
    n_gc = sum(b in "GC" for b in motif)
    while True:
        strong = rng.permutation([True] * n_gc + [False] * (len(motif) - n_gc))
        kmer = "".join(rng.choice(["G", "C"]) if s else rng.choice(["A", "U"]) for s in strong)
        if kmer != motif:
            return kmer


def _count(sequence: str, kmer: str) -> int:
    return sum(sequence.startswith(kmer, i) for i in range(len(sequence) - len(kmer) + 1))


class _Candidate(NamedTuple):
    sequences: tuple[str, str]  # positive, negative (or one record twice for additive)
    structure: str
    truth: np.ndarray  # positive's truth
    distractor: np.ndarray


def _propose(
    rng: np.random.Generator, task: str, params: TaskParams, variant: int
) -> _Candidate | None:
    """One design and its twin, or None if the motifs cannot be placed."""
    motif = params.motif
    use_motif = task in ("motif", "interaction")
    use_bulge = task in ("structure", "interaction")
    loop_min = len(motif) + 2 if use_motif and params.motif_region == "loop" else 0
    if params.distractor and params.distractor_region == "loop":
        loop_min = max(loop_min, len(params.distractor) + 2)
    n_pairs = int(rng.integers(params.stem_pairs[0], params.stem_pairs[1] + 1))
    bulge_gap = None
    if use_bulge:  # gap k lies between pair k and k + 1, counted from the outside
        bulge_gap = n_pairs - 1 - int(rng.integers(*params.bulge_positions, endpoint=True))
    design = _design(rng, params, n_pairs=n_pairs, loop_min=loop_min, bulge_gap=bulge_gap)

    truth = np.zeros(len(design.sequence), dtype=np.float64)
    distractor = np.zeros(len(design.sequence), dtype=bool)
    avoid = design.bulge
    motif_at = None
    if use_motif:
        start = _offset(rng, design, params.motif_region, len(motif), params.motif_positions, avoid)
        if start is None:
            return None
        motif_at = design.regions[params.motif_region][start : start + len(motif)]
    if params.distractor:
        taken = np.concatenate([avoid, motif_at if motif_at is not None else []]).astype(np.int64)
        start_d = _offset(
            rng,
            design,
            params.distractor_region,
            len(params.distractor),
            params.distractor_positions,
            taken,
        )
        if start_d is None:
            return None
        where = _plant(design, params.distractor, params.distractor_region, start_d)
        distractor[where] = True
    if motif_at is not None:
        _plant(
            design,
            motif,
            params.motif_region,
            int(np.flatnonzero(design.regions[params.motif_region] == motif_at[0])[0]),
        )
        truth[motif_at] = 1.0
    if use_bulge:
        truth[design.bulge] = 1.0
    positive = "".join(design.sequence)
    if task == "additive":
        return _Candidate((positive, positive), design.structure, truth, distractor)

    # The negative twin: same design, the deciding part taken away.
    drop_motif = use_motif and (task == "motif" or variant % 3 != 1)
    drop_bulge = use_bulge and (task == "structure" or variant % 3 != 0)
    twin = Design(
        list(design.sequence), design.structure, design.partner, design.regions, design.bulge
    )
    if drop_motif:
        _plant(
            twin,
            _gc_matched_kmer(rng, motif),
            params.motif_region,
            int(np.flatnonzero(design.regions[params.motif_region] == motif_at[0])[0]),
        )
    negative = "".join(twin.sequence)
    structure_neg = design.structure
    if drop_bulge:
        negative, structure_neg = _move_bulge(negative, design)
    if use_motif and (
        _count(positive, motif) != 1 or _count(negative, motif) != (0 if drop_motif else 1)
    ):
        return None
    if params.distractor and (
        positive.count(params.distractor) != 1 or negative.count(params.distractor) != 1
    ):
        return None
    return _Candidate(
        (positive, negative), design.structure + "|" + structure_neg, truth, distractor
    )


def _move_bulge(sequence: str, design: Design) -> tuple[str, str]:
    """Move the 5' bulge to the 3' arm at the same gap: same nucleotides, mirrored place."""
    bulge = design.bulge
    first, size = int(bulge[0]), len(bulge)
    outer_right = int(design.partner[first - 1])  # the pair just outside the bulge
    bases = sequence[first : first + size]
    seq = sequence[:first] + sequence[first + size :]
    db = design.structure[:first] + design.structure[first + size :]
    insert_at = outer_right - size  # positions shifted by the removal
    seq = seq[:insert_at] + bases + seq[insert_at:]
    db = db[:insert_at] + "." * size + db[insert_at:]
    return seq, db


def make_dataset(
    task: str,
    n_pairs: int,
    *,
    params: TaskParams | None = None,
    seed: int = 0,
    workers: int | None = None,
    max_rounds: int = 30,
    progress: bool | None = None,
) -> SyntheticSet:
    """Generate a balanced synthetic set: ``n_pairs`` positives and their negatives.

    Designs are proposed in batches, folded with :func:`mirnamap.fold.fold`, and kept
    only if every member folds to its designed structure (and, for twins, the MFEs are
    within ``params.mfe_tolerance``).

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    n_pairs : int
        Twin pairs to make (2 * n_pairs records); for ``additive``, 2 * n_pairs records
        labelled by the median of their weight sums.
    params : TaskParams, optional
        Default is ``TaskParams()``.
    seed : int, optional
        Seeds every random draw; the same seed gives the same set. Default is 0.
    workers : int, optional
        Folding processes. Default is None: every core.
    max_rounds : int, optional
        Most propose-and-fold rounds before giving up. Default is 30.
    progress : bool, optional
        Show a progress bar. Default is None: on a terminal.

    Returns
    -------
    SyntheticSet
        Positives and negatives interleaved (p, n, p, n, ...), twin pairs sharing a group.

    Raises
    ------
    ValueError
        Unknown task, bad parameters, or too few designs folded as designed.
    """
    from tqdm.auto import tqdm

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)}")
    if n_pairs < 1:
        raise ValueError(f"n_pairs must be >= 1, got {n_pairs}")
    params = (params or TaskParams()).check()
    rng = np.random.default_rng(seed)
    n_wanted = 2 * n_pairs if task == "additive" else n_pairs  # additive records have no twin
    kept: list[tuple[_Candidate, float, float]] = []
    n_designed = 0
    acceptance = 0.5
    bar = tqdm(
        total=n_wanted,
        desc=f"designing {task} hairpins",
        unit="pair",
        disable=False if progress else None if progress is None else True,
    )
    try:
        for _ in range(max_rounds):
            need = n_wanted - len(kept)
            if need <= 0:
                break
            batch = []
            target = int(np.ceil(need / max(acceptance, 0.05) * 1.2)) + 4
            tries = 0
            while len(batch) < target and tries < 20 * target:
                tries += 1
                candidate = _propose(rng, task, params, variant=len(kept) + len(batch))
                if candidate is not None:
                    batch.append(candidate)
            n_designed += len(batch)
            flat = [
                s for c in batch for s in (c.sequences if task != "additive" else c.sequences[:1])
            ]
            folds = fold(flat, workers=workers, progress=False)
            step = 1 if task == "additive" else 2
            accepted = 0
            for i, candidate in enumerate(batch):
                got = folds[i * step : (i + 1) * step]
                wanted = candidate.structure.split("|")
                if any(f.structure != w for f, w in zip(got, wanted, strict=False)):
                    continue
                if step == 2 and abs(got[0].mfe - got[1].mfe) > params.mfe_tolerance:
                    continue
                accepted += 1
                if len(kept) < n_wanted:
                    kept.append((candidate, got[0].mfe, got[-1].mfe))
                    bar.update(1)
            acceptance = max(accepted / max(1, len(batch)), 0.02)
    finally:
        bar.close()
    if len(kept) < n_wanted:
        raise ValueError(
            f"{task}: only {len(kept)} of {n_wanted} designs folded as designed after "
            f"{max_rounds} rounds ({n_designed} designs); loosen the parameters"
        )
    return _assemble(task, kept, params, seed, n_designed)


def _assemble(
    task: str,
    kept: list[tuple[_Candidate, float, float]],
    params: TaskParams,
    seed: int,
    n_designed: int,
) -> SyntheticSet:
    ids, sequences, structures, mfe, labels, truth, target, distractor, group = (
        [] for _ in range(9)
    )
    if task == "additive":
        weights = dict(zip("ACGU", params.base_weights, strict=True))
        for g, (candidate, energy, _) in enumerate(kept):
            sequence = candidate.sequences[0]
            w = np.array([weights[b] for b in sequence], dtype=np.float64)
            ids.append(f"{task}_{g}")
            sequences.append(sequence)
            structures.append(candidate.structure)
            mfe.append(energy)
            truth.append(w)
            target.append(float(w.sum()))
            distractor.append(candidate.distractor)
            group.append(g)
        # Two records per pair were asked for: the additive set has no twins, so the
        # label is the weight sum above its median (balanced by construction).
        values = np.asarray(target)
        labels = list((values > np.median(values)).astype(np.int64))
    else:
        for g, (candidate, energy_pos, energy_neg) in enumerate(kept):
            pos_struct, neg_struct = candidate.structure.split("|")
            for label, sequence, structure, energy in (
                (1, candidate.sequences[0], pos_struct, energy_pos),
                (0, candidate.sequences[1], neg_struct, energy_neg),
            ):
                ids.append(f"{task}_{g}_{'p' if label else 'n'}")
                sequences.append(sequence)
                structures.append(structure)
                mfe.append(energy)
                labels.append(label)
                truth.append(candidate.truth.copy() if label else np.zeros(len(sequence)))
                target.append(float(label))
                if label or candidate.structure.split("|")[0] == neg_struct:
                    distractor.append(candidate.distractor.copy())
                else:  # the bulge moved: the distractor's positions moved with it
                    distractor.append(np.array([c == "D" for c in _track(candidate, sequence)]))
                group.append(g)
    return SyntheticSet(
        task=task,
        ids=tuple(ids),
        sequences=tuple(sequences),
        structures=tuple(structures),
        mfe=np.asarray(mfe, dtype=np.float64),
        labels=np.asarray(labels, dtype=np.int64),
        truth=tuple(truth),
        target=np.asarray(target, dtype=np.float64),
        distractor=tuple(distractor),
        group=np.asarray(group, dtype=np.int64),
        params=params,
        seed=seed,
        n_designed=n_designed,
    )


def _track(candidate: _Candidate, negative: str) -> str:
    """Distractor positions of a negative whose bulge moved: find the k-mer again."""
    marks = ["."] * len(negative)
    kmer_len = int(candidate.distractor.sum())
    if kmer_len:
        positive = candidate.sequences[0]
        kmer = positive[int(np.flatnonzero(candidate.distractor)[0]) :][:kmer_len]
        at = negative.find(kmer)
        for i in range(at, at + kmer_len):
            marks[i] = "D"
    return "".join(marks)
