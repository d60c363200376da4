"""Leakage checks: the same hairpin in a training set and a test set.

:func:`overlap` finds the records two sets share, by whatever each record offers:

* **sequence** against sequence: equal once normalised (:func:`normalise`: upper case,
  T read as U, white space removed);
* **strands** of an image against a sequence: both strands read back out of the image's
  colours (:func:`mirnamap.encode.read_strands`; each at least ``min_strand`` nt) occur
  in the sequence. This is how images drawn by another encoder, which carry names and no
  sequences (the DeepMir sets), are matched;
* **image** against image: the same bytes, or the same two strands read back.

A set is a list of sequences, an image array ``(N, 25, 100, 3)``, or anything with
``sequences`` and/or ``images`` attributes (:class:`Hairpins`, an
:class:`~mirnamap.encode.Encoding`, :class:`~mirnamap.datasets.Records`,
:class:`~mirnamap.datasets.ImageSet`); a record with both is matched by both.

>>> found = overlap(["ggGAAAcc", "AUGC"], ["GGGAAACC", "CCCC"])
>>> found.train.tolist(), found.test.tolist(), found.how
([0], [0], ('sequence',))
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MIN_STRAND", "Hairpins", "Overlap", "as_hairpins", "normalise", "overlap"]

#: The fewest nucleotides each strand read back from an image must have for the image to
#: be matched by its strands (fewer identify no hairpin: the canvas cut it off).
MIN_STRAND = 10


def normalise(sequence: str) -> str:
    """A sequence as it is compared: upper case, T as U, no white space.

    >>> normalise(" acgt\\n")
    'ACGU'
    """
    return "".join(str(sequence).split()).upper().replace("T", "U")


class Hairpins(NamedTuple):
    """Records to compare: sequences, images, or both (one of each per record).

    Attributes
    ----------
    sequences : sequence of str or None
        N sequences ("" or None where a record's is not known), or None.
    images : np.ndarray or None
        ``uint8 (N, 25, 100, 3)``, or None.
    """

    sequences: Sequence[str | None] | None = None
    images: np.ndarray | None = None


def as_hairpins(records: Any, what: str = "records") -> Hairpins:
    """Read any set :func:`overlap` takes as :class:`Hairpins` (checked).

    Raises
    ------
    ValueError
        If it is none of the accepted kinds, the images are not ``(N, 25, 100, 3)``, or
        sequences and images differ in number.
    """
    if isinstance(records, Hairpins):
        sequences, images = records
    elif isinstance(records, np.ndarray):
        sequences, images = (None, records) if records.ndim == 4 else (records.tolist(), None)
    elif hasattr(records, "sequences") or hasattr(records, "images"):
        sequences = getattr(records, "sequences", None)
        images = getattr(records, "images", None)
    elif isinstance(records, Sequence) and not isinstance(records, (str, bytes)):
        sequences, images = records, None
    else:
        raise ValueError(
            f"{what}: expected sequences, an image array (N, 25, 100, 3) or records with "
            f"sequences/images, got {type(records).__name__}"
        )
    if images is not None:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:] != (25, 100, 3):
            raise ValueError(f"{what}: images must have shape (N, 25, 100, 3), got {images.shape}")
    if sequences is not None:
        sequences = [s if isinstance(s, str) else ("" if s is None else str(s)) for s in sequences]
        if images is not None and len(sequences) != len(images):
            raise ValueError(f"{what}: {len(sequences)} sequences but {len(images)} images")
    if sequences is None and images is None:
        raise ValueError(f"{what}: neither sequences nor images to compare")
    return Hairpins(sequences, images)


@dataclass(frozen=True, eq=False)
class Overlap:
    """The record pairs two sets share (:func:`overlap`).

    Attributes
    ----------
    train, test : np.ndarray
        ``int64 (P,)``: for each of the P matched pairs, the record's index in each set.
    how : tuple of str
        ``(P,)``: what matched, ``"sequence"``, ``"strands"`` (an image's strands in the
        other's sequence) or ``"image"`` (the same image bytes or strands).
    n_train, n_test : int
        The sizes of the two sets.
    """

    train: np.ndarray
    test: np.ndarray
    how: tuple[str, ...]
    n_train: int
    n_test: int

    def __len__(self) -> int:
        return len(self.how)

    @property
    def train_records(self) -> np.ndarray:
        """``int64``: the training records found in the test set, sorted."""
        return np.unique(self.train)

    @property
    def test_records(self) -> np.ndarray:
        """``int64``: the test records found in the training set, sorted."""
        return np.unique(self.test)

    def summary(self) -> str:
        """One line: how many records of each set are shared, and by what."""
        if not len(self):
            return f"no overlap ({self.n_train} training and {self.n_test} test records)"
        kinds = ", ".join(f"{k} {self.how.count(k)}" for k in sorted(set(self.how)))
        return (
            f"{self.train_records.size} of {self.n_train} training records are in the test "
            f"set ({self.test_records.size} of {self.n_test} test records; pairs by {kinds})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per matched pair: train, test (indices) and how."""
        import pandas as pd

        return pd.DataFrame({"train": self.train, "test": self.test, "how": list(self.how)})


def _strands(images: np.ndarray | None, min_strand: int) -> list[tuple[str, str] | None]:
    """Each image's two strands, or None where one is shorter than ``min_strand``."""
    from mirnamap.encode import read_strands

    if images is None:
        return []
    return [
        (top, bottom) if min(len(top), len(bottom)) >= min_strand else None
        for top, bottom in read_strands(images)
    ]


def _strands_in_sequences(
    strands: list[tuple[str, str] | None], sequences: list[str], k: int
) -> list[tuple[int, int]]:
    """(image, sequence) pairs where both strands of the image occur in the sequence.

    The images are indexed by the first ``k`` letters of their top strand, and each
    sequence's ``k``-mers are looked up, so the cost grows with the total sequence
    length, not with images x sequences.
    """
    by_start: dict[str, list[int]] = defaultdict(list)
    for j, pair in enumerate(strands):
        if pair is not None:
            by_start[pair[0][:k]].append(j)
    found = []
    if not by_start:
        return found
    for i, sequence in enumerate(sequences):
        hits = set()
        for start in range(len(sequence) - k + 1):
            for j in by_start.get(sequence[start : start + k], ()):
                top, bottom = strands[j]  # type: ignore[misc]
                if j not in hits and sequence.startswith(top, start) and bottom in sequence:
                    hits.add(j)
        found += [(j, i) for j in sorted(hits)]
    return found


def overlap(train: Any, test: Any, *, min_strand: int = MIN_STRAND) -> Overlap:
    """The records a training set and a test set share, by sequence and by image.

    Parameters
    ----------
    train, test : sequences, image array, Hairpins or records
        Each set: a list of N sequences, images ``uint8 (N, 25, 100, 3)``, or an object
        with ``sequences`` and/or ``images`` (:class:`Hairpins`, an Encoding, Records,
        an ImageSet). Sequences are compared normalised (:func:`normalise`).
    min_strand : int, optional
        The fewest nucleotides of each strand read back from an image for it to be
        matched by its strands. Default is :data:`MIN_STRAND` (10).

    Returns
    -------
    Overlap
        Every matched (train, test) pair, once per kind of match.

    Raises
    ------
    ValueError
        If a set is of no accepted kind (see :func:`as_hairpins`).
    """
    if min_strand < 1:
        raise ValueError(f"min_strand must be >= 1, got {min_strand}")
    a, b = as_hairpins(train, "train"), as_hairpins(test, "test")
    seq_a = [normalise(s) for s in a.sequences] if a.sequences is not None else None
    seq_b = [normalise(s) for s in b.sequences] if b.sequences is not None else None
    n_a = len(seq_a) if seq_a is not None else len(a.images)  # type: ignore[arg-type]
    n_b = len(seq_b) if seq_b is not None else len(b.images)  # type: ignore[arg-type]
    pairs: list[tuple[int, int, str]] = []

    if seq_a is not None and seq_b is not None:
        where: dict[str, list[int]] = defaultdict(list)
        for j, s in enumerate(seq_b):
            if s:
                where[s].append(j)
        pairs += [(i, j, "sequence") for i, s in enumerate(seq_a) if s for j in where.get(s, ())]

    strands_a, strands_b = _strands(a.images, min_strand), _strands(b.images, min_strand)
    if strands_a and seq_b is not None:
        pairs += [(i, j, "strands") for i, j in _strands_in_sequences(strands_a, seq_b, min_strand)]
    if strands_b and seq_a is not None:
        pairs += [(i, j, "strands") for j, i in _strands_in_sequences(strands_b, seq_a, min_strand)]

    if a.images is not None and b.images is not None:
        keys: dict[Any, list[int]] = defaultdict(list)
        for j, image in enumerate(b.images):
            keys[hashlib.blake2b(np.ascontiguousarray(image).tobytes()).digest()].append(j)
            if strands_b[j] is not None:
                keys[strands_b[j]].append(j)
        for i, image in enumerate(a.images):
            hits = set(
                keys.get(hashlib.blake2b(np.ascontiguousarray(image).tobytes()).digest(), ())
            )
            if strands_a[i] is not None:
                hits.update(keys.get(strands_a[i], ()))
            pairs += [(i, j, "image") for j in sorted(hits)]

    pairs.sort()
    return Overlap(
        train=np.array([p[0] for p in pairs], dtype=np.int64),
        test=np.array([p[1] for p in pairs], dtype=np.int64),
        how=tuple(p[2] for p in pairs),
        n_train=n_a,
        n_test=n_b,
    )
