"""Sequence and dot-bracket rules: what a valid record is, its base pairs and its regions.

This is the first stage of mirnamap: every other module takes these rules from here, so a
record is judged the same way when it is folded, read from a TSV, drawn or explained.

* A **sequence** is RNA or DNA in any case, read upper-case with T as U
  (:func:`normalise_sequence`); only A, C, G, U and T are allowed.
* A **structure** is a dot-bracket string of ``(``, ``)`` and ``.`` whose brackets are
  balanced (:func:`check_structure`).
* A **record** is a sequence and a structure of the same length (:func:`check_record`).

Errors are :class:`StructureError` (a :class:`ValueError`) naming the 1-based position and
the character at fault.

>>> check_record("gggaaauccc", "((((..))))")
('GGGAAAUCCC', '((((..))))')
>>> check_structure("(((...))")
Traceback (most recent call last):
    ...
mirnamap.structure.StructureError: unbalanced structure: '(' at position 1 is never closed
>>> pair_table("((..)).").tolist()
[5, 4, -1, -1, 1, 0, -1]
>>> regions("..(((...))).")
array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4], dtype=int8)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

__all__ = [
    "MAX_LENGTH",
    "REGIONS",
    "StructureError",
    "as_string_list",
    "check_record",
    "check_structure",
    "normalise_sequence",
    "outermost_pair",
    "pair_table",
    "regions",
    "terminal_loop",
]

#: Region names, in the order of the codes :func:`regions` returns (0 .. 4).
REGIONS = ("5' tail", "5' arm", "terminal loop", "3' arm", "3' tail")

#: The longest sequence a record may have. The 25 x 100 image holds at most two
#: nucleotides a column (200 nt; a longer record is drawn cut at column 100), and a pre-miRNA
#: hairpin is 60-120 nt: a record of thousands of nucleotides (a whole transcript) is no
#: hairpin of this image, and folding it, or mutating it for ``ism``, would take hours.
MAX_LENGTH = 1000

_SEQUENCE_CHARS = frozenset("ACGU")
_STRUCTURE_CHARS = frozenset("().")
_HAIRPIN_LOOP = re.compile(r"\(\.+\)")


class StructureError(ValueError):
    """A sequence, structure or record that breaks the rules of this module."""


def as_string_list(values: Iterable[str], what: str = "sequences") -> list[str]:
    """The records of ``values`` as a list, refusing a single str.

    A str is itself an iterable of one-letter strings, so ``fold("GGGAAACCC")`` would
    otherwise quietly become nine one-nucleotide records.

    Parameters
    ----------
    values : iterable of str
        N records (sequences, structures or ids); the items are not checked here.
    what : str, optional
        Name used in the error message. Default is "sequences".

    Returns
    -------
    list
        The N items, in order.

    Raises
    ------
    TypeError
        If ``values`` is a str (or bytes) rather than an iterable of them.

    Examples
    --------
    >>> as_string_list(("GGGAAACCC",))
    ['GGGAAACCC']
    >>> as_string_list("GGGAAACCC")
    Traceback (most recent call last):
        ...
    TypeError: sequences must be an iterable of str (one per record), got a single str; wrap one record in a list
    """  # noqa: E501
    if isinstance(values, str | bytes):
        raise TypeError(
            f"{what} must be an iterable of str (one per record), got a single "
            f"{type(values).__name__}; wrap one record in a list"
        )
    return list(values)


def normalise_sequence(sequence: str) -> str:
    """Upper-case a sequence, turn T into U, and check it is non-empty ACGU.

    Surrounding white space is removed.

    Parameters
    ----------
    sequence : str
        An RNA or DNA sequence of length L.

    Returns
    -------
    str
        The normalised sequence (length L once stripped).

    Raises
    ------
    StructureError
        If ``sequence`` is not a str, is empty, longer than :data:`MAX_LENGTH`, or holds
        anything but A, C, G, U or T (any case); the message names the first bad character
        and its 1-based position.

    Examples
    --------
    >>> normalise_sequence("acgt")
    'ACGU'
    >>> normalise_sequence("ACGN")
    Traceback (most recent call last):
        ...
    mirnamap.structure.StructureError: invalid character 'N' at position 4 (only A, C, G, U or T allowed)
    """  # noqa: E501
    if not isinstance(sequence, str):
        raise StructureError(f"sequence must be str, got {type(sequence).__name__}")
    clean = sequence.strip().upper().replace("T", "U")
    if not clean:
        raise StructureError("empty sequence")
    if len(clean) > MAX_LENGTH:
        raise StructureError(
            f"{len(clean)} nt, longer than the {MAX_LENGTH} nt a record may have (the image "
            "draws at most 200; cut the hairpin out of its transcript first)"
        )
    for position, char in enumerate(clean):
        if char not in _SEQUENCE_CHARS:
            raise StructureError(
                f"invalid character {char!r} at position {position + 1} "
                "(only A, C, G, U or T allowed)"
            )
    return clean


def pair_table(structure: str) -> np.ndarray:
    """The partner of each position of a dot-bracket structure.

    Parameters
    ----------
    structure : str
        Dot-bracket structure of length L (``(``, ``)`` and ``.`` only).

    Returns
    -------
    numpy.ndarray
        ``int64 (L,)``: the 0-based partner of each position, -1 where unpaired.

    Raises
    ------
    StructureError
        If another character occurs or the brackets are unbalanced; the message names the
        1-based position of the character or of the unmatched bracket.

    Examples
    --------
    >>> pair_table("((..)).").tolist()
    [5, 4, -1, -1, 1, 0, -1]
    >>> pair_table("(.))")
    Traceback (most recent call last):
        ...
    mirnamap.structure.StructureError: unbalanced structure: ')' at position 4 closes nothing
    """
    if not isinstance(structure, str):
        raise StructureError(f"structure must be str, got {type(structure).__name__}")
    partner = np.full(len(structure), -1, dtype=np.int64)
    stack: list[int] = []
    for i, c in enumerate(structure):
        if c == "(":
            stack.append(i)
        elif c == ")":
            if not stack:
                raise StructureError(
                    f"unbalanced structure: ')' at position {i + 1} closes nothing"
                )
            j = stack.pop()
            partner[i], partner[j] = j, i
        elif c != ".":
            raise StructureError(
                f"invalid structure character {c!r} at position {i + 1} "
                "(only '(', ')' or '.' allowed)"
            )
    if stack:
        raise StructureError(
            f"unbalanced structure: '(' at position {stack[-1] + 1} is never closed"
        )
    return partner


def check_structure(structure: str) -> str:
    """Check that a dot-bracket structure is well formed.

    Surrounding white space is removed; an empty structure is well formed.

    Parameters
    ----------
    structure : str
        Dot-bracket structure.

    Returns
    -------
    str
        The structure without surrounding white space.

    Raises
    ------
    StructureError
        If it is not a str, holds a character other than ``(``, ``)`` and ``.``, or its
        brackets are unbalanced (the 1-based position is named).

    Examples
    --------
    >>> check_structure("((..)). ")
    '((..)).'
    >>> check_structure("(x)")
    Traceback (most recent call last):
        ...
    mirnamap.structure.StructureError: invalid structure character 'x' at position 2 (only '(', ')' or '.' allowed)
    """  # noqa: E501
    if not isinstance(structure, str):
        raise StructureError(f"structure must be str, got {type(structure).__name__}")
    structure = structure.strip()
    pair_table(structure)
    return structure


def check_record(sequence: str, structure: str) -> tuple[str, str]:
    """Check that a sequence and its dot-bracket structure make a valid record.

    The one validator of mirnamap: folding results read from a file, the encoder and the
    explainers all accept exactly the records it accepts.

    Parameters
    ----------
    sequence : str
        RNA or DNA sequence of length L (see :func:`normalise_sequence`).
    structure : str
        Dot-bracket structure of length L (see :func:`check_structure`).

    Returns
    -------
    (sequence, structure) : tuple of str
        The sequence normalised (upper-case, T -> U) and both stripped of surrounding
        white space.

    Raises
    ------
    StructureError
        If either is not a str, the sequence is empty or holds a letter other than
        A, C, G, U or T, the structure is not well formed, or the lengths differ (checked
        in this order).

    Examples
    --------
    >>> check_record("gggaaaccc", "(((...)))")
    ('GGGAAACCC', '(((...)))')
    >>> check_record("GGGAAACCC", "((...))")
    Traceback (most recent call last):
        ...
    mirnamap.structure.StructureError: sequence has 9 nt but structure has 7 characters
    >>> check_record("GGGAAACCC", "(((...))")
    Traceback (most recent call last):
        ...
    mirnamap.structure.StructureError: unbalanced structure: '(' at position 1 is never closed
    """
    if not isinstance(sequence, str) or not isinstance(structure, str):
        raise StructureError(
            f"sequence and structure must be str, got {type(sequence).__name__} "
            f"and {type(structure).__name__}"
        )
    sequence = normalise_sequence(sequence)
    # The brackets first: a missing bracket also changes the length, and its position
    # says more than the length does.
    structure = check_structure(structure)
    if len(sequence) != len(structure):
        raise StructureError(
            f"sequence has {len(sequence)} nt but structure has {len(structure)} characters"
        )
    return sequence, structure


def terminal_loop(structure: str) -> tuple[int, int]:
    """Find the terminal loop: the hairpin loop closest to the middle of the sequence.

    Parameters
    ----------
    structure : str
        Dot-bracket structure of length L.

    Returns
    -------
    (s, e) : tuple of int
        0-based indices of the loop's closing ``(`` and ``)``. Distance to the middle
        ``mid = L // 2`` is ``min(|mid - s|, |mid - (e + 1)|)``; ties go to the leftmost.

    Raises
    ------
    StructureError
        If the structure has no hairpin loop (``(`` then one or more ``.`` then ``)``).

    Examples
    --------
    >>> terminal_loop("((..))..((...))")  # both 2 from mid = 7: the leftmost
    (1, 4)
    """
    mid = len(structure) // 2
    best: tuple[int, int, int] | None = None
    for match in _HAIRPIN_LOOP.finditer(structure):
        s, e = match.start(), match.end() - 1
        distance = min(abs(mid - s), abs(mid - (e + 1)))
        if best is None or distance < best[0]:
            best = (distance, s, e)
    if best is None:
        raise StructureError("structure has no hairpin loop ('(' then '.'s then ')'): no image")
    return best[1], best[2]


def outermost_pair(structure: str) -> tuple[int, int]:
    """The outermost base pair that encloses the terminal loop.

    Parameters
    ----------
    structure : str
        Well-formed dot-bracket structure with a hairpin loop.

    Returns
    -------
    (i, j) : tuple of int
        0-based positions of the pair with the smallest ``i`` such that ``i <= s`` and
        ``j >= e`` for the terminal loop ``(s, e)`` of :func:`terminal_loop`.

    Raises
    ------
    StructureError
        If there is no hairpin loop or the structure is not well formed.

    Examples
    --------
    >>> outermost_pair("((..((...))..))((...))")
    (0, 14)
    """
    partner = pair_table(structure)
    s, e = terminal_loop(structure)
    for i in range(s + 1):
        if partner[i] >= e:
            return i, int(partner[i])
    return s, e  # not reached: (s, e) itself is a pair


def regions(structure: str) -> np.ndarray:
    """Region code of every nucleotide (see :data:`REGIONS`).

    With the terminal loop closed by ``(s, e)`` and the outermost enclosing pair ``(i,
    j)``: 5' tail ``0 .. i-1``, 5' arm ``i .. s``, terminal loop ``s+1 .. e-1``, 3' arm
    ``e .. j``, 3' tail ``j+1 .. L-1``. Arms include their internal loops and bulges.

    Parameters
    ----------
    structure : str
        Well-formed dot-bracket structure of length L with a hairpin loop.

    Returns
    -------
    np.ndarray
        ``int8 (L,)`` codes 0 .. 4.

    Raises
    ------
    StructureError
        If there is no hairpin loop or the structure is not well formed.

    Examples
    --------
    >>> regions("..(((...))).")
    array([0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4], dtype=int8)
    """
    i, j = outermost_pair(structure)
    s, e = terminal_loop(structure)
    codes = np.empty(len(structure), dtype=np.int8)
    codes[:i] = 0
    codes[i : s + 1] = 1
    codes[s + 1 : e] = 2
    codes[e : j + 1] = 3
    codes[j + 1 :] = 4
    return codes
