"""The tables every run writes, by one writer each, for ``save()`` and streaming alike.

A table is written whole (:func:`write_table`: a header, then rows, under a temporary name
renamed at the end) or appended to (the rows only, as a streamed run adds a chunk). The
same row formatting serves both, so a streamed file is byte for byte the in-memory one.

Names: :data:`PREDICTIONS_TABLE` in a predictions folder; :data:`EXPLANATION_TABLES` and
:data:`JOURNAL` in an explanation folder (no record's picture folder may take them).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from mirnamap.files import atomic_write, output_error, unique_names
from mirnamap.flags import LABEL

if TYPE_CHECKING:
    from mirnamap.errors import Failure
    from mirnamap.pipeline.results import Explanation, Predictions

__all__ = [
    "EXPLANATION_TABLES",
    "JOURNAL",
    "PARTIAL",
    "PREDICTIONS_TABLE",
    "RESERVED_NAMES",
    "append_text",
    "explanation_tables",
    "prediction_columns",
    "prediction_rows",
    "write_explanation",
    "write_predictions",
    "write_table",
]

#: The file :meth:`Predictions.save` writes into a folder.
PREDICTIONS_TABLE = "predictions.tsv"
#: The tables of an explanation folder, beside the per-record picture folders.
EXPLANATION_TABLES = ("saliency.tsv", "summary.tsv", "failed.tsv", "pictures.tsv")
#: A streamed explanation's journal (a streamed predictions TSV has ``<name>.journal``).
JOURNAL = "journal.tsv"
#: The suffix of a streamed run's tables while it runs: the final names are taken only
#: when the run completes, so an earlier run's output stays whole until then.
PARTIAL = ".partial"
#: Names no record's picture folder may take.
RESERVED_NAMES = (
    *EXPLANATION_TABLES, JOURNAL, *(n + PARTIAL for n in EXPLANATION_TABLES), ".lock",
)  # fmt: skip


def append_text(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Append what ``write`` writes to ``path``; an ``OSError`` names the file."""
    try:
        with open(path, "a", encoding="utf-8", newline="") as handle:
            write(handle)
            handle.flush()
    except OSError as error:
        raise output_error(path, error) from None


def write_table(path: Path, write: Callable[[IO[str]], None], *, append: bool) -> Path:
    """``write`` into ``path``: a new file atomically, or appended to the one there."""
    if append:
        append_text(path, write)
    else:
        with atomic_write(path) as handle:
            write(handle)
    return path


def _rows_writer(header: Sequence[str] | None, rows: Iterable[Sequence[str]]):
    def write(handle: IO[str]) -> None:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)

    return write


# ----------------------------------------------------------------------- predictions


def prediction_columns(result: Predictions) -> list[str]:
    """The predictions TSV's columns: sd and calibrated for an ensemble, the call (and for
    an ensemble its "unsure" flag), the threshold the call used, label where known."""
    columns = ["id", "probability"]
    if result.sd is not None:
        columns += ["sd", "calibrated", "predicted", "flag"]
    else:
        columns += ["predicted"]
    columns += ["threshold", "status", "reason"]
    return columns + (["label"] if result.labels is not None else [])


def prediction_rows(result: Predictions) -> list[list[str]]:
    """One row per record, in :func:`prediction_columns` order (every column, always)."""
    columns = prediction_columns(result)
    reasons = {f.index: " ".join(f.reason.split()) for f in result.failures}
    rows = []
    flagged = result.flagged
    for k, record_id in enumerate(result.ids):
        if k in reasons:
            row = dict.fromkeys(columns[1:], "")
            row.update(status="error", reason=reasons[k])
        else:
            p = result.probabilities[k]
            row = {"probability": f"{p:.6f}"}
            if result.sd is not None and result.calibrated is not None:
                row.update(sd=f"{result.sd[k]:.6f}", calibrated=f"{result.calibrated[k]:.6f}")
            row.update(
                predicted=str(int(p >= result.threshold)), threshold=f"{result.threshold:.6f}",
                status="ok", reason="", flag=LABEL if flagged[k] else "",
            )  # fmt: skip
        if result.labels is not None:
            row["label"] = str(int(result.labels[k]))
        rows.append([record_id, *(row[c] for c in columns[1:])])
    return rows


