"""Faithfulness at the sequence level: mutate what the map calls important, refold, re-predict.

For each hairpin, the k nucleotides with the highest ``|score|`` are replaced by another
base (a seeded draw, the same base for a position at every k), the mutant is refolded with
ViennaRNA, redrawn and classified again; the probability of the explained class against k
is the deletion curve (Samek et al. 2017, in sequence space). The same with k random
nucleotides is the control. A faithful map makes the curve fall faster than the control.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mirnamap.benchmark.metrics import deletion_area

if TYPE_CHECKING:
    import keras

__all__ = ["DeletionResult", "deletion_curves", "deletion_mutants", "mutate", "salient_order"]

_BASES = "ACGU"


class DeletionResult(NamedTuple):
    """Deletion curves of N hairpins, for the salient order and the random control.

    Attributes
    ----------
    steps : np.ndarray
        ``int64 (S,)``: nucleotides mutated at each point (starts at 0).
    salient, random : np.ndarray
        ``float64 (N, S)``: probability of the explained class; NaN where the mutant has
        no hairpin loop and cannot be drawn.
    area_salient, area_random : np.ndarray
        ``float64 (N,)``: normalised areas (:func:`~mirnamap.benchmark.metrics.deletion_area`).
    n_undrawable : int
        Mutants that could not be drawn.
    """

    steps: np.ndarray
    salient: np.ndarray
    random: np.ndarray
    area_salient: np.ndarray
    area_random: np.ndarray
    n_undrawable: int


def salient_order(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions by decreasing ``|score|``; ties in random order, NaN (no pixel) last.

    Parameters
    ----------
    scores : np.ndarray
        ``float (L,)`` per-nucleotide scores.

    Returns
    -------
    np.ndarray
        ``int64 (L,)``.
    """
    magnitude = np.abs(np.asarray(scores, dtype=np.float64))
    magnitude = np.where(np.isnan(magnitude), -np.inf, magnitude)
    shuffle = rng.permutation(magnitude.size)
    return shuffle[np.argsort(-magnitude[shuffle], kind="stable")].astype(np.int64)


def mutate(sequence: str, positions: Sequence[int], replacements: Sequence[str]) -> str:
    """Replace the bases at ``positions`` with ``replacements`` (each must differ).

    Raises
    ------
    ValueError
        If a position repeats, lies outside the sequence, or a replacement equals the
        base it replaces.

    >>> mutate("AAAA", [1, 3], ["C", "G"])
    'ACAG'
    """
    chars = list(sequence)
    if len(set(positions)) != len(positions):
        raise ValueError(f"positions repeat: {list(positions)}")
    for position, base in zip(positions, replacements, strict=True):
        if not 0 <= position < len(chars):
            raise ValueError(f"position {position} outside a sequence of {len(chars)} nt")
        if chars[position] == base:
            raise ValueError(f"replacement at {position} equals the base {base!r}")
        chars[position] = base
    return "".join(chars)


def _replacements(sequence: str, rng: np.random.Generator) -> list[str]:
    """For every position a different base, drawn uniformly among the other three."""
    shift = rng.integers(1, 4, size=len(sequence))
    return [_BASES[(_BASES.index(b) + int(s)) % 4] for b, s in zip(sequence, shift, strict=True)]


def deletion_mutants(
    sequences: Sequence[str],
    scores: Sequence[np.ndarray],
    steps: Sequence[int],
    *,
    seed: int = 0,
) -> list[str]:
    """The mutants of a deletion test, before folding.

    Parameters
    ----------
    sequences : sequence of str
        N hairpins.
    scores : sequence of np.ndarray
        N ``float (L_i,)`` per-nucleotide scores (NaN = no pixel, ranked last).
    steps : sequence of int
        S numbers of nucleotides to mutate.
    seed : int, optional
        Seeds the replacement bases, tie-breaking and the random order. Default is 0.

    Returns
    -------
    list of str
        N * 2 * S mutants: for each hairpin, the salient order's S mutants, then the
        random order's S. The mutant at step k differs from its hairpin at exactly k
        positions, and contains the mutations of every smaller step.
    """
    if len(sequences) != len(scores):
        raise ValueError(f"got {len(sequences)} sequences but {len(scores)} score arrays")
    steps = [int(k) for k in steps]
    rng = np.random.default_rng(seed)
    mutants: list[str] = []
    for index, (sequence, score) in enumerate(zip(sequences, scores, strict=True)):
        if len(score) != len(sequence):
            raise ValueError(
                f"hairpin {index}: scores of length {len(score)} for {len(sequence)} nt"
            )
        if max(steps) > len(sequence):
            raise ValueError(f"hairpin {index}: cannot mutate {max(steps)} of {len(sequence)} nt")
        replacements = _replacements(sequence, rng)
        for order in (salient_order(score, rng), rng.permutation(len(sequence))):
            for k in steps:
                chosen = [int(p) for p in order[:k]]
                mutants.append(mutate(sequence, chosen, [replacements[p] for p in chosen]))
    return mutants


def deletion_curves(
    model: keras.Model,
    sequences: Sequence[str],
    scores: Sequence[np.ndarray],
    *,
    target: int = 1,
    steps: Sequence[int] = (0, 1, 2, 3, 4, 6, 8, 10),
    seed: int = 0,
    workers: int | None = None,
) -> DeletionResult:
    """Deletion curves for the salient order and for a random order of nucleotides.

    Parameters
    ----------
    model : keras.Model
        The classifier; only used for prediction.
    sequences : sequence of str
        N hairpins.
    scores : sequence of np.ndarray
        N ``float (L_i,)`` per-nucleotide scores (NaN = no pixel).
    target : int, optional
        The class whose probability is followed. Default is 1.
    steps : sequence of int, optional
        Numbers of mutated nucleotides, increasing from 0. Default is 0-4, 6, 8, 10.
    seed : int, optional
        Seeds replacement bases, tie-breaking and the random control. Default is 0.
    workers : int, optional
        Folding processes. Default is None: every core.

    Returns
    -------
    DeletionResult
    """
    from mirnamap.encode import encode
    from mirnamap.fold import fold
    from mirnamap.model import predict_proba

    steps_arr = np.asarray(steps, dtype=np.int64)
    if (
        steps_arr.ndim != 1
        or steps_arr.size < 2
        or steps_arr[0] != 0
        or (np.diff(steps_arr) <= 0).any()
    ):
        raise ValueError(f"steps must increase from 0 with >= 2 points, got {list(steps)}")
    if len(sequences) != len(scores):
        raise ValueError(f"got {len(sequences)} sequences but {len(scores)} score arrays")
    mutants = deletion_mutants(sequences, scores, steps_arr, seed=seed)
    folds = fold(mutants, workers=workers, progress=False)
    # Undrawable mutants are in encoding.failures and counted below.
    encoding = encode([f.sequence for f in folds], [f.structure or "" for f in folds])
    probabilities = np.full(len(mutants), np.nan)
    if len(encoding):
        p = predict_proba(model, encoding.images).astype(np.float64)
        probabilities[encoding.index] = p if target == 1 else 1.0 - p
    curves = probabilities.reshape(len(sequences), 2, steps_arr.size)
    salient, random = curves[:, 0], curves[:, 1]
    return DeletionResult(
        steps=steps_arr,
        salient=salient,
        random=random,
        area_salient=deletion_area(salient, steps_arr),
        area_random=deletion_area(random, steps_arr),
        n_undrawable=len(mutants) - len(encoding),
    )
