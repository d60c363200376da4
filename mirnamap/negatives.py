"""Hard negatives: coding-like pseudo-hairpins, and the negatives an ensemble finds hardest.

The negatives a DeepMir ensemble gets wrong most are hairpin-shaped windows of coding
sequence (issue 24). This module makes more of them, in the way of the classic
pseudo-hairpin sets (Xue et al. 2005): sequences drawn from a k-th order Markov model of
given negatives (:func:`fit_markov`, :func:`sample_markov`), folded by ViennaRNA, and kept
when they pass the pseudo-hairpin criteria (:func:`passes_pseudo_hairpin_criteria`: at
least 18 base pairs, MFE at most -15 kcal/mol, a single hairpin loop and so no multiloop).
:func:`pseudo_hairpins` ties the three together, seeded and with bounded work.

Ref. Xue, Li, Li, Liu, Zhao & Zhang 2005, BMC Bioinformatics 6:310 (the criteria).

>>> passes_pseudo_hairpin_criteria(Fold("x", "G" * 20 + "AAAA" + "C" * 20,
...                                     "(" * 20 + "...." + ")" * 20, -40.0))
True
>>> passes_pseudo_hairpin_criteria(Fold("x", "GGGAAACCC", "(((...)))", -1.0))
False
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from mirnamap.errors import InputWarning
from mirnamap.fold import Fold, fold
from mirnamap.structure import StructureError, normalise_sequence, pair_table

__all__ = [
    "ALPHABET",
    "MarkovModel",
    "fit_markov",
    "hardest_negatives",
    "kmer_frequencies",
    "passes_pseudo_hairpin_criteria",
    "pseudo_hairpins",
    "sample_markov",
]

#: The letters of every model, in this order.
ALPHABET = "ACGU"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
#: Sequences drawn and folded at a time by :func:`pseudo_hairpins` (fixed, so the records
#: kept never depend on the number of workers).
_BATCH = 256


class MarkovModel(NamedTuple):
    """A k-th order Markov model of RNA sequences (:func:`fit_markov`).

    Attributes
    ----------
    order : int
        k: each letter depends on the k before it.
    initial : np.ndarray
        ``float64 (4**k,)``: probability of each k-mer (in :data:`ALPHABET` order, the
        first letter most significant) as a sequence's start.
    transitions : np.ndarray
        ``float64 (4**k, 4)``: probability of the next letter after each k-mer; rows
        sum to 1.
    """

    order: int
    initial: np.ndarray
    transitions: np.ndarray


def _codes(sequence: str) -> np.ndarray | None:
    """The letters of a sequence as 0..3, or None if it has another letter."""
    try:
        clean = normalise_sequence(sequence)
    except (ValueError, TypeError):
        return None
    return np.fromiter((_INDEX[c] for c in clean), dtype=np.int64, count=len(clean))


def fit_markov(
    sequences: Iterable[str], *, order: int = 3, pseudocount: float = 1.0
) -> MarkovModel:
    """Fit a k-th order Markov model to sequences by counting.

    Parameters
    ----------
    sequences : iterable of str
        Training sequences (RNA or DNA, any case); those with letters other than ACGU/T,
        or shorter than ``order + 1``, are skipped.
    order : int, optional
        k >= 0. Default is 3.
    pseudocount : float, optional
        Added to every count (>= 0), so no transition has probability 0. Default is 1.

    Returns
    -------
    MarkovModel

    Raises
    ------
    ValueError
        If ``order`` or ``pseudocount`` is out of range, or no sequence could be used.

    >>> model = fit_markov(["ACGUACGU"], order=1, pseudocount=0.0)
    >>> model.transitions[_INDEX["A"]].tolist()  # A is always followed by C
    [0.0, 1.0, 0.0, 0.0]
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"order must be an integer >= 0, got {order!r}")
    if not pseudocount >= 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
    if isinstance(sequences, str):
        raise TypeError("sequences must be an iterable of str, not one str")
    size = 4**order
    initial = np.zeros(size)
    transitions = np.zeros((size, 4))
    weights = 4 ** np.arange(order - 1, -1, -1, dtype=np.int64)  # first letter most significant
    used = 0
    for sequence in sequences:
        codes = _codes(sequence)
        if codes is None or codes.size < order + 1:
            continue
        used += 1
        # Every k-mer's index at once: a sliding window of the letters, read in base 4.
        windows = np.lib.stride_tricks.sliding_window_view(codes, order)[:-1] if order else None
        contexts = windows @ weights if order else np.zeros(codes.size, dtype=np.int64)
        initial[contexts[0]] += 1
        np.add.at(transitions, (contexts, codes[order:]), 1)
    if not used:
        raise ValueError(f"no sequence to fit a Markov model of order {order} to")
    initial += pseudocount
    transitions += pseudocount
    initial /= initial.sum()
    totals = transitions.sum(axis=1, keepdims=True)
    # A context never seen (possible with pseudocount 0) draws its next letter uniformly.
    transitions = np.divide(transitions, totals, out=np.full_like(transitions, 0.25),
                            where=totals > 0)  # fmt: skip
    return MarkovModel(int(order), initial, transitions)