def write_predictions(path: str | os.PathLike[str], result: Predictions, *, append=False) -> Path:
    """Write (or, with ``append``, add the rows of) the predictions TSV."""
    header = None if append else prediction_columns(result)
    return write_table(Path(path), _rows_writer(header, prediction_rows(result)), append=append)


# ----------------------------------------------------------------------- explanations


def explanation_tables(folder: Path, pictures: bool, suffix: str = "") -> list[Path]:
    """The tables of an explanation folder (``pictures.tsv`` only with pictures), with
    ``suffix`` (:data:`PARTIAL` while a streamed run writes them)."""
    return [folder / (n + suffix) for n in EXPLANATION_TABLES[: 4 if pictures else 3]]


def write_explanation(
    folder: Path,
    result: Explanation,
    *,
    append: bool = False,
    pictures: bool = True,
    svg: bool = False,
    taken: set[str] | None = None,
    progress: bool | None = None,
    suffix: str = "",
) -> tuple[list[Path], tuple[Failure, ...]]:
    """Write the tables (and pictures) of an explanation into ``folder``.

    ``saliency.tsv`` (one row per nucleotide, a column per method, and for an ensemble a
    ``<method>:sd`` column beside each), ``summary.tsv`` (per record the region shares),
    ``failed.tsv`` (id, reason) and, with ``pictures``, a folder per record named
    uniquely after its id (:func:`mirnamap.pipeline.pictures.record_pictures`) and
    ``pictures.tsv`` mapping each id to its folder.

    Parameters
    ----------
    folder : Path
        The explanation folder (created).
    result : Explanation
    append : bool, optional
        Add rows to the tables there (a streamed run's next chunk). Default is False.
    pictures, svg : bool, optional
        Draw the per-record pictures (and SVGs). Default is True, False.
    taken : set of str, optional
        Folder names (case-folded) already used in ``folder``; the new ones are added.
        Default is None: only the reserved names.
    progress : bool, optional
        A progress bar over the pictures. Default is None: on a terminal.
    suffix : str, optional
        Added to the tables' names (:data:`PARTIAL` while a streamed run writes them).
        Default is "".

    Returns
    -------
    (list of Path, tuple of Failure)
        The files written or appended to, and the records whose pictures could not be
        drawn (listed in ``failed.tsv`` too).
    """
    from mirnamap.export import write_summary, write_tsv
    from mirnamap.pipeline.pictures import save_pictures

    folder.mkdir(parents=True, exist_ok=True)
    columns = {m: result.projections[m].scores for m in result.methods}
    if len(result.members) > 1:  # the members' spread, beside each method's column
        columns = {
            name: values
            for m in result.methods
            for name, values in ((m, columns[m]), (f"{m}:sd", result.sd_scores[m]))
        }
    paths = explanation_tables(folder, pictures, suffix)
    tables = dict(zip(EXPLANATION_TABLES, paths, strict=False))
    header = not append

    def saliency(handle: IO[str]) -> None:
        write_tsv(handle, result.ids, result.sequences, result.structures, columns, header=header)

    def summary(handle: IO[str]) -> None:
        write_summary(
            handle, result.ids, result.probabilities, result.magnitudes, result.structures,
            header=header,
        )  # fmt: skip

    written = [
        write_table(tables["saliency.tsv"], saliency, append=append),
        write_table(tables["summary.tsv"], summary, append=append),
    ]
    failed: tuple[Failure, ...] = ()
    if pictures:
        taken = {n.casefold() for n in RESERVED_NAMES} if taken is None else taken
        names = unique_names(result.ids, reserved=taken)
        taken.update(n.casefold() for n in names)
        drawn, failed = save_pictures(result, folder, names, svg=svg, progress=progress)
        rows = zip(result.ids, names, strict=True)
        written += drawn
        written.append(
            write_table(
                tables["pictures.tsv"],
                _rows_writer(None if append else ("id", "folder"), rows),
                append=append,
            )
        )
    failures = [(f.id, f.reason) for f in (*result.failures, *failed)]
    written.insert(
        2,
        write_table(
            tables["failed.tsv"],
            _rows_writer(None if append else ("id", "reason"), failures),
            append=append,
        ),
    )
    return written, failed
