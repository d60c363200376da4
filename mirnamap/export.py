"""Per-nucleotide scores out of mirnamap: a TSV table, VARNA and forna colour inputs.

The TSV has one row per nucleotide: ``id``, ``position`` (1-based), ``nucleotide``,
``structure`` (dot-bracket symbol), then one column per saliency backend. A nucleotide
that paints no pixel (cut off the canvas) has no score: it is written ``NA`` and read
back as NaN, never as 0. :func:`read_tsv` parses the file back into arrays.

>>> import io, numpy as np
>>> buffer = io.StringIO()
>>> write_tsv(buffer, ["x"], ["GGAAACC"], ["((...))"],
...           {"saliency": [np.array([1.0, 2, 3, 4, 5, 6, np.nan])]})
>>> buffer.getvalue().splitlines()[1].split()
['x', '1', 'G', '(', '1']
>>> varna_colormap(np.array([0.5, np.nan, -0.25]))
'0.5;-1;-0.25'
>>> forna_colours(np.array([1.0, np.nan, -1.0]))
'1:#67001f 3:#053061'
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from mirnamap.colours import DIVERGING, symmetric_limit
from mirnamap.files import atomic_write
from mirnamap.structure import REGIONS

if TYPE_CHECKING:
    from mirnamap.project import Projection

__all__ = [
    "MISSING",
    "ScoreTable",
    "forna_colours",
    "read_tsv",
    "varna_arguments",
    "varna_colormap",
    "write_summary",
    "write_tsv",
]

#: How a nucleotide without a score is written in the TSV.
MISSING = "NA"
_FIXED_COLUMNS = ("id", "position", "nucleotide", "structure")


class ScoreTable(NamedTuple):
    """Per-nucleotide scores of N records, as read from a TSV.

    Attributes
    ----------
    ids, sequences, structures : tuple of str
        Per record, in file order.
    scores : dict of str to tuple of np.ndarray
        Per backend column, N ``float64 (L_i,)`` arrays (NaN for ``NA``).
    """

    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    scores: dict[str, tuple[np.ndarray, ...]]


def _format(value: float) -> str:
    return MISSING if math.isnan(value) else f"{value:.9g}"


def write_tsv(
    path: str | os.PathLike[str] | IO[str],
    ids: Sequence[str],
    sequences: Sequence[str],
    structures: Sequence[str],
    scores: Mapping[str, Sequence[npt.ArrayLike]],
    *,
    header: bool = True,
) -> None:
    """Write per-nucleotide scores as a TSV, one row per nucleotide.

    Parameters
    ----------
    path : str, PathLike or text file
        Where to write (a file object is written to and left open).
    ids, sequences, structures : sequence of str
        N records; each structure as long as its sequence.
    scores : mapping of str to sequence of array_like
        Per backend name (a column), N ``float (L_i,)`` arrays; NaN is written ``NA``.
    header : bool, optional
        Write the header line (False: rows to append to a table). Default is True.

    Raises
    ------
    ValueError
        If the lengths disagree (the record and backend are named), or a backend name
        clashes with a fixed column or holds a tab.
    """
    n = len(ids)
    if len(sequences) != n or len(structures) != n:
        raise ValueError(
            f"got {n} ids, {len(sequences)} sequences and {len(structures)} structures"
        )
    columns = list(scores)
    for name in columns:
        if name in _FIXED_COLUMNS or not name or any(c in name for c in "\t\n\r"):
            raise ValueError(f"backend name {name!r} cannot be a TSV column")
        if len(scores[name]) != n:
            raise ValueError(f"backend {name!r} has {len(scores[name])} score arrays for {n} ids")
    arrays = {name: [np.asarray(a, dtype=np.float64) for a in scores[name]] for name in columns}
    for k, (record, sequence, structure) in enumerate(zip(ids, sequences, structures, strict=True)):
        if len(sequence) != len(structure):
            raise ValueError(
                f"record {record!r}: sequence has {len(sequence)} nt, structure "
                f"{len(structure)} characters"
            )
        for name in columns:
            if arrays[name][k].shape != (len(sequence),):
                raise ValueError(
                    f"record {record!r}: backend {name!r} has shape {arrays[name][k].shape}, "
                    f"expected ({len(sequence)},)"
                )
        if any(c in record for c in "\t\n\r"):
            raise ValueError(f"record {record!r}: id holds a tab or line break")

    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        if header:
            writer.writerow([*_FIXED_COLUMNS, *columns])
        for k, (record, sequence, structure) in enumerate(
            zip(ids, sequences, structures, strict=True)
        ):
            for i, (nucleotide, symbol) in enumerate(zip(sequence, structure, strict=True)):
                writer.writerow(
                    [
                        record,
                        i + 1,
                        nucleotide,
                        symbol,
                        *(_format(float(arrays[c][k][i])) for c in columns),
                    ]
                )

    _write_text(path, write)


def read_tsv(path: str | os.PathLike[str]) -> ScoreTable:
    """Read a TSV written by :func:`write_tsv`.

    Raises
    ------
    ValueError
        If a fixed column is missing, a record's positions are not 1, 2, ..., or a score
        is not a number or ``NA`` (the line is named).
    """
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or tuple(header[:4]) != _FIXED_COLUMNS:
            raise ValueError(f"{path}: not a mirnamap score table (header {header})")
        backends = header[4:]
        records: dict[str, tuple[list[str], list[str], list[list[float]]]] = {}
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise ValueError(f"{path}:{line}: {len(row)} fields, expected {len(header)}")
            record, position, nucleotide, symbol, *values = row
            letters, symbols, columns = records.setdefault(record, ([], [], [[] for _ in backends]))
            if position != str(len(letters) + 1):
                raise ValueError(
                    f"{path}:{line}: record {record!r} position {position}, "
                    f"expected {len(letters) + 1}"
                )
            letters.append(nucleotide)
            symbols.append(symbol)
            for column, value in zip(columns, values, strict=True):
                try:
                    column.append(math.nan if value == MISSING else float(value))
                except ValueError:
                    raise ValueError(f"{path}:{line}: score {value!r} is not a number") from None
    ids = tuple(records)
    return ScoreTable(
        ids=ids,
        sequences=tuple("".join(records[r][0]) for r in ids),
        structures=tuple("".join(records[r][1]) for r in ids),
        scores={
            name: tuple(np.array(records[r][2][c], dtype=np.float64) for r in ids)
            for c, name in enumerate(backends)
        },
    )


def varna_colormap(scores: npt.ArrayLike, *, missing: float = -1.0) -> str:
    """VARNA's ``-colorMap`` value: one number per nucleotide, separated by ``;``.

    VARNA has no "no value": a nucleotide without a score gets ``missing``, which
    :func:`varna_arguments` places outside the colour range (grey).

    Parameters
    ----------
    scores : array_like
        ``float (L,)``, NaN for no score.
    missing : float, optional
        Value written for NaN. Default is -1.
    """
    scores = np.asarray(scores, dtype=np.float64)
    return ";".join(f"{missing:.6g}" if np.isnan(v) else f"{v:.6g}" for v in scores)


def varna_arguments(
    sequence: str, structure: str, scores: npt.ArrayLike, *, limit: float | None = None
) -> list[str]:
    """Arguments for VARNA's command line that colour each nucleotide by its score.

    Blue (negative) - white (0) - red (positive) on ``[-limit, limit]``; nucleotides with
    no score are written as ``-2 * limit`` and drawn grey. Use as ``java -cp VARNA.jar
    fr.orsay.lri.varna.applications.VARNAcmd <arguments> -o out.svg``.

    Parameters
    ----------
    sequence, structure : str
        The record (same length L).
    scores : array_like
        ``float (L,)``, NaN for no score.
    limit : float, optional
        Colour range. Default is the largest ``|score|``.

    Returns
    -------
    list of str
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not len(sequence) == len(structure) == scores.shape[0]:
        raise ValueError(
            f"sequence ({len(sequence)}), structure ({len(structure)}) and scores "
            f"({scores.shape[0]}) must have the same length"
        )
    limit = symmetric_limit(scores) if limit is None else float(limit)
    grey = -2.0 * limit
    style = (
        f"{grey:.6g}:#BBBBBB;{-1.0001 * limit:.6g}:#BBBBBB;{-limit:.6g}:#2166AC;"
        f"0:#F7F7F7;{limit:.6g}:#B2182B"
    )
    return [
        "-sequenceDBN",
        sequence,
        "-structureDBN",
        structure,
        "-colorMap",
        varna_colormap(scores, missing=grey),
        "-colorMapStyle",
        style,
        "-colorMapMin",
        f"{grey:.6g}",
        "-colorMapMax",
        f"{limit:.6g}",
    ]


