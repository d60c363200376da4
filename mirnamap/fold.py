"""Fold RNA sequences into minimum-free-energy secondary structures with ViennaRNA.

Folding uses the ViennaRNA Python API (module ``RNA``) in-process, one sequence at a
time, and over worker processes when there is more than one core: the warm pool of
:mod:`mirnamap.workers`, which needs no main guard and is reused from call to call. Every
input record comes back: folded, or with the reason it could not be.

>>> [f.structure for f in fold(["GGGGAAACCCC"], workers=1)]
['((((...))))']
>>> bad = fold(["ACGN"], ids=["x1"], workers=1)[0]
>>> bad.ok, bad.error
(False, "invalid character 'N' at position 4 (only A, C, G, U or T allowed)")
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from tqdm.auto import tqdm

from mirnamap.files import atomic_write
from mirnamap.structure import (
    StructureError,
    as_string_list,
    check_record,
    normalise_sequence,
)
from mirnamap.workers import map_in_workers

__all__ = [
    "ENERGY_SETS",
    "Fold",
    "available_cores",
    "check_energy_params",
    "energy_parameters",
    "fold",
    "iter_folds",
    "load_folds",
    "save_folds",
    "set_energy_parameters",
]

# Below this many sequences, starting worker processes costs more than it saves.
_MIN_PARALLEL = 64


class Fold(NamedTuple):
    """The folding result of one record.

    Attributes
    ----------
    id : str
        Record identifier.
    sequence : str
        The sequence as folded: upper-case, T turned into U (as given if invalid).
    structure : str or None
        Dot-bracket MFE structure, or None if the record could not be folded.
    mfe : float
        Minimum free energy in kcal/mol (NaN if not folded).
    error : str or None
        Why the record could not be folded, or None.
    """

    id: str
    sequence: str
    structure: str | None
    mfe: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True if the record was folded."""
        return self.error is None


