"""Streamed, resumable and distributed runs: out to millions of hairpins.

::

    summary = mirnamap.stream_predictions("genome_hairpins.fa.gz", "predictions.tsv")
    summary = mirnamap.stream_predictions("hairpins.fa", "p.tsv", resume=True)
    from distributed import Client
    summary = mirnamap.stream_explanations("hairpins.fa", "out/", executor=Client(address))

The records are read lazily, ``chunk_size`` at a time
(:func:`~mirnamap.pipeline.chunks.iter_chunks`); each chunk is folded, drawn, predicted
(and explained) by the in-memory cores (:func:`~mirnamap.pipeline.predict.predict_inputs`,
:func:`~mirnamap.pipeline.explain.explain_inputs`) on an engine of
:mod:`mirnamap.pipeline.executors`, and its rows are appended to the output files by the
writers of :mod:`mirnamap.pipeline.writers` before the next chunks are read, so memory
holds a few chunks whatever the input's size. A journal
(:mod:`mirnamap.pipeline.journal`) records every chunk written; ``resume=True`` goes on
from the last complete one, and the files end as an uninterrupted run's: byte for byte
what :meth:`Predictions.save` and :meth:`Explanation.save` write for the whole input.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirnamap.errors import MirnamapWarning, OutputError
from mirnamap.files import check_output_dir, check_output_file, output_error
from mirnamap.pipeline.chunks import RECORDS_PER_CHUNK, Chunk, iter_chunks
from mirnamap.pipeline.executors import Job, as_client, dask_results, local_results, model_bytes
from mirnamap.pipeline.explain import ExplainOptions
from mirnamap.pipeline.journal import Journal, energy_salt, run_salt
from mirnamap.pipeline.predict import PredictOptions, resolve_model
from mirnamap.pipeline.results import Explanation, Predictions, StreamSummary
from mirnamap.pipeline.sources import Source, kind_of_source, missing_ids
from mirnamap.pipeline.writers import (
    JOURNAL,
    PARTIAL,
    RESERVED_NAMES,
    explanation_tables,
    write_explanation,
    write_predictions,
)

if TYPE_CHECKING:
    import keras

    from mirnamap.ensemble import Ensemble

__all__ = ["stream_explanations", "stream_predictions"]


class _PredictionsSink:
    """The predictions TSV, a chunk's rows at a time, into ``<out>.partial`` until the run
    completes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.final = [path]
        self.files = [path.with_name(path.name + PARTIAL)]

    def write(self, result: Predictions, first: bool) -> None:
        write_predictions(self.files[0], result, append=not first)


class _ExplanationSink:
    """An explanation folder's tables (``<table>.partial`` until the run completes) and
    pictures, a chunk at a time."""

    def __init__(self, folder: Path, pictures: bool, svg: bool) -> None:
        self.folder, self.pictures, self.svg = folder, pictures, svg
        self.final = explanation_tables(folder, pictures)
        self.files = explanation_tables(folder, pictures, PARTIAL)
        self.taken: set[str] = {n.casefold() for n in RESERVED_NAMES}

    def restore_names(self) -> None:
        """The picture folders already written (by an interrupted run) stay taken."""
        table = self.files[-1]
        if self.pictures and table.is_file():
            for line in table.read_text(encoding="utf-8").splitlines()[1:]:
                self.taken.add(line.split("\t")[-1].casefold())

    def write(self, result: Explanation, first: bool) -> None:
        write_explanation(
            self.folder, result, append=not first, pictures=self.pictures, svg=self.svg,
            taken=self.taken, progress=False, suffix=PARTIAL,
        )  # fmt: skip