def forna_colours(
    scores: npt.ArrayLike, *, limit: float | None = None, cmap: str = DIVERGING
) -> str:
    """forna's custom-colour text: ``position:#rrggbb`` for every scored nucleotide.

    Positions are 1-based; nucleotides with no score are left out (forna keeps its
    default colour for them).

    Parameters
    ----------
    scores : array_like
        ``float (L,)``, NaN for no score.
    limit : float, optional
        Colour range ``[-limit, limit]``. Default is the largest ``|score|``.
    cmap : str, optional
        Matplotlib colour map. Default is :data:`mirnamap.colours.DIVERGING`.
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    scores = np.asarray(scores, dtype=np.float64)
    limit = symmetric_limit(scores) if limit is None else float(limit)
    colours = colormaps[cmap]
    parts = []
    for i, value in enumerate(scores):
        if np.isnan(value):
            continue
        level = 0.5 + 0.5 * float(np.clip(value / limit, -1.0, 1.0))
        parts.append(f"{i + 1}:{to_hex(colours(level))}")
    return " ".join(parts)


def write_summary(
    path: str | os.PathLike[str] | IO[str],
    ids: Sequence[str],
    probabilities: npt.ArrayLike,
    magnitudes: Mapping[str, Projection],
    structures: Sequence[str],
    *,
    header: bool = True,
) -> None:
    """One row per record: its probability, and per backend where the |saliency| falls.

    Columns: ``id``, ``length``, ``p_pre_mirna``, ``nt_without_pixel`` (nucleotides that
    paint no pixel), then for each backend ``M`` the shares of the whole |map| on the
    nucleotides of each region of :data:`mirnamap.structure.REGIONS` (``M:<region>``), on
    the white background (``M:background``) and on the gap bars (``M:gap``); they sum to
    1. The shares of an all-zero map are written ``NA``.

    Parameters
    ----------
    path : path or text file
        Where to write the TSV.
    ids : sequence of str
        N record ids.
    probabilities : array_like
        ``float (N,)``: P(pre-miRNA) of each record.
    magnitudes : mapping of str to Projection
        Backend name -> :func:`mirnamap.project.project` of ``np.abs(maps)`` (N hairpins).
    structures : sequence of str
        N dot-brackets (the regions come from them).
    header : bool, optional
        Write the header line (False: rows to append to a table). Default is True.

    >>> from mirnamap.encode import encode
    >>> from mirnamap.project import project
    >>> enc = encode(["GGGAAACCC"], ["(((...)))"], ids=["x"])
    >>> maps = np.where(enc.layout >= 0, 1.0, 0.0)  # 1 on every nucleotide pixel
    >>> buffer = io.StringIO()
    >>> write_summary(buffer, ["x"], [0.9], {"m": project(maps, enc.layout, [9])}, ["(((...)))"])
    >>> header, row = buffer.getvalue().splitlines()
    >>> dict(zip(header.split("\\t"), row.split("\\t")))["m:terminal loop"]
    '0.793103'
    """
    from mirnamap.project import region_shares

    ids = list(ids)
    probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if len(probabilities) != len(ids) or len(structures) != len(ids):
        raise ValueError(
            f"{len(ids)} ids, {len(probabilities)} probabilities and {len(structures)} "
            "structures: one of each per record"
        )
    names = ["id", "length", "p_pre_mirna", "nt_without_pixel"]
    columns = []
    for name, projection in magnitudes.items():
        if len(projection) != len(ids):
            raise ValueError(f"{name}: {len(projection)} projections for {len(ids)} records")
        values = region_shares(projection, structures, ids=ids)
        names += [f"{name}:{region}" for region in (*REGIONS, "background", "gap")]
        columns.append(values)
    table = np.column_stack(columns) if columns else np.zeros((len(ids), 0))
    first = next(iter(magnitudes.values()), None)

    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        if header:
            writer.writerow(names)
        for k, record in enumerate(ids):
            writer.writerow(
                [
                    record,
                    len(structures[k]),
                    f"{probabilities[k]:.6f}",
                    MISSING if first is None else int((first.n_pixels[k] == 0).sum()),
                    *(MISSING if np.isnan(v) else f"{v:.6g}" for v in table[k]),
                ]
            )

    _write_text(path, write)


def _write_text(path: str | os.PathLike[str] | IO[str], write: Callable[[IO[str]], None]) -> None:
    """Call ``write`` on an open text file (left open) or on ``path``, written atomically
    (:func:`mirnamap.files.atomic_write`)."""
    if isinstance(path, io.TextIOBase) or hasattr(path, "write"):
        write(path)  # type: ignore[arg-type]
    else:
        with atomic_write(path) as handle:
            write(handle)
