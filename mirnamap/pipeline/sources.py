"""Every kind of input, read, sniffed and chunked in one place.

A source is any of: a FASTA path (``.gz`` too), a folds TSV from ``mirnamap fold``, an
``.npz`` from ``mirnamap encode`` (or, for predictions, any ``.npz`` of images), an
:class:`~mirnamap.encode.Encoding`, a list of sequences, a dict of id -> sequence, or an
image array. :func:`read_source` reads a whole source into :class:`Inputs`;
:func:`iter_chunks` reads the same sources lazily, ``chunk_size`` records at a time, and
:func:`draw_chunk` turns a chunk into :class:`Inputs`. Both go through one dispatch
(:func:`kind_of_source`), so the in-memory and the streamed runs read a source alike.

Every record comes out with an image or a :class:`~mirnamap.errors.Failure`; input that
cannot be used at all raises :class:`~mirnamap.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mirnamap.encode import Encoding, encode_folds, load_encoding
from mirnamap.errors import Failure, InputError, InputWarning, failures_frame
from mirnamap.fold import Fold, fold, load_folds

if TYPE_CHECKING:
    import pandas as pd

    from mirnamap._typing import Images

__all__ = [
    "Inputs",
    "Selection",
    "Source",
    "check_source_path",
    "inputs_of_folds",
    "kind_of_file",
    "kind_of_source",
    "missing_ids",
    "read_source",
    "select",
]

#: Anything :func:`read_source` reads.
Source = str | os.PathLike | Encoding | Sequence[str] | Mapping[str, str] | np.ndarray


class Inputs(NamedTuple):
    """Every record of a source, drawn where it could be.

    Attributes
    ----------
    ids : tuple of str
        N record ids, in input order (duplicates kept).
    images : np.ndarray
        ``uint8 (M, 25, 100, 3)``: the records that have an image.
    index : np.ndarray
        ``int64 (M,)``: each image's position among ``ids``.
    encoding : Encoding or None
        The M drawn records with sequences, structures and layout; None for an image
        archive without them (predictions only).
    failures : tuple of Failure
        The N - M records without an image.
    labels : np.ndarray or None
        ``int8 (N,)`` true labels of a labelled image archive, else None.
    name : str
        What was read, for messages.
    """

    ids: tuple[str, ...]
    images: Images
    index: np.ndarray
    encoding: Encoding | None
    failures: tuple[Failure, ...]
    labels: np.ndarray | None
    name: str

    def to_frame(self) -> pd.DataFrame:
        """One row per input record: id, status ("ok": drawn, or "error"), stage and reason
        of a failure, and with an encoding the sequence, structure and length."""
        import pandas as pd

        failed = {f.index: f for f in self.failures}
        frame = pd.DataFrame(
            {
                "id": list(self.ids),
                "status": ["error" if k in failed else "ok" for k in range(len(self.ids))],
                "stage": [failed[k].stage if k in failed else "" for k in range(len(self.ids))],
                "reason": [failed[k].reason if k in failed else "" for k in range(len(self.ids))],
            }
        )
        if self.encoding is not None:
            for column in ("sequence", "structure"):
                values = [""] * len(self.ids)
                for position, value in zip(
                    self.index, getattr(self.encoding, f"{column}s"), strict=True
                ):
                    values[int(position)] = value
                frame[column] = values
            frame["length"] = frame["sequence"].str.len()
        if self.labels is not None:
            frame["label"] = np.asarray(self.labels, dtype=np.int8)
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """One row per record without an image: index, id, reason, stage."""
        return failures_frame(self.failures)

    def save(self, target: str | os.PathLike[str]) -> list[Path]:
        """Write what ``mirnamap encode`` writes: the encoding ``.npz`` (``target`` ending
        in ``.npz``, or ``images.npz`` in the folder ``target``). Returns ``[the file]``.

        Raises
        ------
        InputError
            For images without sequences (an image archive): there is no encoding to write.
        """
        from mirnamap.encode import save_encoding
        from mirnamap.files import check_output_dir, check_output_file

        if self.encoding is None:
            raise InputError(f"{self.name}: images without sequences: nothing to encode")
        target = Path(target)
        if target.suffix == ".npz":
            path = check_output_file(target)
        else:
            path = check_output_dir(target) / "images.npz"
        return [save_encoding(self.encoding, path)]


# ------------------------------------------------------------------------- drawing


def inputs_of_folds(folds: list[Fold], name: str, stage_of_unfolded: str) -> Inputs:
    """Draw folded records into :class:`Inputs` (indices into ``folds``); a record that
    was not folded fails at ``stage_of_unfolded``."""
    encoding = encode_folds(folds)
    failures = tuple(
        f if folds[f.index].ok else f._replace(stage=stage_of_unfolded) for f in encoding.failures
    )
    return Inputs(
        tuple(f.id for f in folds), encoding.images, encoding.index, encoding, failures, None, name
    )


def _from_encoding(encoding: Encoding, name: str) -> Inputs:
    total = len(encoding) + len(encoding.failures)
    ids = [""] * total
    for position, record_id in zip(encoding.index, encoding.ids, strict=True):
        ids[int(position)] = record_id
    for f in encoding.failures:
        ids[f.index] = f.id
    return Inputs(
        tuple(ids), encoding.images, encoding.index, encoding, encoding.failures, None, name
    )


def _from_images(source: np.ndarray) -> Inputs:
    from mirnamap.model import check_images

    try:
        images = check_images(source)
    except (TypeError, ValueError) as error:
        raise InputError(str(error)) from None
    n = images.shape[0]
    return Inputs(tuple(map(str, range(n))), images, np.arange(n), None, (), None, "images")


# ------------------------------------------------------------------------- sniffing


def check_source_path(source: str | os.PathLike[str]) -> Path:
    """``source`` as a path to an existing file, or an :class:`InputError` naming it."""
    path = Path(source)
    if not path.exists():
        hint = (
            " (to give sequences, pass a list or a dict of id -> sequence)"
            if isinstance(source, str) and source.isalpha()
            else ""
        )
        raise InputError(f"{source}: no such file{hint}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    return path


def kind_of_file(path: Path) -> str:
    """``"npz"``, ``"fasta"`` or ``"folds"``, from the file's first bytes (read no further).

    Raises
    ------
    InputError
        Naming the file, if it is none of them (or empty, not UTF-8, damaged gzip).
    """
    from mirnamap.datasets import text_head

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:4] == b"PK\x03\x04" or path.suffix == ".npz":
        return "npz"
    # Only the file's start: the reader that follows reads the whole file once.
    try:
        text = text_head(path)  # names the file if empty, not UTF-8 or damaged gzip
    except ValueError as error:
        raise InputError(str(error)) from None
    if text.lstrip()[:1] == ">":
        return "fasta"
    header = text.split("\n", 1)[0].rstrip("\r").split("\t")
    columns = ("id", "sequence", "structure")
    if set(columns) <= set(header):
        return "folds"
    if len(header) > 1 and set(header) & set(columns):  # a table, short of a column
        missing = ", ".join(repr(c) for c in columns if c not in header)
        raise InputError(
            f"{path}: a table without the column(s) {missing}; a folds table from "
            "'mirnamap fold' has the columns id, sequence, structure"
        )
    raise InputError(
        f"{path}: neither a FASTA file (starting with '>'), a folds table from "
        "'mirnamap fold' (columns id, sequence, structure) nor an .npz archive"
    )


def kind_of_source(source: object) -> str:
    """The one dispatch over sources: ``"inputs"``, ``"encoding"``, ``"images"``,
    ``"mapping"``, ``"sequences"``, or for a file ``"npz"``, ``"fasta"``, ``"folds"``.

    Raises
    ------
    InputError
        For a path that is missing, a folder, or a file of no known kind.
    TypeError
        For anything else.
    """
    if isinstance(source, Inputs):
        return "inputs"
    if isinstance(source, Encoding):
        return "encoding"
    if isinstance(source, np.ndarray):
        return "images"
    if isinstance(source, Mapping):
        return "mapping"
    if isinstance(source, (str, os.PathLike)):
        return kind_of_file(check_source_path(source))
    if isinstance(source, Sequence):
        return "sequences"
    raise TypeError(
        "source must be a path, an Encoding, a list of sequences, a dict of id -> sequence "
        f"or an image array, got {type(source).__name__}"
    )


def _read_npz(path: Path) -> Inputs:
    import zipfile

    from mirnamap.datasets import load_images

    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"{path}: not a readable .npz archive ({error})") from None
    if "layout" in files:
        try:
            return _from_encoding(load_encoding(path), str(path))
        except (OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
            raise InputError(f"{path}: a damaged encoding archive ({error})") from None
    image_set = load_images(path)
    n = len(image_set)
    return Inputs(
        image_set.names, image_set.images, np.arange(n), None, (), image_set.labels, str(path)
    )


def _warn_cut(inputs: Inputs) -> None:
    """Say which records are wider than the image: the columns past the last are not
    drawn, so neither the model nor any map sees those nucleotides."""
    from mirnamap.geometry import WIDTH

    encoding = inputs.encoding
    if encoding is None or not len(encoding) or not (encoding.n_cut > 0).any():
        return
    cut = [encoding.ids[k] for k in np.flatnonzero(encoding.n_cut > 0)]
    shown = ", ".join(repr(i) for i in cut[:5]) + (
        f" and {len(cut) - 5} more" if len(cut) > 5 else ""
    )
    warnings.warn(
        f"{inputs.name}: {len(cut)} record(s) wider than the image's {WIDTH} columns ({shown}): "
        "the columns past it are not drawn, so neither the model nor the maps see them",
        InputWarning,
        stacklevel=4,
    )


def _warn_duplicates(inputs: Inputs) -> Inputs:
    _warn_cut(inputs)
    seen: set[str] = set()
    duplicates = sorted({i for i in inputs.ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if duplicates:
        shown = ", ".join(repr(d) for d in duplicates[:5])
        more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
        warnings.warn(
            f"{inputs.name}: duplicate record ids {shown}{more}; every record is kept, "
            "and picture names are numbered to stay apart",
            InputWarning,
            stacklevel=3,
        )
    return inputs


# -------------------------------------------------------------------------- reading


def read_source(
    source: Source | Inputs,
    *,
    workers: int | None = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
) -> Inputs:
    """Read, fold and draw any kind of input.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping of str to str, np.ndarray or Inputs
        A FASTA file (plain or ``.gz``), a folds TSV from ``mirnamap fold``, an ``.npz``
        from ``mirnamap encode`` or any ``.npz`` of images (``images``, optional
        ``labels`` and ``names``); an :class:`~mirnamap.encode.Encoding`; N sequences
        (ids "0", "1", ...); a dict of id -> sequence; or ``uint8 (N, 25, 100, 3)``
        images (predictions only); an :class:`Inputs` is returned as it is.
    workers : int, optional
        Folding processes. Default is None: every core.
    temperature : float, optional
        Folding temperature in degrees Celsius (sequences only). Default is None: 37 C.
    energy_params : path or str, optional
        A ViennaRNA ``.par`` file or a set of :data:`mirnamap.fold.ENERGY_SETS`
        (sequences only). Default is None: Turner 2004.

    Returns
    -------
    Inputs
        Every record, with an image or a :class:`Failure`. Duplicate ids are kept,
        with a warning.

    Raises
    ------
    InputError
        If the source cannot be used at all: a missing, empty, undecodable or damaged
        file, a file of another kind, no records, or a bare string that is not a file.
    """
    from mirnamap.datasets import load_fasta

    kind = kind_of_source(source)
    folding = {"workers": workers, "temperature": temperature, "energy_params": energy_params}
    if kind == "inputs":
        return source  # type: ignore[return-value]
    if kind == "encoding":
        return _warn_duplicates(_from_encoding(source, "encoding"))  # type: ignore[arg-type]
    if kind == "images":
        return _from_images(source)  # type: ignore[arg-type]
    if kind in ("mapping", "sequences"):
        if kind == "mapping":
            ids, sequences = [str(k) for k in source], list(source.values())  # type: ignore[union-attr]
        else:
            ids, sequences = None, list(source)  # type: ignore[call-overload]
        try:
            folds = fold(sequences, ids=ids, **folding)
        except ValueError as error:  # bad folding parameters
            raise InputError(str(error)) from None
        return _warn_duplicates(inputs_of_folds(folds, "sequences", "fold"))
    path = Path(source)  # type: ignore[arg-type]
    try:
        if kind == "npz":
            inputs = _read_npz(path)
        elif kind == "fasta":
            records = load_fasta(path)
            folds = fold(records.sequences, ids=records.ids, **folding)
            inputs = inputs_of_folds(folds, str(path), "fold")
        else:
            inputs = inputs_of_folds(load_folds(path), str(path), "read")
    except InputError:
        raise
    except (OSError, ValueError) as error:
        raise InputError(str(error)) from None
    if not inputs.ids:
        raise InputError(f"{path}: no records")
    return _warn_duplicates(inputs)


# ------------------------------------------------------------------------ selection


class Selection(NamedTuple):
    """The records of :class:`Inputs` that a run explains.

    Attributes
    ----------
    keep : np.ndarray
        ``int64 (M,)``: positions into ``inputs.encoding`` of the chosen drawn records.
    failures : tuple of Failure
        The chosen records without an image.
    n_records : int
        Records chosen: M + the failures.
    """

    keep: np.ndarray
    failures: tuple[Failure, ...]
    n_records: int


def missing_ids(
    ids: Sequence[str] | None, found: set[str] | Sequence[str] | None, name: str
) -> None:
    """The one check of asked-for ids: raise ``ValueError`` naming those not in ``found``
    (None: check only that ``ids`` is a list of ids, before the source is read).

    Raises
    ------
    TypeError
        If ``ids`` is one string rather than a list of ids.
    ValueError
        ``"<name>: no record(s) [...]"`` for ids that are not in the source.
    """
    if ids is None:
        return
    if isinstance(ids, str):
        raise TypeError("ids must be a list of record ids, not one string")
    if found is None:
        return
    missing = sorted(set(map(str, ids)) - set(found))
    if missing:
        raise ValueError(f"{name}: no record(s) {missing}")


def select(inputs: Inputs, ids: Sequence[str] | None) -> Selection:
    """The drawn records with one of ``ids`` (all for None), and the failures among them.

    Raises
    ------
    TypeError, ValueError
        As :func:`missing_ids`.
    """
    if ids is None:
        keep = np.arange(len(inputs.images), dtype=np.int64)
        return Selection(keep, tuple(inputs.failures), len(inputs.ids))
    missing_ids(ids, set(inputs.ids), inputs.name)
    wanted = set(map(str, ids))
    encoded_ids = inputs.encoding.ids if inputs.encoding is not None else ()
    keep = np.array([k for k, i in enumerate(encoded_ids) if i in wanted], dtype=np.int64)
    failures = tuple(f for f in inputs.failures if f.id in wanted)
    return Selection(keep, failures, sum(i in wanted for i in inputs.ids))
