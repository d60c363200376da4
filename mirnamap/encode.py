"""The Cordero et al. hairpin image: a folded RNA drawn as a 25 x 100 RGB picture.

The encoding is that of Cordero, Menkovski & Allmer, "Detection of pre-microRNA with
Convolutional Neural Networks" (bioRxiv 10.1101/840579), written down in
``docs/encoding.md`` and checked bit for bit against images their encoder drew. Besides
the images, :func:`encode` returns the **layout**: for every pixel the sequence position
whose bar paints it, so that a saliency map over pixels can be summed onto nucleotides
(:mod:`mirnamap.project`).

Geometry, in one paragraph: the hairpin is cut at its terminal loop into a top strand
(5' arm and loop) and a bottom strand (3' arm and loop, read from the 3' end), the two
are aligned column by column, and each column becomes a vertical bar in each half that
touches the midline between rows 12 and 13. Column x = 0 lies next to the terminal loop;
the stem runs right towards the two ends. A bar's colour is its nucleotide, its length
says how the column pairs, and unpaired nucleotides get longer bars.

>>> enc = encode(["GGGAAACCC"], ["(((...)))"])
>>> enc.images.shape, enc.images.dtype.name, enc.layout.shape
((1, 25, 100, 3), 'uint8', (1, 25, 100))
>>> int(enc.n_columns[0]), int(enc.n_cut[0])
(6, 0)
>>> [int(p) for p in enc.layout[0, 12, :7]]  # top half, row next to the midline
[5, 4, 3, 2, 1, 0, -1]
>>> [int(p) for p in enc.layout[0, 13, :7]]  # bottom half: the loop mirrored, then the 3' arm
[3, 4, 5, 6, 7, 8, -1]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

import numpy as np

from mirnamap._typing import Images, Layout
from mirnamap.errors import Failure
from mirnamap.files import atomic_write, unique_names
from mirnamap.geometry import HEIGHT, MIDLINE, WIDTH
from mirnamap.structure import StructureError, as_string_list, check_record, terminal_loop

if TYPE_CHECKING:
    from mirnamap.fold import Fold

__all__ = [
    "BACKGROUND",
    "COLORS",
    "GAP",
    "HEIGHT",
    "WIDTH",
    "EncodeError",
    "Encoding",
    "Failure",
    "encode",
    "encode_folds",
    "encode_one",
    "load_encoding",
    "read_strands",
    "save_encoding",
    "save_pngs",
]

#: Layout value of a white background pixel (painted by no nucleotide).
BACKGROUND = -1
#: Layout value of a black pixel painted for a gap in the alignment (no nucleotide).
GAP = -2

#: RGB colour of each nucleotide; a gap bar is black.
COLORS: dict[str, tuple[int, int, int]] = {
    "A": (255, 255, 0),
    "C": (0, 0, 255),
    "G": (255, 0, 0),
    "U": (0, 255, 0),
}
_BLACK = len(COLORS)
_WHITE = _BLACK + 1
# Symbol ("-" for a gap) -> colour index into the palette.
_COLOR_INDEX = {**{symbol: i for i, symbol in enumerate(COLORS)}, "-": _BLACK}
# Colour index -> RGB: A, C, G, U, black (gap), white (background).
_PALETTE_WHITE = np.array([*COLORS.values(), (0, 0, 0), (255, 255, 255)], dtype=np.uint8)

# Base bar length P of a column from its two symbols (top, bottom), before extra length.
_PAIR_LENGTH = {"GC": 1, "CG": 1, "AU": 2, "UA": 2, "GU": 3, "UG": 3}


class EncodeError(StructureError):
    """A record that cannot be drawn (bad input or no hairpin loop); a ValueError."""


class Encoding(NamedTuple):
    """Images and their layout for the ``M`` records that could be drawn.

    Every input record is either here (``index`` gives its position in the input) or in
    ``failures`` with the reason; none is dropped.

    Attributes
    ----------
    images : np.ndarray
        ``uint8 (M, 25, 100, 3)`` RGB images, white background.
    layout : np.ndarray
        ``int16 (M, 25, 100)``: the 0-based sequence position whose bar paints each pixel;
        :data:`BACKGROUND` (-1) for white pixels, :data:`GAP` (-2) for the black bar of a
        gap. Terminal-loop nucleotides paint pixels in both halves.
    columns : np.ndarray
        ``int16 (M, 100, 2)``: for every image column the sequence position shown in the
        top (``[..., 0]``) and bottom (``[..., 1]``) half; :data:`GAP` for a gap and
        :data:`BACKGROUND` for an unused column.
    n_columns : np.ndarray
        ``int16 (M,)``: columns of the alignment, on the canvas or not.
    n_cut : np.ndarray
        ``int16 (M,)``: columns that fell off the canvas (``max(0, n_columns - 100)``).
    n_off_canvas : np.ndarray
        ``int16 (M,)``: nucleotides that paint no pixel (cut off, or left over when one
        strand is longer than the other).
    index : np.ndarray
        ``int64 (M,)``: position of each encoded record in the input.
    ids, sequences, structures : tuple of str
        Per encoded record; sequences upper-cased with T turned into U.
    failures : tuple of Failure
        The records that could not be drawn, in input order.
    """

    images: Images
    layout: Layout
    columns: np.ndarray
    n_columns: np.ndarray
    n_cut: np.ndarray
    n_off_canvas: np.ndarray
    index: np.ndarray
    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    failures: tuple[Failure, ...]

    def __len__(self) -> int:  # the number of images, not of fields
        return int(self.images.shape[0])


def _extra_lengths(unpaired: list[bool]) -> list[int]:
    """Extra bar length of the columns of one half, in image order.

    ``unpaired`` covers all columns (on the canvas or not). For an unpaired column x,
    l and r are the nearest columns left and right that are not unpaired (-1 and ncols
    if none), D = l + r + 1, M = D // 2, q = x - l, and the extra length is 2q if
    q <= M else 2 max(0, D - q + 1). D is kept as the original encoder has it. Columns
    that are not unpaired get 0.
    """
    ncols = len(unpaired)
    extra = [0] * ncols
    x = 0
    while x < ncols:
        if not unpaired[x]:
            x += 1
            continue
        start = x
        while x < ncols and unpaired[x]:
            x += 1
        # A run of unpaired columns start..x-1, bounded by l = start - 1 and r = x.
        left = start - 1
        d = left + x + 1
        half = d // 2
        for column in range(start, x):
            q = column - left
            extra[column] = 2 * q if q <= half else 2 * max(0, d - q + 1)
    return extra


# Base bar length P of a column from its (top, bottom) symbols, "-" for a gap: 1 against
# a gap, else 1 for G-C, 2 for A-U, 3 for G-U and 4 for any other pair of nucleotides.
_BASE_LENGTH = {
    (t, b): 1 if "-" in (t, b) else _PAIR_LENGTH.get(t + b, 4) for t in "ACGU-" for b in "ACGU-"
}


def _columns(sequence: str, structure: str) -> tuple[list[int], ...]:
    """Align the two strands of a hairpin into columns.

    Returns
    -------
    tuple of six lists of int
        Per column in image order (x = 0 next to the terminal loop): top position,
        bottom position (GAP for a gap), top bar length, bottom bar length, top colour
        index and bottom colour index.
    """
    s, e = terminal_loop(structure)
    unpaired = [c == "." for c in structure]
    tops: list[int] = []
    bottoms: list[int] = []
    # Top strand: positions 0 .. e-1 (5' arm and loop) from the 5' end; bottom strand:
    # positions n-1 down to s+1 (3' arm and loop) from the 3' end.
    i, j = 0, len(sequence) - 1
    while i < e and j > s:
        if unpaired[i] == unpaired[j]:  # both unpaired or both paired: one column
            tops.append(i)
            bottoms.append(j)
            i += 1
            j -= 1
        elif unpaired[i]:  # top unpaired against a bracket: gap on the bottom
            tops.append(i)
            bottoms.append(GAP)
            i += 1
        else:  # bracket against an unpaired bottom nucleotide: gap on the top
            tops.append(GAP)
            bottoms.append(j)
            j -= 1
    # Image order: x = ncols - 1 - k puts the column next to the loop at x = 0.
    tops.reverse()
    bottoms.reverse()
    top_chars = ["-" if p == GAP else sequence[p] for p in tops]
    bottom_chars = ["-" if p == GAP else sequence[p] for p in bottoms]
    top_extra = _extra_lengths([p != GAP and unpaired[p] for p in tops])
    bottom_extra = _extra_lengths([p != GAP and unpaired[p] for p in bottoms])
    base = [_BASE_LENGTH[pair] for pair in zip(top_chars, bottom_chars, strict=True)]
    return (
        tops,
        bottoms,
        [b + x for b, x in zip(base, top_extra, strict=True)],
        [b + x for b, x in zip(base, bottom_extra, strict=True)],
        [_COLOR_INDEX[c] for c in top_chars],
        [_COLOR_INDEX[c] for c in bottom_chars],
    )


def _paint(tables: Sequence[tuple[list[int], ...]]) -> tuple[Images, Layout, np.ndarray]:
    """Draw the bars of many column tables at once (vectorised over the batch)."""
    m = len(tables)
    # Per image column: positions, lengths and colours; unused columns get length -1,
    # which paints nothing (a bar of length L covers L + 1 pixels).
    fields = np.full((6, m, WIDTH), BACKGROUND, dtype=np.int16)
    fields[4:] = _BLACK
    for k, table in enumerate(tables):
        width = min(len(table[0]), WIDTH)
        fields[:, k, :width] = [column[:WIDTH] for column in table]
    top_pos, bottom_pos, top_len, bottom_len, top_color, bottom_color = fields[:, :, None, :]
    rows = np.arange(HEIGHT, dtype=np.int16)[None, :, None]
    top_mask = (rows <= MIDLINE) & (rows >= MIDLINE - top_len)
    bottom_mask = (rows > MIDLINE) & (rows <= MIDLINE + 1 + bottom_len)

    layout = np.where(top_mask, top_pos, np.where(bottom_mask, bottom_pos, np.int16(BACKGROUND)))
    color = np.where(top_mask, top_color, np.where(bottom_mask, bottom_color, np.int16(_WHITE)))
    images = _PALETTE_WHITE[color]
    columns = np.ascontiguousarray(fields[:2].transpose(1, 2, 0))
    return images, layout, columns


def _table(sequence: str, structure: str) -> tuple[str, str, tuple[list[int], ...]]:
    """Check one record and align it: the clean sequence, structure and column table.

    Raises :class:`EncodeError` if the record breaks :func:`mirnamap.structure.check_record`
    or has no hairpin loop.
    """
    try:
        sequence, structure = check_record(sequence, structure)
        return sequence, structure, _columns(sequence, structure)
    except StructureError as error:
        raise EncodeError(str(error)) from None


def encode_one(sequence: str, structure: str) -> tuple[Images, Layout]:
    """Draw one hairpin; raise :class:`EncodeError` if it cannot be drawn.

    Parameters
    ----------
    sequence : str
        RNA or DNA sequence of length L (upper-cased, T -> U).
    structure : str
        Dot-bracket structure of length L.

    Returns
    -------
    image : np.ndarray
        ``uint8 (25, 100, 3)``.
    layout : np.ndarray
        ``int16 (25, 100)``, as in :class:`Encoding`.

    Raises
    ------
    EncodeError
        If the record breaks :func:`mirnamap.structure.check_record` (e.g. a letter other
        than A, C, G, U or T, or unbalanced brackets) or has no hairpin loop.
    """
    _, _, table = _table(sequence, structure)
    images, layout, _ = _paint([table])
    return images[0], layout[0]


def encode(
    sequences: Iterable[str],
    structures: Iterable[str],
    *,
    ids: Iterable[str] | None = None,
    strict: bool = False,
) -> Encoding:
    """Draw many folded hairpins as Cordero images, with their pixel layout.

    A record is drawn if :func:`mirnamap.structure.check_record` accepts it (only A, C, G,
    U or T; balanced brackets; sequence and structure of the same length) and its
    structure has a hairpin loop; every other record is listed in ``failures``.

    Parameters
    ----------
    sequences : iterable of str
        N RNA (or DNA) sequences; upper-cased and T -> U.
    structures : iterable of str
        N dot-bracket structures, one per sequence (same lengths).
    ids : iterable of str, optional
        N record identifiers used in error messages and results. Default is "0", "1", ...
    strict : bool, optional
        Raise :class:`EncodeError` naming the first record that cannot be drawn, instead
        of listing it in ``failures``. Default is False.

    Returns
    -------
    Encoding
        Images, layout and bookkeeping for the records that could be drawn, and in
        ``failures`` the reason for every one that could not.

    Raises
    ------
    TypeError
        If ``sequences``, ``structures`` or ``ids`` is a single str.
    ValueError
        If their lengths differ.

    Examples
    --------
    >>> enc = encode(["GGGAAACCC", "GGGCCC"], ["(((...)))", "((()))"], ids=["ok", "stem"])
    >>> enc.ids, [(f.id, f.reason) for f in enc.failures]
    (('ok',), [('stem', "structure has no hairpin loop ('(' then '.'s then ')'): no image")])
    """
    sequences = as_string_list(sequences, "sequences")
    structures = as_string_list(structures, "structures")
    if len(sequences) != len(structures):
        raise ValueError(f"got {len(sequences)} sequences but {len(structures)} structures")
    id_list = (
        [str(i) for i in range(len(sequences))]
        if ids is None
        else [str(i) for i in as_string_list(ids, "ids")]
    )
    if len(id_list) != len(sequences):
        raise ValueError(f"got {len(sequences)} sequences but {len(id_list)} ids")
    return _encode_records(id_list, sequences, structures, [None] * len(id_list), strict)


def _encode_records(
    id_list: list[str],
    sequences: list[str],
    structures: list[str | None],
    reasons: list[str | None],
    strict: bool,
) -> Encoding:
    """Encode records; a record with a reason already given (or no structure) fails."""
    tables: list[tuple[list[int], ...]] = []
    kept: list[int] = []
    clean: list[tuple[str, str]] = []
    failures: list[Failure] = []
    for index, (sequence, structure) in enumerate(zip(sequences, structures, strict=True)):
        try:
            if reasons[index] is not None or structure is None:
                raise EncodeError(reasons[index] or "no structure")
            sequence, structure, table = _table(sequence, structure)
        except EncodeError as error:
            if strict:
                raise EncodeError(f"record {id_list[index]!r} (#{index}): {error}") from None
            stage = "fold" if reasons[index] is not None else "encode"
            failures.append(Failure(index, id_list[index], str(error), stage))
            continue
        tables.append(table)
        kept.append(index)
        clean.append((sequence, structure))
    return _assemble(tables, kept, clean, id_list, failures)


def _assemble(
    tables: list[tuple[list[int], ...]],
    kept: list[int],
    clean: list[tuple[str, str]],
    id_list: list[str],
    failures: list[Failure],
) -> Encoding:
    """Paint the tables and bundle everything into an :class:`Encoding`."""
    images, layout, columns = _paint(tables)
    n_columns = np.array([len(t[0]) for t in tables], dtype=np.int16)
    lengths = np.array([len(s) for s, _ in clean], dtype=np.int64)
    # Nucleotides on the canvas: the distinct positions of the first 100 columns.
    painted = np.array(
        [len(({*t[0][:WIDTH]} | {*t[1][:WIDTH]}) - {GAP}) for t in tables], dtype=np.int64
    )
    return Encoding(
        images=images,
        layout=layout,
        columns=columns,
        n_columns=n_columns,
        n_cut=np.maximum(0, n_columns.astype(np.int64) - WIDTH).astype(np.int16),
        n_off_canvas=(lengths - painted).astype(np.int16),
        index=np.array(kept, dtype=np.int64),
        ids=tuple(id_list[i] for i in kept),
        sequences=tuple(s for s, _ in clean),
        structures=tuple(t for _, t in clean),
        failures=tuple(failures),
    )


def encode_folds(folds: Iterable[Fold], *, strict: bool = False) -> Encoding:
    """Draw the results of :func:`mirnamap.fold.fold`.

    Records that failed to fold are carried into ``failures`` with their folding reason,
    so the output accounts for every input record.

    Parameters
    ----------
    folds : iterable of Fold
        N folding results.
    strict : bool, optional
        Raise on the first record that cannot be drawn. Default is False.

    Returns
    -------
    Encoding
        As :func:`encode`, with ``index`` pointing into ``folds``.
    """
    folds = list(folds)
    return _encode_records(
        [f.id for f in folds],
        [f.sequence for f in folds],
        [f.structure for f in folds],
        [None if f.structure is not None else f"not folded: {f.error}" for f in folds],
        strict,
    )


def save_encoding(encoding: Encoding, path: str | os.PathLike[str]) -> Path:
    """Write an :class:`Encoding` to a compressed ``.npz`` archive at exactly ``path``
    (atomically: :func:`mirnamap.files.atomic_write`); returns the path.

    Arrays: ``images``, ``layout``, ``columns``, ``n_columns``, ``n_cut``,
    ``n_off_canvas``, ``index``, ``ids``, ``sequences``, ``structures``, and the failed
    records as ``failed_index``, ``failed_ids``, ``failed_reasons``, ``failed_stages``.
    """
    # Through an open file: given a name, numpy would add ".npz" to one without it, and
    # the file written would not be the one asked for.
    with atomic_write(path, "wb") as handle:
        _save_arrays(encoding, handle)
    return Path(path)


def _save_arrays(encoding: Encoding, handle: BinaryIO) -> None:
    np.savez_compressed(
        handle,
        images=encoding.images,
        layout=encoding.layout,
        columns=encoding.columns,
        n_columns=encoding.n_columns,
        n_cut=encoding.n_cut,
        n_off_canvas=encoding.n_off_canvas,
        index=encoding.index,
        ids=np.array(encoding.ids, dtype=str),
        sequences=np.array(encoding.sequences, dtype=str),
        structures=np.array(encoding.structures, dtype=str),
        failed_index=np.array([f.index for f in encoding.failures], dtype=np.int64),
        failed_ids=np.array([f.id for f in encoding.failures], dtype=str),
        failed_reasons=np.array([f.reason for f in encoding.failures], dtype=str),
        failed_stages=np.array([f.stage for f in encoding.failures], dtype=str),
    )


def load_encoding(path: str | os.PathLike[str]) -> Encoding:
    """Read an :class:`Encoding` written by :func:`save_encoding`.

    Raises
    ------
    ValueError
        If the file is not such an archive (names the missing arrays).
    """
    with np.load(path, allow_pickle=False) as data:
        missing = [f for f in Encoding._fields if f != "failures" and f not in data.files]
        if missing:
            raise ValueError(f"{path}: not a mirnamap encoding, missing arrays {missing}")
        fields = {f: data[f] for f in Encoding._fields if f != "failures"}
        reasons = [str(r) for r in data["failed_reasons"]]
        # Archives written before stages were stored: a folding failure says so.
        stages = (
            [str(v) for v in data["failed_stages"]]
            if "failed_stages" in data.files
            else ["fold" if r.startswith("not folded") else "encode" for r in reasons]
        )
        failures = tuple(
            Failure(int(i), str(n), r, stage)
            for i, n, r, stage in zip(
                data["failed_index"], data["failed_ids"], reasons, stages, strict=True
            )
        )
    for name in ("ids", "sequences", "structures"):
        fields[name] = tuple(str(v) for v in fields[name])
    return Encoding(**fields, failures=failures)


def save_pngs(
    images: Images, ids: Sequence[str], folder: str | os.PathLike[str], *, scale: int = 4
) -> list[Path]:
    """Write one PNG per image, named after its id, enlarged ``scale`` times (nearest).

    File names are unique and bounded (:func:`mirnamap.files.unique_names`: unsafe
    characters become ``_``, clashes get ``~2``, ``~3``, ...), and ``index.tsv`` in the
    folder maps every id to its file, so no image is lost to a name collision.

    Parameters
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    ids : sequence of str
        N names (duplicates allowed).
    folder : str or PathLike
        Created if missing.
    scale : int, optional
        Pixel enlargement; 1 writes the exact 25 x 100 image. Default is 4.

    Returns
    -------
    list of Path
        The N files written, in order.
    """
    import csv

    from PIL import Image

    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    folder = Path(folder)
    paths = []
    for image, name in zip(images, unique_names(ids), strict=True):
        big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
        path = folder / f"{name}.png"
        with atomic_write(path, "wb") as handle:
            Image.fromarray(big, mode="RGB").save(handle, format="PNG")
        paths.append(path)
    with atomic_write(folder / "index.tsv") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "file"])
        writer.writerows((i, p.name) for i, p in zip(ids, paths, strict=True))
    return paths


def read_strands(images: Images) -> list[tuple[str, str]]:
    """Read the nucleotides back out of images' colours: the two strands, 5' to 3'.

    The inverse of the drawing as far as the image allows: the row next to the midline of
    each half holds one bar per column, coloured by its nucleotide (:data:`COLORS`), black
    for a gap, white where no column is drawn. The top half read from the outer end to the
    loop gives the 5' part of the sequence in order (the 5' arm and the loop); the bottom
    half read from the loop outwards gives the 3' part in order (the loop and the 3' arm).
    Columns cut off the 100-px canvas are lost, so the strings may miss the outer ends.
    This is how images drawn by another encoder (the DeepMir sets, which carry names, not
    sequences) are matched to sequences.

    Parameters
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.

    Returns
    -------
    list of (str, str)
        Per image the top strand (5' -> loop) and the bottom strand (loop -> 3' end).

    >>> enc = encode(["GGGAAACCC"], ["(((...)))"])
    >>> read_strands(enc.images)
    [('GGGAAA', 'AAACCC')]
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1:] != (HEIGHT, WIDTH, 3):
        raise ValueError(f"images must have shape (N, {HEIGHT}, {WIDTH}, 3), got {images.shape}")
    letters = {colour: letter for letter, colour in COLORS.items()}
    out = []
    for image in images:
        top = [letters.get(tuple(int(v) for v in image[MIDLINE, x]), "") for x in range(WIDTH)]
        bottom = [
            letters.get(tuple(int(v) for v in image[MIDLINE + 1, x]), "") for x in range(WIDTH)
        ]
        out.append(("".join(reversed(top)), "".join(bottom)))
    return out
