"""Fold augmentation: each training sequence drawn with more than its one MFE structure.

A sequence's MFE structure is one member of its Boltzmann ensemble, and which one depends
on the energy parameters (RNAfold 2.1.3 drew the published images, ViennaRNA 2.8 draws
ours). :func:`augment_folds` draws each sequence again with structures sampled from its
ensemble (ViennaRNA stochastic backtracking, seeded per sequence) and with its MFE
structures at other temperatures, keeps those the encoder can draw, and says which input
sequence each image came from, so a validation split can keep one sequence's images
together (:func:`group_split`).

Ref. Ding & Lawrence 2003, Nucleic Acids Res. 31:7280 (stochastic sampling); Lorenz et
al. 2011, Algorithms Mol. Biol. 6:26 (ViennaRNA 2).

>>> structures = sample_structures("GGGGAAAACCCCAUAUGGGGAAAACCCC", 3, seed=1)
>>> len(structures), {len(s) for s in structures}
(3, {28})
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import numpy as np

from mirnamap.encode import encode
from mirnamap.errors import Failure
from mirnamap.structure import as_string_list, normalise_sequence
from mirnamap.workers import map_in_workers

__all__ = ["Augmented", "augment_folds", "group_split", "sample_structures"]


class Augmented(NamedTuple):
    """The images of :func:`augment_folds`, M of them from N input sequences.

    Attributes
    ----------
    images : np.ndarray
        ``uint8 (M, 25, 100, 3)``.
    labels : np.ndarray
        ``int8 (M,)``: the label of the sequence each image came from.
    origin : np.ndarray
        ``int64 (M,)``: the index of that sequence in the input (for grouped splits).
    sequences, structures : tuple of str
        ``(M,)``: the sequence (normalised) and the dot-bracket structure drawn.
    kinds : tuple of str
        ``(M,)``: ``"mfe"``, ``"sample"`` or ``"mfe_<T>C"`` (the MFE at T degrees).
    failures : tuple of Failure
        Structures that could not be drawn (``index`` into the structures tried).
    """

    images: np.ndarray
    labels: np.ndarray
    origin: np.ndarray
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    kinds: tuple[str, ...]
    failures: tuple[Failure, ...] = ()

    def __len__(self) -> int:  # the number of images, not of fields
        return int(self.images.shape[0])


def _seed_of(seed: int, index: int) -> int:
    """A 31-bit seed of ViennaRNA's generator for input ``index``: each sequence's samples
    depend on the seed and its position only, not on the order or the workers."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0] & 0x7FFFFFFF)


def sample_structures(
    sequence: str, n: int, *, seed: int = 0, temperature: float | None = None
) -> list[str]:
    """``n`` structures of one sequence sampled from its Boltzmann ensemble.

    ViennaRNA's stochastic backtracking (``fold_compound.pf()`` then ``pbacktrack``), with
    its random number generator seeded by ``RNA.init_rand(seed)``, so the same seed gives
    the same structures.

    Parameters
    ----------
    sequence : str
        RNA or DNA (T read as U).
    n : int
        Structures to draw (>= 0); repeats are possible.
    seed : int, optional
        Default is 0.
    temperature : float, optional
        Degrees Celsius. Default is None: 37.

    Returns
    -------
    list of str
        ``n`` dot-bracket structures of the sequence's length.
    """
    import RNA

    sequence = normalise_sequence(sequence)
    if n <= 0:
        return []
    model = RNA.md()
    model.uniq_ML = 1  # stochastic backtracking needs the unique multiloop decomposition
    if temperature is not None:
        model.temperature = float(temperature)
    compound = RNA.fold_compound(sequence, model)
    _, mfe = compound.mfe()
    compound.exp_params_rescale(mfe)  # keeps the partition function of long sequences finite
    compound.pf()
    RNA.init_rand(int(seed) & 0x7FFFFFFF)
    return [str(s) for s in compound.pbacktrack(int(n))]


def _mfe_at(sequence: str, temperature: float | None) -> str:
    import RNA

    model = RNA.md()
    if temperature is not None:
        model.temperature = float(temperature)
    return str(RNA.fold_compound(sequence, model).mfe()[0])