def _reopen_finished(sink: _PredictionsSink | _ExplanationSink, journal_path: Path) -> None:
    """A resumed run whose last run finished: its final files are the ones to go on with
    (to check every chunk, and to extend them if the input grew)."""
    if journal_path.is_file() and not any(p.exists() for p in sink.files):
        if all(p.is_file() for p in sink.final):
            for final, partial in zip(sink.final, sink.files, strict=True):
                os.replace(final, partial)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``path`` (a lock file beside the output) for the run: a second run on the same
    output is refused at once, with a message. The lock goes with the process, however it
    ends (an advisory ``flock``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no lock
        yield
        return
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:
        raise output_error(path, error) from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            output = path.parent / path.name.removesuffix(".lock").lstrip(".")
            raise OutputError(
                f"{output if output != path.parent else path.parent}: another run is writing "
                f"it (process {holder}); wait for it to end, or write elsewhere"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


def _counts(result: Predictions | Explanation) -> tuple[int, int]:
    if isinstance(result, Predictions):
        ok = int(result.ok.sum())
        return ok, len(result) - ok
    return len(result), len(result.failures)


def _progress_total(source: Any) -> int | None:
    from mirnamap.datasets import count_records

    if isinstance(source, (str, os.PathLike)) and Path(source).suffix != ".npz":
        try:
            return count_records(source)
        except (OSError, ValueError):
            return None
    if isinstance(source, (Mapping, Sequence)) and not isinstance(source, str):
        return len(source)
    return None


def _run(
    source: Any,
    job: Job,
    model: Any,
    members: Any,
    *,
    sink: _PredictionsSink | _ExplanationSink,
    journal_path: Path,
    chunk_size: int,
    resume: bool,
    executor: Any,
    workers: int | None,
    progress: bool | None,
    salt: str,
) -> StreamSummary:
    from tqdm.auto import tqdm

    from mirnamap.fold import available_cores
    from mirnamap.pipeline.writers import write_table

    began = time.perf_counter()
    # The model and the cluster first: one that cannot be had fails before any file is made.
    stack = contextlib.ExitStack()
    if executor is None:
        ensemble = resolve_model(model, members, job.model_precision)
        cores = available_cores() if workers is None else workers

        def engine(chunks: Iterator[Chunk]) -> Iterator:
            return local_results(chunks, job, ensemble, cores)

    else:
        blob, kept = model_bytes(model, members)
        client = as_client(executor)
        if isinstance(executor, str):  # a client of our own: closed when the run ends
            stack.callback(client.close)

        def engine(chunks: Iterator[Chunk]) -> Iterator:
            return dask_results(chunks, job, client, blob, kept)

    with stack:  # a client of our own is closed however the run ends
        if resume:
            _reopen_finished(sink, journal_path)
        journal = Journal(journal_path, sink.files, salt, chunk_size)
        resumed = resume and journal.resume()
        if not resumed:
            for path in sink.files:
                write_table(path, lambda handle: None, append=False)  # empty, as the journal says
            journal.start()
        elif isinstance(sink, _ExplanationSink):
            sink.restore_names()
        if journal.chunk_size != chunk_size and chunk_size != RECORDS_PER_CHUNK:
            warnings.warn(
                f"{journal.path}: resuming in the interrupted run's chunks of {journal.chunk_size} "
                f"records, not {chunk_size}",
                MirnamapWarning,
                stacklevel=3,
            )
        chunk_size = journal.chunk_size
        counts = {"records": 0, "ok": 0, "failed": 0, "resumed": 0, "chunks": 0}
        total = _progress_total(source)
        bar = tqdm(
            total=total, unit="record", desc=job.kind, disable=progress is False, smoothing=0.1
        )
        chunks = iter_chunks(source, chunk_size)
        digests: dict[int, str] = {}
        first_written = [not journal.done]

        def pending() -> Iterator[Chunk]:
            """The chunks still to run; those written already are counted and skipped."""
            for chunk in chunks:
                counts["chunks"] += 1
                digests[chunk.number] = chunk.digest(salt)
                done = journal.check(chunk, digests[chunk.number])
                if done is not None:
                    counts["resumed"] += len(chunk)
                    counts["ok"] += done[0]
                    counts["failed"] += done[1]
                    counts["records"] += done[0] + done[1]
                    bar.update(len(chunk))
                    continue
                yield chunk

        results = engine(pending())
        try:
            for chunk, result in results:
                ok, failed = _counts(result)
                counts["ok"] += ok
                counts["failed"] += failed
                counts["records"] += ok + failed
                sink.write(result, first_written[0])
                first_written[0] = False
                journal.commit(chunk, digests.pop(chunk.number), ok, failed)
                bar.update(len(chunk))
        finally:
            bar.close()
        for partial, final in zip(sink.files, sink.final, strict=True):  # complete: the real names
            try:
                os.replace(partial, final)
            except OSError as error:
                raise output_error(final, error) from None
        return StreamSummary(
            sink.folder if isinstance(sink, _ExplanationSink) else sink.path,
            (*sink.final, journal.path),
            counts["records"],
            counts["ok"],
            counts["failed"],
            counts["resumed"],
            counts["chunks"],
            time.perf_counter() - began,
        )


def stream_predictions(
    source: Source,
    out: str | os.PathLike[str],
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    *,
    members: Sequence[int | str] | None = None,
    threshold: float | None = None,
    batch_size: int = 256,
    precision: str = "float32",
    chunk_size: int = RECORDS_PER_CHUNK,
    resume: bool = False,
    executor: Any = None,
    workers: int | None = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> StreamSummary:
    """Predict every record of any input in chunks, appending the rows to a TSV.

    Reads, folds, draws and predicts ``chunk_size`` records at a time, holding a few
    chunks in memory whatever the input's size. The TSV is byte for byte what
    :meth:`Predictions.save` writes for the whole input.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping, or np.ndarray
        Anything :func:`~mirnamap.pipeline.read_source` reads; FASTA files and folds
        TSVs are read as they go.
    out : path
        The predictions TSV; its journal is ``<out>.journal``.
    model, members, threshold, batch_size, precision, workers, temperature, energy_params
        As in :func:`~mirnamap.pipeline.predict_hairpins`.
    chunk_size : int, optional
        Records per chunk. Default is 1000.
    resume : bool, optional
        Skip the records an interrupted run wrote (checked by id and by a hash of the
        records and of this run's parameters) and go on. Default is False.
    executor : distributed.Client or str, optional
        A Dask cluster (a client or a scheduler address): every chunk is folded, drawn
        and predicted in a worker, which loads the model once. Default is None: folding
        in processes on this machine, the model in this one.
    progress : bool, optional
        A progress bar (records per second, time left). Default is None: on a terminal.

    Returns
    -------
    StreamSummary
        What was written.
    """
    from mirnamap.fold import check_energy_params

    options = PredictOptions(threshold, batch_size, precision)
    kind_of_source(source)  # a source of no known kind fails before anything is written
    energy = check_energy_params(energy_params)
    job = Job(options, temperature, energy)
    extra = (temperature, energy_salt(energy))
    salt = run_salt("predict", model, members, _salted(options), extra)
    path = check_output_file(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_name(f".{path.name}.lock")):
        return _run(
            source, job, model, members, sink=_PredictionsSink(path),
            journal_path=path.with_name(path.name + ".journal"), chunk_size=chunk_size,
            resume=resume, executor=executor, workers=workers, progress=progress, salt=salt,
        )  # fmt: skip


def stream_explanations(
    source: Source,
    out: str | os.PathLike[str],
    methods: str | Sequence[str] | None = None,
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    *,
    target: str | int | None = "pre-mirna",
    ids: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    members: Sequence[int | str] | None = None,
    pictures: bool = False,
    svg: bool = False,
    channels: bool = False,
    batch_size: int = 64,
    seed: int = 0,
    precision: str = "float32",
    member_samples: str = "each",
    chunk_size: int = RECORDS_PER_CHUNK,
    resume: bool = False,
    executor: Any = None,
    workers: int | None = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> StreamSummary:
    """Explain every record of any input in chunks, appending to an explanation folder.

    ``chunk_size`` records at a time are read, folded, drawn, predicted and explained,
    and their rows appended to what :meth:`Explanation.save` writes (``saliency.tsv``,
    ``summary.tsv``, ``failed.tsv``, and with ``pictures`` the per-record folders and
    ``pictures.tsv``); the folder's journal is ``journal.tsv``.

    Parameters
    ----------
    source : path, Encoding, sequence of str or mapping of str to str
        Anything :func:`~mirnamap.pipeline.read_source` reads that has sequences.
    out : path
        The explanation folder.
    methods, model, target, ids, params, members, channels, batch_size, seed
        As in :func:`~mirnamap.pipeline.explain_hairpins`.
    precision, member_samples, workers, temperature, energy_params
        As in :func:`~mirnamap.pipeline.explain_hairpins`.
    pictures, svg : bool, optional
        Also draw each record's pictures (and SVGs). Default is False.
    chunk_size, resume, executor, progress
        As in :func:`stream_predictions`.

    Returns
    -------
    StreamSummary
        What was written.
    """
    from mirnamap.fold import check_energy_params

    # One progress bar over the chunks, none inside each.
    options = ExplainOptions.check(
        methods, target=target, params=params, channels=channels, batch_size=batch_size,
        seed=seed, precision=precision, member_samples=member_samples, progress=False,
    )  # fmt: skip
    kind_of_source(source)  # a source of no known kind fails before anything is written
    energy = check_energy_params(energy_params)
    wanted = None
    if ids is not None:
        missing_ids(ids, None, "")  # a single string is refused before any reading
        wanted = frozenset(map(str, ids))
        seen: set[str] = set()
        for chunk in iter_chunks(source, chunk_size):  # ids only: nothing is folded
            seen.update(i for i in chunk.ids if i in wanted)
        name = str(source) if isinstance(source, (str, os.PathLike)) else "sequences"
        missing_ids(ids, seen, name)
    job = Job(options, temperature, energy, wanted)
    # What is drawn is part of what is written: a resume with other picture options is refused.
    extra = (
        temperature, energy_salt(energy), None if wanted is None else sorted(wanted),
        {"pictures": bool(pictures), "svg": bool(svg and pictures)},
    )  # fmt: skip
    salt = run_salt("explain", model, members, _salted(options), extra)
    folder = check_output_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".lock"):
        return _run(
            source, job, model, members, sink=_ExplanationSink(folder, pictures, svg),
            journal_path=folder / JOURNAL, chunk_size=chunk_size, resume=resume,
            executor=executor, workers=workers, progress=progress, salt=salt,
        )  # fmt: skip


def _salted(options: PredictOptions | ExplainOptions) -> dict[str, Any]:
    """The options that change what is written (not the batch size or the progress bar)."""
    from dataclasses import asdict

    return {k: v for k, v in asdict(options).items() if k not in ("batch_size", "progress")}