def available_cores() -> int:
    """The number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: Named ViennaRNA energy parameter sets :func:`set_energy_parameters` takes besides a
#: ``.par`` file (each loads ``RNA.params_load_<name>``); "rna_turner2004" is the default.
ENERGY_SETS = (
    "rna_turner2004",
    "rna_turner1999",
    "rna_andronescu2007",
    "rna_langdon2018",
    "dna_mathews2004",
    "dna_mathews1999",
)

# What this process's ViennaRNA global state holds: (temperature, energy parameters).
# ViennaRNA keeps its energy parameters in process-global state (and is not thread-safe),
# so every task sets them (_fold_chunk): a warm worker that folded with other settings
# switches, one that folded with the same does nothing.
_ENERGY: tuple[float | None, str | None] = (None, None)


def check_energy_params(energy_params: str | os.PathLike[str] | None) -> str | None:
    """A named set of :data:`ENERGY_SETS` (lower-cased) or a parameter file's absolute
    path; None stays None. Anything else raises ``ValueError``."""
    if energy_params is None:
        return None
    name = str(energy_params)
    if name.lower() in ENERGY_SETS:
        return name.lower()
    if not os.path.isfile(name):
        raise ValueError(
            f"energy parameters {name!r}: neither a parameter file nor one of "
            + ", ".join(ENERGY_SETS)
        )
    return os.path.abspath(name)


def set_energy_parameters(
    temperature: float | None = None, energy_params: str | os.PathLike[str] | None = None
) -> tuple[float | None, str | None]:
    """Set this process's ViennaRNA folding temperature and energy parameters.

    ViennaRNA's Python API keeps both in process-global state: every folding process
    (a pool worker, a Dask worker) calls this before folding; :func:`fold` does so
    itself. A second call with the same settings does nothing.

    Parameters
    ----------
    temperature : float, optional
        Degrees Celsius. Default is None: 37 C.
    energy_params : str or PathLike, optional
        A ViennaRNA ``.par`` file or a name of :data:`ENERGY_SETS`. Default is None:
        ViennaRNA's default (Turner 2004).

    Returns
    -------
    tuple of (float or None, str or None)
        The settings now in force (the parameter file as an absolute path).

    Raises
    ------
    ValueError
        If ``energy_params`` is neither a file nor a known set.
    """
    global _ENERGY
    import RNA

    wanted = (
        None if temperature is None else float(temperature),
        check_energy_params(energy_params),
    )
    if wanted == _ENERGY:
        return _ENERGY
    if wanted[1] != _ENERGY[1]:
        name = wanted[1] or "rna_turner2004"
        if name in ENERGY_SETS:
            kind, author = name.split("_", 1)
            getattr(RNA, f"params_load_{kind.upper()}_{author.capitalize()}")()
        elif not RNA.params_load(name):
            raise ValueError(f"energy parameters {name!r}: ViennaRNA could not read the file")
    RNA.cvar.temperature = 37.0 if wanted[0] is None else wanted[0]
    _ENERGY = wanted
    return _ENERGY


def energy_parameters() -> tuple[float, str | None]:
    """This process's ViennaRNA folding temperature (from ViennaRNA itself) and the
    energy parameters last set by :func:`set_energy_parameters` (None: the default)."""
    import RNA

    return float(RNA.cvar.temperature), _ENERGY[1]


def _fold_chunk(args: tuple[list[str], float | None, str | None]) -> list[tuple[str, float]]:
    """Fold a list of clean sequences in this process (also the worker function)."""
    import RNA

    sequences, temperature, energy_params = args
    set_energy_parameters(temperature, energy_params)
    return [RNA.fold(s) for s in sequences]


def fold(
    sequences: Iterable[str],
    *,
    ids: Iterable[str] | None = None,
    workers: int | None = None,
    chunksize: int | None = None,
    temperature: float | None = None,
    progress: bool | None = None,
    energy_params: str | os.PathLike[str] | None = None,
) -> list[Fold]:
    """Fold sequences to their MFE structure with ViennaRNA.

    Parameters
    ----------
    sequences : iterable of str
        N RNA or DNA sequences (any case; T is read as U).
    ids : iterable of str, optional
        N record identifiers. Default is "0", "1", ...
    workers : int, optional
        Worker processes (:mod:`mirnamap.workers`: started once, reused by later calls).
        Default is None: every core this process may use. With 1, or fewer than 128
        sequences, folding runs in this process. Results are the same either way.
    chunksize : int, optional
        Sequences sent to a worker at a time. Default is None: about 8 chunks a worker.
    temperature : float, optional
        Folding temperature in degrees Celsius. Default is None: ViennaRNA's default
        (37 C).
    progress : bool, optional
        Show a progress bar. Default is None: on a terminal, for 500 sequences or more.
    energy_params : str or PathLike, optional
        A ViennaRNA ``.par`` file or a named set of :data:`ENERGY_SETS`, set in every
        folding process (:func:`set_energy_parameters`). Default is None: Turner 2004.

    Returns
    -------
    list of Fold
        N results in input order; a record that could not be folded (rejected by
        :func:`mirnamap.structure.normalise_sequence`: empty, or letters other than
        ACGU/T) has ``structure=None`` and the reason in ``error``.

    Raises
    ------
    TypeError
        If ``sequences`` or ``ids`` is a single str instead of an iterable of them.
    ValueError
        If ``ids`` and ``sequences`` differ in length, or ``workers < 1``.
    mirnamap.errors.WorkerError
        If a worker process died or could not start (the message names the signal or
        exit code); the next call starts fresh workers.
    """
    sequences = as_string_list(sequences, "sequences")
    id_list = (
        [str(i) for i in range(len(sequences))]
        if ids is None
        else [str(i) for i in as_string_list(ids, "ids")]
    )
    if len(id_list) != len(sequences):
        raise ValueError(f"got {len(sequences)} sequences but {len(id_list)} ids")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    energy_params = check_energy_params(energy_params)

    results: list[Fold | None] = [None] * len(sequences)
    todo: list[int] = []
    clean: list[str] = []
    for index, sequence in enumerate(sequences):
        try:
            clean.append(normalise_sequence(sequence))
            todo.append(index)
        except ValueError as error:
            shown = sequence.strip().upper().replace("T", "U") if isinstance(sequence, str) else ""
            results[index] = Fold(id_list[index], shown, None, math.nan, str(error))

    workers = available_cores() if workers is None else workers
    workers = min(workers, max(1, len(clean) // _MIN_PARALLEL))
    if chunksize is None:
        chunksize = max(1, min(256, math.ceil(len(clean) / (workers * 8))))
    chunks = [clean[i : i + chunksize] for i in range(0, len(clean), chunksize)]
    if progress is None:
        progress = len(clean) >= 500 and None  # None: tqdm shows it on a terminal only
    bar = tqdm(total=len(clean), unit="seq", desc="folding", disable=progress is False)

    folded: list[tuple[str, float]] = []
    try:
        if workers == 1:
            for chunk in chunks:
                folded.extend(_fold_chunk((chunk, temperature, energy_params)))
                bar.update(len(chunk))
        else:
            tasks = ((c, temperature, energy_params) for c in chunks)
            for part in map_in_workers(_fold_chunk, tasks, workers=workers):
                folded.extend(part)
                bar.update(len(part))
    finally:
        bar.close()

    for index, sequence, (structure, mfe) in zip(todo, clean, folded, strict=True):
        results[index] = Fold(id_list[index], sequence, structure, round(float(mfe), 2))
    return results  # type: ignore[return-value]


_TSV_COLUMNS = ("id", "sequence", "structure", "mfe", "status", "reason")


def save_folds(folds: Iterable[Fold], path: str | os.PathLike[str]) -> None:
    """Write folding results as a TSV: id, sequence, structure, mfe, status, reason.

    Every record gets a row; ``status`` is ``ok`` or ``error`` with the reason. Written
    atomically (:func:`mirnamap.files.atomic_write`).
    """
    with atomic_write(path) as handle:
        handle.write("\t".join(_TSV_COLUMNS) + "\n")
        for f in folds:
            mfe = "" if math.isnan(f.mfe) else f"{f.mfe:.2f}"
            status = "ok" if f.ok else "error"
            row = (f.id, f.sequence, f.structure or "", mfe, status, f.error or "")
            handle.write("\t".join(_clean_field(v) for v in row) + "\n")


def _clean_field(value: str) -> str:
    return value.replace("\t", " ").replace("\n", " ")


def load_folds(path: str | os.PathLike[str]) -> list[Fold]:
    """Read a TSV written by :func:`save_folds` (or any TSV with id, sequence, structure).

    Every row comes back. Rows without a structure, or whose ``status`` is not ``ok``,
    come back as failed records with their reason; so does a row that
    :func:`mirnamap.structure.check_record` rejects (e.g. an ``N`` in the sequence or
    unbalanced brackets) or whose ``mfe`` is no number, its ``error`` naming the file
    line and what is wrong. Valid rows are normalised (upper-case, T -> U).

    Parameters
    ----------
    path : str or PathLike
        The TSV file, plain or gzip-compressed (``.tsv.gz``).

    Returns
    -------
    list of Fold
        One per data row, in file order.

    Raises
    ------
    ValueError
        If the file is empty, not UTF-8 or a damaged gzip file, or lacks the ``id``,
        ``sequence`` or ``structure`` column (the file is named).
    """
    import csv
    import io

    # A local import: datasets is no stage of the pipeline, only its reader of text files
    # (gzip-compressed or not, with errors that name the file).
    from mirnamap.datasets import read_text

    reader = csv.DictReader(io.StringIO(read_text(path), newline=""), delimiter="\t")
    missing = {"id", "sequence", "structure"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: not a folds table, missing column(s) {sorted(missing)}")
    return [_fold_of_row(row, f"{path} line {line}") for line, row in enumerate(reader, start=2)]


def _fold_of_row(row: dict[str, str | None], where: str) -> Fold:
    """One row of a folds table as a Fold; a row that cannot be used fails with a reason."""
    record_id, sequence = row["id"] or "", row["sequence"] or ""
    structure = (row.get("structure") or "").strip()
    status = (row.get("status") or "ok").strip()
    if status != "ok" or not structure:
        reason = (row.get("reason") or "").strip()
        return Fold(record_id, sequence, None, math.nan, reason or f"{where}: no structure")
    mfe_text = (row.get("mfe") or "").strip()
    try:
        mfe = float(mfe_text) if mfe_text else math.nan
        sequence, structure = check_record(sequence, structure)
    except StructureError as error:
        return Fold(record_id, sequence, None, math.nan, f"{where}: {error}")
    except ValueError:  # float() of a malformed number
        return Fold(record_id, sequence, None, math.nan, f"{where}: mfe {mfe_text!r} is no number")
    return Fold(record_id, sequence, structure, mfe)


def iter_folds(path: str | os.PathLike[str], chunk_size: int = 1000) -> Iterator[list[Fold]]:
    """Read a folds TSV (plain or ``.tsv.gz``) lazily, ``chunk_size`` rows at a time.

    The chunks, joined, are what :func:`load_folds` returns (line numbers in the reasons
    count from the file's start); memory holds one chunk, whatever the file's size.

    Parameters
    ----------
    path : str or PathLike
        The TSV file.
    chunk_size : int, optional
        Rows per chunk (the last may hold fewer). Default is 1000.

    Yields
    ------
    list of Fold
        Up to ``chunk_size`` records, in file order.

    Raises
    ------
    ValueError
        As :func:`load_folds`, naming the file.
    """
    import csv
    import itertools

    from mirnamap.datasets import open_text, text_head

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    text_head(path)  # an empty file fails before anything is yielded
    with open_text(path) as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = {"id", "sequence", "structure"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not a folds table, missing column(s) {sorted(missing)}")
        rows = enumerate(reader, start=2)
        while chunk := list(itertools.islice(rows, chunk_size)):
            yield [_fold_of_row(row, f"{path} line {line}") for line, row in chunk]