def _structures_of(
    task: tuple[int, str, int, tuple[float, ...], int, bool],
) -> list[tuple[str, str]]:
    """(kind, structure) for one sequence: its MFE, its MFEs at the temperatures, its samples."""
    index, sequence, samples, temperatures, seed, unique = task
    found = [("mfe", _mfe_at(sequence, None))]
    found += [(f"mfe_{t:g}C", _mfe_at(sequence, t)) for t in temperatures]
    found += [
        ("sample", s) for s in sample_structures(sequence, samples, seed=_seed_of(seed, index))
    ]
    if unique:
        seen: set[str] = set()
        found = [(k, s) for k, s in found if not (s in seen or seen.add(s))]
    return found


def augment_folds(
    sequences: Iterable[str],
    labels: Sequence[int] | np.ndarray,
    *,
    samples: int = 4,
    temperatures: Sequence[float] = (),
    seed: int = 0,
    include_mfe: bool = True,
    unique: bool = True,
    workers: int = 1,
) -> Augmented:
    """Draw every sequence with its MFE structure, sampled structures and other MFEs.

    Per sequence: its MFE structure at 37 C (kept with ``include_mfe``), its MFE at each of
    ``temperatures``, and ``samples`` structures from its Boltzmann ensemble at 37 C
    (:func:`sample_structures`, seeded from ``seed`` and the sequence's index). With
    ``unique``, a structure met twice for a sequence is kept once (the first kind wins,
    so without ``include_mfe`` a sample equal to the MFE structure is dropped too: it
    repeats the image a plain pool already has).
    Structures without a hairpin loop cannot be drawn (:func:`mirnamap.encode.encode`) and
    are listed in ``failures``.

    Parameters
    ----------
    sequences : iterable of str
        N RNA or DNA sequences (only ACGU/T).
    labels : array-like of int
        ``(N,)``.
    samples : int, optional
        Boltzmann samples per sequence. Default is 4.
    temperatures : sequence of float, optional
        Other folding temperatures in degrees Celsius. Default is none.
    seed : int, optional
        Default is 0.
    include_mfe : bool, optional
        Keep the 37 C MFE image (the one a plain pool already has). Default is True.
    unique : bool, optional
        Drop a sequence's repeated structures. Default is True.
    workers : int, optional
        Processes (:func:`mirnamap.workers.map_in_workers`); the result never depends on
        it. Default is 1.

    Returns
    -------
    Augmented
        The images, in input order, with each one's label, origin, structure and kind.

    Raises
    ------
    ValueError
        If the labels do not match the sequences, an argument is out of range, or a
        sequence has letters other than ACGU/T.
    """
    sequences = [normalise_sequence(s) for s in as_string_list(sequences, "sequences")]
    y = np.asarray(labels)
    if y.shape != (len(sequences),):
        raise ValueError(f"{len(sequences)} sequences but labels of shape {y.shape}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 0:
        raise ValueError(f"samples must be an integer >= 0, got {samples!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    temperatures = tuple(float(t) for t in temperatures)
    tasks = [(k, s, int(samples), temperatures, int(seed), bool(unique))
             for k, s in enumerate(sequences)]  # fmt: skip
    if workers == 1:
        per_sequence = [_structures_of(task) for task in tasks]
    else:
        per_sequence = list(map_in_workers(_structures_of, tasks, workers=workers))
    origin, kinds, tried_sequences, tried_structures = [], [], [], []
    for k, found in enumerate(per_sequence):
        for kind, structure in found:
            if kind == "mfe" and not include_mfe:
                continue
            origin.append(k)
            kinds.append(kind)
            tried_sequences.append(sequences[k])
            tried_structures.append(structure)
    ids = [f"{o}:{kind}:{j}" for j, (o, kind) in enumerate(zip(origin, kinds, strict=True))]
    encoding = encode(tried_sequences, tried_structures, ids=ids)
    keep = encoding.index
    origin_array = np.asarray(origin, dtype=np.int64)[keep]
    return Augmented(
        images=encoding.images,
        labels=y[origin_array].astype(np.int8) if keep.size else np.zeros(0, np.int8),
        origin=origin_array,
        sequences=encoding.sequences,
        structures=encoding.structures,
        kinds=tuple(kinds[i] for i in keep),
        failures=encoding.failures,
    )


def group_split(origin: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """``bool (M,)``: a held-out share of the input sequences, with all their images.

    Every image of one origin falls on the same side, so no sequence is in training and
    validation at once.

    >>> group_split(np.array([0, 0, 1, 1, 2]), 0.34, seed=0).tolist()
    [False, False, False, False, True]
    """
    origin = np.asarray(origin)
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    groups = np.unique(origin)
    chosen = np.random.default_rng(seed).permutation(groups)[: round(fraction * groups.size)]
    return np.isin(origin, chosen)