def sample_markov(model: MarkovModel, length: int, rng: np.random.Generator) -> str:
    """Draw one sequence of ``length`` nt (>= the model's order) from a Markov model.

    >>> model = fit_markov(["ACGUACGUACGU"], order=2, pseudocount=0.0)
    >>> sample_markov(model, 8, np.random.default_rng(0))
    'ACGUACGU'
    """
    k = model.order
    if length < max(k, 1):
        raise ValueError(f"length must be >= {max(k, 1)} for a model of order {k}, got {length}")
    letters = np.empty(length, dtype=np.int64)
    uniform = rng.random(length)
    start = int(np.searchsorted(np.cumsum(model.initial), uniform[0] * model.initial.sum()))
    start = min(start, model.initial.size - 1)
    for position in range(k):  # the start k-mer, first letter most significant
        letters[position] = (start // 4 ** (k - 1 - position)) % 4
    cumulative = np.cumsum(model.transitions, axis=1)
    context = start
    first = k if k else 0
    for position in range(first, length):
        row = cumulative[context]
        letter = min(int(np.searchsorted(row, uniform[position] * row[-1], side="right")), 3)
        letters[position] = letter
        context = (context * 4 + letter) % (4**k) if k else 0
    return "".join(ALPHABET[c] for c in letters)


def kmer_frequencies(sequences: Iterable[str], k: int) -> np.ndarray:
    """``float64 (4**k,)``: the share of each k-mer among all k-mers of the sequences
    (:data:`ALPHABET` order, the first letter most significant); sequences with other
    letters are skipped.

    >>> kmer_frequencies(["AACC"], 1).tolist()
    [0.5, 0.5, 0.0, 0.0]
    """
    counts = np.zeros(4**k)
    weights = 4 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    for sequence in sequences:
        codes = _codes(sequence)
        if codes is None or codes.size < k:
            continue
        np.add.at(counts, np.lib.stride_tricks.sliding_window_view(codes, k) @ weights, 1)
    total = counts.sum()
    return counts / total if total else counts


def passes_pseudo_hairpin_criteria(
    record: Fold, *, min_pairs: int = 18, max_mfe: float = -15.0
) -> bool:
    """Whether a folded record is a pseudo-hairpin by the classic criteria.

    At least ``min_pairs`` base pairs, an MFE of at most ``max_mfe`` kcal/mol, and a single
    hairpin loop. One hairpin loop means one stem (with its bulges and internal loops):
    a multiloop, or two stems side by side, ends in two hairpin loops or more.

    Parameters
    ----------
    record : Fold
        A result of :func:`mirnamap.fold.fold`; one not folded fails.
    min_pairs : int, optional
        Default is 18.
    max_mfe : float, optional
        Default is -15.0.

    Returns
    -------
    bool
    """
    if record.structure is None or not record.ok or not record.mfe <= max_mfe:
        return False
    try:
        partner = pair_table(record.structure)
    except StructureError:
        return False
    n_pairs = int((partner >= 0).sum()) // 2
    if n_pairs < min_pairs:
        return False
    # A hairpin loop is a pair (i, j) closing only unpaired positions: '(' '.'+ ')'.
    structure = record.structure
    n_loops = sum(
        1 for i, j in enumerate(partner) if j > i + 1 and structure[i + 1 : j].strip(".") == ""
    )
    return n_loops == 1


def pseudo_hairpins(
    negatives: Iterable[str] | MarkovModel,
    n: int,
    *,
    order: int = 3,
    length: tuple[int, int] = (60, 110),
    min_pairs: int = 18,
    max_mfe: float = -15.0,
    seed: int = 0,
    max_draws: int | None = None,
    allow_shortfall: bool = False,
    workers: int | None = None,
) -> list[Fold]:
    """Draw coding-like pseudo-hairpins: Markov-model sequences that fold like hairpins.

    Sequences are drawn from a Markov model of ``negatives`` (:func:`fit_markov`), each of
    a length drawn uniformly from ``length``, in batches of 256, folded
    (:func:`mirnamap.fold.fold`) and kept when they pass
    :func:`passes_pseudo_hairpin_criteria`, until ``n`` are kept. The draws depend on
    ``seed`` only, never on ``workers``.

    Parameters
    ----------
    negatives : iterable of str or MarkovModel
        The sequences whose statistics to copy (e.g. the negatives of
        ``load_deepmirgene("human")``), or a fitted model.
    n : int
        Records wanted (>= 0).
    order : int, optional
        The model's order, when fitted here. Default is 3.
    length : (int, int), optional
        Shortest and longest sequence drawn, inclusive. Default is (60, 110).
    min_pairs, max_mfe : optional
        The criteria. Defaults are 18 and -15.0 kcal/mol.
    seed : int, optional
        Default is 0.
    max_draws : int, optional
        The most sequences drawn and folded. Default is None: ``max(1000, 200 * n)``.
    allow_shortfall : bool, optional
        When ``max_draws`` is reached first, return the records found with an
        :class:`~mirnamap.errors.InputWarning` saying how many are missing. Default is
        False: raise.
    workers : int, optional
        Folding processes (:func:`mirnamap.fold.fold`). Default is None: every core.

    Returns
    -------
    list of Fold
        ``n`` records (fewer only with ``allow_shortfall``), in draw order, with ids
        ``pseudo_<seed>_<draw>``.

    Raises
    ------
    ValueError
        If an argument is out of range, or fewer than ``n`` records passed within
        ``max_draws`` draws (the message gives the pass rate).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    low, high = (int(v) for v in length)
    model = negatives if isinstance(negatives, MarkovModel) else fit_markov(negatives, order=order)
    if not max(model.order, 1) <= low <= high:
        raise ValueError(f"length must be (low, high) with {max(model.order, 1)} <= low <= high, "
                         f"got {length}")  # fmt: skip
    max_draws = max(1000, 200 * int(n)) if max_draws is None else int(max_draws)
    if max_draws < 1:
        raise ValueError(f"max_draws must be >= 1, got {max_draws}")
    rng = np.random.default_rng(seed)
    kept: list[Fold] = []
    drawn = 0
    while len(kept) < n and drawn < max_draws:
        batch = min(_BATCH, max_draws - drawn)
        lengths = rng.integers(low, high + 1, size=batch)
        sequences = [sample_markov(model, int(size), rng) for size in lengths]
        ids = [f"pseudo_{seed}_{drawn + k}" for k in range(batch)]
        drawn += batch
        for record in fold(sequences, ids=ids, workers=workers, progress=False):
            if len(kept) < n and passes_pseudo_hairpin_criteria(
                record, min_pairs=min_pairs, max_mfe=max_mfe
            ):
                kept.append(record)
    if len(kept) < n:
        message = (f"only {len(kept)} of {n} pseudo-hairpins passed the criteria in {drawn} draws "
                   f"(pass rate {len(kept) / max(drawn, 1):.3f}); raise max_draws or relax "
                   "min_pairs / max_mfe / length")  # fmt: skip
        if not allow_shortfall:
            raise ValueError(message)
        warnings.warn(message, InputWarning, stacklevel=2)
    return kept


def hardest_negatives(
    probabilities: Sequence[float] | np.ndarray,
    labels: Sequence[int] | np.ndarray,
    n: int,
) -> np.ndarray:
    """The ``n`` negatives an ensemble scores highest: a round of hard-negative mining.

    Parameters
    ----------
    probabilities : array-like
        ``float (N,)`` P(pre-miRNA), or ``(M, N)`` of M members (averaged).
    labels : array-like
        ``int (N,)`` 0/1; only the 0s are candidates.
    n : int
        How many (all negatives where there are fewer).

    Returns
    -------
    np.ndarray
        ``int64 (min(n, negatives),)``: indices into the N records, highest score first
        (ties by index).

    >>> hardest_negatives([0.9, 0.2, 0.7, 0.8], [1, 0, 0, 0], 2).tolist()
    [3, 2]
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim == 2:
        p = p.mean(axis=0)
    if p.ndim != 1 or y.shape != p.shape:
        raise ValueError(f"probabilities of shape (N,) or (M, N) and labels (N,) needed, got "
                         f"{np.shape(probabilities)} and {y.shape}")  # fmt: skip
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be an integer >= 0, got {n!r}")
    candidates = np.flatnonzero(y == 0)
    order = np.lexsort((candidates, -p[candidates]))  # score descending, then index
    return candidates[order][:n].astype(np.int64)
