"""Out to millions of hairpins: chunked, resumable and distributed predictions and explanations.

:func:`mirnamap.pipeline.predict_hairpins` and :func:`~mirnamap.pipeline.explain_hairpins`
hand their work here when given ``out=`` (stream to files), ``resume=``, ``executor=``
(a Dask cluster), a folding ``temperature`` or ``energy_params``::

    summary = mirnamap.predict_hairpins("genome_hairpins.fa.gz", out="predictions.tsv")
    summary = mirnamap.predict_hairpins("hairpins.fa", out="p.tsv", resume=True)
    from distributed import Client
    summary = mirnamap.predict_hairpins("hairpins.fa", out="p.tsv", executor=Client(address))

The records are read lazily, ``chunk_size`` at a time (:func:`mirnamap.datasets.iter_fasta`,
:func:`mirnamap.fold.iter_folds`); each chunk is folded, drawn, predicted (and explained),
and its rows are appended to the output files before the next chunks are read, so memory
holds a few chunks whatever the input's size. Every chunk written is recorded in a journal
beside the output (``<out>.journal`` for predictions, ``journal.tsv`` in an explanation's
folder): its records' ids and a hash of the records and of the run's parameters, and the
output files' sizes after it. ``resume=True`` checks the chunks already written against
the input and the parameters, cuts off whatever an interrupted run wrote after the last
complete chunk, and goes on from there: the files end as an uninterrupted run's.

Engines. By default (``executor=None``) folding and drawing run in worker processes on this
machine (as :func:`mirnamap.fold.fold` does) and the model runs in this process, loaded
once. With a ``distributed.Client`` (or a scheduler address), each chunk is folded, drawn,
predicted and explained in a Dask worker; a worker loads the model once (a per-process
cache keyed by the model file's hash) and sets ViennaRNA's energy parameters once (a
worker plugin). Results come back in input order; a chunk whose task failed comes back
as failures that carry the error.

ViennaRNA keeps its energy parameters in process-global state and is not thread-safe:
both engines use processes (a Dask cluster should run one thread per worker process for
the folding: ``threads_per_worker=1``), and every process sets the run's temperature and
parameter file (:func:`mirnamap.fold.set_energy_parameters`) before folding.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.encode import Encoding, Failure
from mirnamap.files import check_output_dir, check_output_file, unique_names
from mirnamap.fold import Fold, fold, iter_folds, pool_context, set_energy_parameters
from mirnamap.pipeline import (
    Explanation,
    InputError,
    Inputs,
    Predictions,
    check_source_path,
    inputs_of_folds,
    kind_of_file,
    read_source,
)
from mirnamap.project import Projection

if TYPE_CHECKING:
    from mirnamap.ensemble import Ensemble

__all__ = [
    "Chunk",
    "StreamSummary",
    "iter_chunks",
    "run_explain",
    "run_predict",
]

#: Default records per chunk: ~7.5 MB of images, a few seconds of folding.
CHUNK_SIZE = 1000

#: Names in an explanation folder that no record's picture folder may take.
_RESERVED = ("saliency.tsv", "summary.tsv", "failed.tsv", "pictures.tsv", "journal.tsv")
_TMP = ".chunk-tmp"


class Chunk(NamedTuple):
    """Up to ``chunk_size`` consecutive input records, not yet folded or drawn.

    Attributes
    ----------
    number : int
        The chunk's position among the chunks (0-based).
    start : int
        The first record's position in the input.
    ids : tuple of str
        The records' ids.
    sequences : tuple of str or None
        Sequences to fold (FASTA, a list or dict of sequences); None otherwise.
    folds : list of Fold or None
        Rows of a folds TSV (folded already); None otherwise.
    inputs : Inputs or None
        Records drawn already (an encoding, an image archive, an array); None otherwise.
    name : str
        The source, for messages.
    """

    number: int
    start: int
    ids: tuple[str, ...]
    sequences: tuple[str, ...] | None
    folds: list[Fold] | None
    inputs: Inputs | None
    name: str

    def __len__(self) -> int:  # records, not fields
        return len(self.ids)

    def digest(self, salt: str) -> str:
        """SHA-256 of the run's parameters (``salt``) and of every record: id and
        sequence (and structure, for folds; the image, for drawn records)."""
        h = hashlib.sha256(salt.encode())
        if self.sequences is not None:
            for record_id, sequence in zip(self.ids, self.sequences, strict=True):
                h.update(f"{record_id}\0{sequence}\n".encode())
        elif self.folds is not None:
            for f in self.folds:
                h.update(f"{f.id}\0{f.sequence}\0{f.structure}\0{f.error}\n".encode())
        elif self.inputs is not None:
            h.update("\0".join(self.inputs.ids).encode())
            h.update(np.ascontiguousarray(self.inputs.images).tobytes())
            h.update(np.asarray(self.inputs.index).tobytes())
        else:
            raise ValueError(f"{self.name}: a chunk with no sequences, folds or images")
        return h.hexdigest()


@dataclass(frozen=True)
class StreamSummary:
    """What a streamed run wrote.

    Attributes
    ----------
    path : Path
        The predictions TSV, or the explanation folder.
    files : tuple of Path
        Every file the run appended to (the journal last).
    n_records : int
        Input records (asked for, with ``ids``).
    n_ok : int
        Records with a prediction (an explanation).
    n_failed : int
        Records without, each with its reason in the output.
    n_resumed : int
        Records found already written by an interrupted run and skipped.
    n_chunks : int
        Chunks of the input.
    seconds : float
        Wall time of the run.
    """

    path: Path
    files: tuple[Path, ...]
    n_records: int
    n_ok: int
    n_failed: int
    n_resumed: int
    n_chunks: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Records processed (not resumed) per second of the run."""
        done = self.n_records - self.n_resumed
        return done / self.seconds if self.seconds > 0 else float("nan")


# ------------------------------------------------------------------------------ input


def iter_chunks(source: Any, chunk_size: int = CHUNK_SIZE) -> Iterator[Chunk]:
    """The records of any source, ``chunk_size`` at a time, read lazily from files.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping, np.ndarray or Inputs
        What :func:`mirnamap.pipeline.read_source` reads. FASTA files and folds TSVs
        (plain or ``.gz``) are read as they go; an ``.npz``, an encoding or an array is
        in memory already and comes as one chunk.
    chunk_size : int, optional
        Records per chunk. Default is 1000.

    Yields
    ------
    Chunk
        In input order, numbered from 0.

    Raises
    ------
    InputError
        If the source cannot be used at all (as :func:`~mirnamap.pipeline.read_source`).
    """
    from mirnamap.datasets import iter_fasta

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if isinstance(source, (str, os.PathLike)):
        path = check_source_path(source)
        try:
            kind = kind_of_file(path)
            if kind == "npz":
                yield _whole(read_source(path), str(path))
                return
            start, number = 0, 0
            if kind == "fasta":
                for records in iter_fasta(path, chunk_size):
                    yield Chunk(
                        number, start, records.ids, records.sequences, None, None, str(path)
                    )
                    start, number = start + len(records), number + 1
            else:
                for folds in iter_folds(path, chunk_size):
                    ids = tuple(f.id for f in folds)
                    yield Chunk(number, start, ids, None, folds, None, str(path))
                    start, number = start + len(folds), number + 1
                if number == 0:
                    raise InputError(f"{path}: no records")
        except InputError:
            raise
        except (OSError, ValueError) as error:
            raise InputError(str(error)) from None
        return
    if isinstance(source, (Inputs, Encoding, np.ndarray)):
        yield _whole(read_source(source), "input")
        return
    if isinstance(source, Mapping):
        ids, sequences = [str(k) for k in source], [str(v) for v in source.values()]
    elif isinstance(source, Sequence):
        sequences = [str(s) for s in source]
        ids = [str(i) for i in range(len(sequences))]
    else:
        read_source(source)  # raises the TypeError naming what is accepted
        return
    for number, start in enumerate(range(0, len(ids), chunk_size)):
        end = start + chunk_size
        yield Chunk(
            number,
            start,
            tuple(ids[start:end]),
            tuple(sequences[start:end]),
            None,
            None,
            "sequences",
        )


def _whole(inputs: Inputs, name: str) -> Chunk:
    return Chunk(0, 0, inputs.ids, None, None, inputs, name)


def draw_chunk(
    chunk: Chunk, temperature: float | None = None, energy_params: str | None = None
) -> Inputs:
    """Fold (in this process) and draw one chunk; indices are positions in the chunk."""
    if chunk.inputs is not None:
        return chunk.inputs
    if chunk.folds is not None:
        return inputs_of_folds(chunk.folds, chunk.name, "read")
    if chunk.sequences is None:
        raise ValueError(f"{chunk.name}: a chunk with no sequences, folds or images")
    folds = fold(
        chunk.sequences,
        ids=chunk.ids,
        workers=1,
        temperature=temperature,
        energy_params=energy_params,
        progress=False,
    )
    return inputs_of_folds(folds, chunk.name, "fold")


# ------------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class _Job:
    """What is done to each drawn chunk: ``kind`` is "predict" or "explain"; ``options``
    the keywords of :func:`~mirnamap.pipeline.predict_hairpins` or
    :func:`~mirnamap.pipeline.explain_hairpins` (without source and model)."""

    kind: str
    options: dict[str, Any]
    temperature: float | None = None
    energy_params: str | None = None
    wanted: frozenset[str] | None = None  # explain: only these ids

    def run(self, inputs: Inputs, ensemble: Ensemble) -> Predictions | Explanation:
        from mirnamap.pipeline import explain_hairpins, predict_hairpins

        if self.kind == "predict":
            return predict_hairpins(inputs, ensemble, **self.options)
        ids = None
        if self.wanted is not None:
            ids = sorted({i for i in inputs.ids if i in self.wanted})
        return explain_hairpins(inputs, model=ensemble, ids=ids, **self.options)


def _failed_chunk(chunk: Chunk, job: _Job, error: BaseException) -> Predictions | Explanation:
    """A chunk whose task failed: every record fails, with the error as its reason."""
    reason = f"worker failed: {type(error).__name__}: {error}"
    records = [(k, i) for k, i in enumerate(chunk.ids) if job.wanted is None or i in job.wanted]
    failures = tuple(Failure(k, i, reason, "worker") for k, i in records)
    if job.kind == "predict":
        return Predictions(chunk.ids, np.full(len(chunk), np.nan), failures, None)
    return Explanation(
        ids=(),
        sequences=(),
        structures=(),
        index=np.zeros(0, np.int64),
        probabilities=np.zeros(0, np.float32),
        images=np.zeros((0, 25, 100, 3), np.uint8),
        layout=np.zeros((0, 25, 100), np.int16),
        methods=tuple(job.options["methods"]),
        maps={},
        projections={},
        magnitudes={},
        failures=failures,
        n_records=len(records),
    )


# ---------------------------------------------------------------------------- engines


def _local_results(
    chunks: Iterable[Chunk], job: _Job, ensemble: Ensemble, workers: int
) -> Iterator[tuple[Chunk, Predictions | Explanation]]:
    """Draw in ``workers`` processes (a bounded window of chunks ahead), predict and
    explain here with the one model; in input order."""
    if workers <= 1:
        set_energy_parameters(job.temperature, job.energy_params)
        for chunk in chunks:
            yield chunk, job.run(draw_chunk(chunk, job.temperature, job.energy_params), ensemble)
        return
    pool = concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=pool_context(),
        initializer=set_energy_parameters,
        initargs=(job.temperature, job.energy_params),
    )
    window: collections.deque = collections.deque()
    try:
        for chunk in chunks:
            if chunk.inputs is not None:  # nothing to fold
                window.append((chunk, None))
            else:
                window.append(
                    (chunk, pool.submit(draw_chunk, chunk, job.temperature, job.energy_params))
                )
            while len(window) > 2 * workers:
                done, future = window.popleft()
                yield done, job.run(future.result() if future else draw_chunk(done), ensemble)
        while window:
            done, future = window.popleft()
            yield done, job.run(future.result() if future else draw_chunk(done), ensemble)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


#: This process's models, by (model file hash, members, precision): a Dask worker loads
#: each model once, however many chunks it is given.
_MODELS: dict[tuple, Ensemble] = {}


def _worker_ensemble(model: tuple[str, str, bytes], members: tuple | None) -> Ensemble:
    from mirnamap.ensemble import resolve_ensemble

    digest, suffix, data = model
    key = (digest, members)
    if key not in _MODELS:
        folder = Path(tempfile.mkdtemp(prefix="mirnamap-model-"))
        path = folder / f"model{suffix}"
        path.write_bytes(data)
        _MODELS[key] = resolve_ensemble(path, members)
    return _MODELS[key]


def _remote_chunk(
    chunk: Chunk, job: _Job, model: tuple[str, str, bytes], members: tuple | None
) -> Predictions | Explanation:
    """The Dask task: fold, draw, predict (and explain) one chunk in a worker."""
    set_energy_parameters(job.temperature, job.energy_params)
    ensemble = _worker_ensemble(model, members)
    return job.run(draw_chunk(chunk, job.temperature, job.energy_params), ensemble)


class EnergyPlugin:
    """A Dask worker plugin: sets the run's ViennaRNA temperature and energy parameters in
    every worker process, those that join later included."""

    name = "mirnamap-energy"

    def __init__(self, temperature: float | None, energy_params: str | None) -> None:
        self.temperature = temperature
        self.energy_params = energy_params

    def setup(self, worker: Any) -> None:
        set_energy_parameters(self.temperature, self.energy_params)

    def teardown(self, worker: Any) -> None:
        pass

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        pass


def as_client(executor: Any) -> Any:
    """A ``distributed.Client``: the one given, or one connected to a scheduler address."""
    if isinstance(executor, str):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - distributed is an optional dependency
            raise ImportError(
                "a Dask scheduler needs the 'distributed' package: pip install mirnamap[dask]"
            ) from None
        return Client(executor)
    if not hasattr(executor, "submit") or not hasattr(executor, "register_plugin"):
        raise TypeError(
            "executor must be a distributed.Client or a scheduler address, "
            f"got {type(executor).__name__}"
        )
    return executor


def _dask_results(
    chunks: Iterable[Chunk], job: _Job, client: Any, model: tuple[str, str, bytes], members: Any
) -> Iterator[tuple[Chunk, Predictions | Explanation]]:
    """Each chunk a task on the cluster (a bounded window in flight); in input order."""
    from distributed import WorkerPlugin

    plugin = type("MirnamapEnergy", (EnergyPlugin, WorkerPlugin), {})(
        job.temperature, job.energy_params
    )
    client.register_plugin(plugin, name=EnergyPlugin.name)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    [model_future] = client.scatter([model], broadcast=True, hash=False)
    window: collections.deque = collections.deque()

    def result(chunk: Chunk, future: Any) -> Predictions | Explanation:
        try:
            return future.result()
        except Exception as error:  # a lost worker, a crash: the records fail with it
            return _failed_chunk(chunk, job, error)

    for chunk in chunks:
        window.append(
            (chunk, client.submit(_remote_chunk, chunk, job, model_future, members, pure=False))
        )
        while len(window) > 2 * n_workers:
            done = window.popleft()
            yield done[0], result(*done)
    while window:
        done = window.popleft()
        yield done[0], result(*done)


def _model_bytes(model: Any, members: Any) -> tuple[tuple[str, str, bytes], Any]:
    """The model as (hash, suffix, file bytes) to ship to workers, and the members to keep."""
    from mirnamap.ensemble import DEFAULT_ENSEMBLE, DEFAULT_MODEL, Ensemble, save_ensemble

    if model is None:
        model = DEFAULT_ENSEMBLE if DEFAULT_ENSEMBLE.is_file() else DEFAULT_MODEL
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        data = path.read_bytes()
        suffix = ".zip" if path.suffix == ".zip" else ".keras"
    else:
        with tempfile.TemporaryDirectory() as folder:
            if isinstance(model, Ensemble):
                path = save_ensemble(model, Path(folder) / "model.zip")
            else:
                from mirnamap.model import save_model

                path = save_model(model, Path(folder) / "model.keras")
            data, suffix = path.read_bytes(), path.suffix
    members = None if members is None else tuple(members)
    return (hashlib.sha256(data).hexdigest(), suffix, data), members


# ----------------------------------------------------------------------------- output


class _Journal:
    """The record of the chunks written: a JSON header line, then per chunk: number,
    records, first id, last id, digest, ok, failed and the output files' sizes."""

    def __init__(self, path: Path, files: Sequence[Path], salt: str, chunk_size: int) -> None:
        self.path, self.files, self.salt, self.chunk_size = path, list(files), salt, chunk_size
        self.done: list[list[str]] = []

    def header(self) -> str:
        names = [f.name for f in self.files]
        return json.dumps(
            {"journal": 1, "run": self.salt, "chunk_size": self.chunk_size, "files": names}
        )

    def start(self) -> None:
        self.path.write_text(self.header() + "\n", encoding="utf-8")

    def resume(self) -> bool:
        """Read what an interrupted run wrote; cut the files back to its last complete
        chunk. False if there is nothing to resume (no journal)."""
        if not self.path.is_file():
            return False
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0])
        except (IndexError, json.JSONDecodeError):
            raise ValueError(f"{self.path}: not a mirnamap journal; rerun without resume") from None
        if head.get("run") != self.salt:
            raise ValueError(
                f"{self.path}: written by a run with other parameters (model, methods, "
                "options or folding parameters); rerun without resume to start afresh"
            )
        self.chunk_size = int(head["chunk_size"])
        self.done = [line.split("\t") for line in lines[1:] if line.count("\t") >= 7]
        sizes = [int(s) for s in self.done[-1][7].split(",")] if self.done else None
        for k, path in enumerate(self.files):
            if sizes is None:
                path.write_bytes(b"")
            elif not path.is_file() or path.stat().st_size < sizes[k]:
                raise ValueError(f"{path}: shorter than the journal says; rerun without resume")
            else:
                with open(path, "r+b") as handle:
                    handle.truncate(sizes[k])
        # Rewrite the journal without a half-written last line.
        self.path.write_text(
            "\n".join([self.header(), *("\t".join(d) for d in self.done)]) + "\n", encoding="utf-8"
        )
        return True

    def check(self, chunk: Chunk, digest: str) -> tuple[int, int] | None:
        """(ok, failed) of a chunk written already, None if not written; a chunk whose
        records differ from those written raises."""
        if chunk.number >= len(self.done):
            return None
        _, n, first, last, written, ok, failed = self.done[chunk.number][:7]
        ids = (chunk.ids[0], chunk.ids[-1]) if len(chunk) else ("", "")
        if (int(n), first, last, written) != (len(chunk), *ids, digest):
            raise ValueError(
                f"{chunk.name}: records {chunk.start + 1}-{chunk.start + len(chunk)} (ids "
                f"{ids[0]!r}..{ids[1]!r}) differ from those the interrupted run wrote "
                "(another input?); rerun without resume"
            )
        return int(ok), int(failed)

    def commit(self, chunk: Chunk, digest: str, ok: int, failed: int) -> None:
        sizes = ",".join(str(f.stat().st_size) for f in self.files)
        ids = (chunk.ids[0], chunk.ids[-1]) if len(chunk) else ("", "")
        line = [str(chunk.number), str(len(chunk)), *ids, digest, str(ok), str(failed), sizes]
        self.done.append(line)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write("\t".join(line) + "\n")


def _append_body(source: Path, target: Path, with_header: bool) -> None:
    """Append ``source``'s text to ``target``, without its header line unless asked."""
    text = source.read_text(encoding="utf-8")
    if not with_header:
        text = text.split("\n", 1)[1] if "\n" in text else ""
    with open(target, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()


class _PredictionsFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.files = [path]

    def write(self, result: Predictions, first: bool) -> None:
        with tempfile.TemporaryDirectory(dir=self.path.parent, prefix=".mirnamap-") as tmp:
            part = result.save(Path(tmp) / "part.tsv")
            _append_body(part, self.path, first)


class _ExplanationFolder:
    def __init__(self, folder: Path, pictures: bool, svg: bool) -> None:
        self.folder, self.pictures, self.svg = folder, pictures, svg
        self.files = [folder / n for n in _RESERVED[: 4 if pictures else 3]]
        self.taken: set[str] = {n.casefold() for n in (*_RESERVED, _TMP)}

    def restore_names(self) -> None:
        """The picture folders already written (by an interrupted run) stay taken."""
        table = self.folder / "pictures.tsv"
        if self.pictures and table.is_file():
            for line in table.read_text(encoding="utf-8").splitlines()[1:]:
                self.taken.add(line.split("\t")[-1].casefold())

    def write(self, result: Explanation, first: bool) -> None:
        tmp = self.folder / _TMP
        shutil.rmtree(tmp, ignore_errors=True)
        failed = result.save(tmp, pictures=self.pictures, svg=self.svg, progress=False)
        for name in ("saliency.tsv", "summary.tsv", "failed.tsv"):
            _append_body(tmp / name, self.folder / name, first)
        del failed
        if self.pictures:
            local = [
                line.split("\t") for line in (tmp / "pictures.tsv").read_text().splitlines()[1:]
            ]
            final = unique_names([i for i, _ in local], reserved=self.taken)
            rows = []
            for (record_id, name), new in zip(local, final, strict=True):
                self.taken.add(new.casefold())
                target = self.folder / new
                shutil.rmtree(target, ignore_errors=True)  # left by an interrupted run
                if (tmp / name).is_dir():
                    (tmp / name).rename(target)
                rows.append(f"{record_id}\t{new}\n")
            with open(self.folder / "pictures.tsv", "a", encoding="utf-8", newline="") as handle:
                if first:
                    handle.write("id\tfolder\n")
                handle.writelines(rows)
        shutil.rmtree(tmp, ignore_errors=True)


def _counts(result: Predictions | Explanation) -> tuple[int, int]:
    if isinstance(result, Predictions):
        ok = int(result.ok.sum())
        return ok, len(result) - ok
    return len(result), len(result.failures)


# ---------------------------------------------------------------------------- joining


def _offset(failures: Iterable[Failure], start: int) -> tuple[Failure, ...]:
    return tuple(f._replace(index=f.index + start) for f in failures)


def _join_values(values: list[Any], name: str) -> Any:
    first = values[0]
    if name == "n_records":
        return sum(values)
    if isinstance(first, Projection):
        return Projection(
            *(_join_values([v[k] for v in values], "") for k in range(len(first._fields)))
        )
    if isinstance(first, np.ndarray):
        return np.concatenate(values)
    if isinstance(first, tuple):
        return tuple(x for v in values for x in v)
    if isinstance(first, dict) and name == "seconds":
        return {k: sum(v.get(k, 0.0) for v in values) for k in first}
    if isinstance(first, dict) and name not in ("params",):
        keys = [k for k in first if all(k in v for v in values)]
        return {k: _join_values([v[k] for v in values], k) for k in keys}
    return first


def join_results(parts: list[tuple[Chunk, Predictions | Explanation]]) -> Predictions | Explanation:
    """The chunks' results as one, as if the whole input had been run at once."""
    if isinstance(parts[0][1], Predictions):
        results = [r for _, r in parts]
        labels = [r.labels for r in results]
        several = results[0].sd is not None
        return Predictions(
            tuple(i for r in results for i in r.ids),
            np.concatenate([r.probabilities for r in results]),
            tuple(f for c, r in parts for f in _offset(r.failures, c.start)),
            None if any(x is None for x in labels) else np.concatenate(labels),
            results[0].threshold,
            np.concatenate([r.sd for r in results]) if several else None,
            np.concatenate([r.calibrated for r in results]) if several else None,
        )
    shifted = [
        replace(r, index=r.index + c.start, failures=_offset(r.failures, c.start))
        for c, r in parts
        if len(r) or r.failures or r.n_records
    ] or [parts[0][1]]
    full = [r for r in shifted if r.maps] or shifted
    values = {}
    for f in fields(Explanation):
        group = full if f.name not in ("failures", "n_records") else shifted
        values[f.name] = _join_values([getattr(r, f.name) for r in group], f.name)
    return Explanation(**values)


# -------------------------------------------------------------------------------- run


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
    job: _Job,
    model: Any,
    members: Any,
    *,
    sink: _PredictionsFile | _ExplanationFolder | None,
    journal_path: Path | None,
    chunk_size: int,
    resume: bool,
    executor: Any,
    workers: int | None,
    progress: bool | None,
    salt: str,
) -> StreamSummary | Predictions | Explanation:
    from tqdm.auto import tqdm

    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.fold import available_cores

    began = time.perf_counter()
    journal = None
    if sink is not None and journal_path is not None:
        journal = _Journal(journal_path, sink.files, salt, chunk_size)
        resumed = resume and journal.resume()
        if not resumed:
            for path in sink.files:
                path.write_bytes(b"")
            journal.start()
        elif isinstance(sink, _ExplanationFolder):
            sink.restore_names()
        chunk_size = journal.chunk_size
    counts = {"records": 0, "ok": 0, "failed": 0, "resumed": 0, "chunks": 0}
    total = _progress_total(source)
    bar = tqdm(total=total, unit="record", desc=job.kind, disable=progress is False, smoothing=0.1)
    chunks = iter_chunks(source, chunk_size)
    digests: dict[int, str] = {}
    first_written = [journal is None or not journal.done]

    def pending() -> Iterator[Chunk]:
        """The chunks still to run; those written already are counted and skipped."""
        for chunk in chunks:
            counts["chunks"] += 1
            digests[chunk.number] = chunk.digest(salt)
            done = journal.check(chunk, digests[chunk.number]) if journal else None
            if done is not None:
                counts["resumed"] += len(chunk)
                counts["ok"] += done[0]
                counts["failed"] += done[1]
                counts["records"] += done[0] + done[1]
                bar.update(len(chunk))
                continue
            yield chunk

    stack = contextlib.ExitStack()
    if executor is None:
        ensemble = resolve_ensemble(model, members)
        cores = available_cores() if workers is None else workers
        results = _local_results(pending(), job, ensemble, cores)
    else:
        blob, kept = _model_bytes(model, members)
        client = as_client(executor)
        if isinstance(executor, str):  # a client of our own: closed when the run ends
            stack.callback(client.close)
        results = _dask_results(pending(), job, client, blob, kept)
    parts = []
    try:
        for chunk, result in results:
            ok, failed = _counts(result)
            counts["ok"] += ok
            counts["failed"] += failed
            counts["records"] += ok + failed
            if sink is None:
                parts.append((chunk, result))
            else:
                sink.write(result, first_written[0])
                first_written[0] = False
                if journal is not None:
                    journal.commit(chunk, digests.pop(chunk.number), ok, failed)
            bar.update(len(chunk))
    finally:
        bar.close()
        stack.close()
    if sink is None:
        return join_results(parts)
    return StreamSummary(
        sink.folder if isinstance(sink, _ExplanationFolder) else sink.path,
        (*sink.files, *([journal.path] if journal else [])),
        counts["records"],
        counts["ok"],
        counts["failed"],
        counts["resumed"],
        counts["chunks"],
        time.perf_counter() - began,
    )


def _model_salt(model: Any) -> str:
    """What names the model in a run's hash: its file's SHA-256 (the bundled one's too),
    or for a model in memory its weights'."""
    from mirnamap.ensemble import DEFAULT_ENSEMBLE, DEFAULT_MODEL, Ensemble

    if model is None:
        model = DEFAULT_ENSEMBLE if DEFAULT_ENSEMBLE.is_file() else DEFAULT_MODEL
    h = hashlib.sha256()
    if isinstance(model, (str, os.PathLike)):
        with open(model, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    members = model.members if isinstance(model, Ensemble) else [model]
    for member in members:
        for weights in member.get_weights():
            h.update(np.ascontiguousarray(weights).tobytes())
    if isinstance(model, Ensemble):
        h.update(repr((model.temperature, model.bias, model.names)).encode())
    return h.hexdigest()


def _salt(kind: str, model: Any, members: Any, options: Mapping[str, Any], extra: Any) -> str:
    text = json.dumps(
        {
            "kind": kind,
            "model": _model_salt(model),
            "members": None if members is None else [str(m) for m in members],
            "options": {k: v for k, v in options.items() if k not in ("batch_size", "progress")},
            "extra": extra,
        },
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _energy_salt(energy: str | None) -> str | None:
    """A parameter file counts by its content, a named set by its name."""
    if energy is None or not os.path.isfile(energy):
        return energy
    return hashlib.sha256(Path(energy).read_bytes()).hexdigest()


def run_predict(
    source: Any,
    model: Any = None,
    *,
    members: Sequence[int | str] | None = None,
    out: str | os.PathLike[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    resume: bool = False,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
    **options: Any,
) -> StreamSummary | Predictions:
    """:func:`mirnamap.pipeline.predict_hairpins` in chunks (its ``out=`` and the rest).

    ``options`` are predict_hairpins' ``threshold``, ``batch_size`` and ``precision``.
    Returns a :class:`StreamSummary` with ``out``, else the joined
    :class:`~mirnamap.pipeline.Predictions`.
    """
    from mirnamap.fold import check_energy_params

    energy = check_energy_params(energy_params)
    job = _Job("predict", dict(options), temperature, energy)
    salt = _salt("predict", model, members, options, (temperature, _energy_salt(energy)))
    sink = journal = None
    if out is not None:
        path = check_output_file(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        sink, journal = _PredictionsFile(path), path.with_name(path.name + ".journal")
    if resume and out is None:
        raise ValueError("resume needs out=: the file to resume")
    return _run(
        source, job, model, members, sink=sink, journal_path=journal, chunk_size=chunk_size,
        resume=resume, executor=executor, workers=workers, progress=progress, salt=salt,
    )  # fmt: skip


def run_explain(
    source: Any,
    methods: tuple[str, ...],
    model: Any = None,
    *,
    ids: Sequence[str] | None = None,
    members: Sequence[int | str] | None = None,
    out: str | os.PathLike[str] | None = None,
    pictures: bool = False,
    svg: bool = False,
    chunk_size: int = CHUNK_SIZE,
    resume: bool = False,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
    **options: Any,
) -> StreamSummary | Explanation:
    """:func:`mirnamap.pipeline.explain_hairpins` in chunks (its ``out=`` and the rest).

    ``options`` are explain_hairpins' ``target``, ``params``, ``channels``, ``batch_size``,
    ``seed`` and ``precision``; ``pictures`` (and ``svg``) draw the per-record pictures
    into ``out``. Returns a :class:`StreamSummary` with ``out``, else the joined
    :class:`~mirnamap.pipeline.Explanation`.
    """
    from mirnamap.fold import check_energy_params

    energy = check_energy_params(energy_params)
    wanted = None
    if ids is not None:
        if isinstance(ids, str):
            raise TypeError("ids must be a list of record ids, not one string")
        wanted = frozenset(map(str, ids))
        seen: set[str] = set()
        for chunk in iter_chunks(source, chunk_size):  # ids only: nothing is folded
            seen.update(i for i in chunk.ids if i in wanted)
        missing = sorted(wanted - seen)
        if missing:
            name = str(source) if isinstance(source, (str, os.PathLike)) else "sequences"
            raise ValueError(f"{name}: no record(s) {missing}")
    # One progress bar over the chunks, none inside each.
    options = {"methods": tuple(methods), **options, "progress": False}
    job = _Job("explain", options, temperature, energy, wanted)
    extra = (temperature, _energy_salt(energy), None if wanted is None else sorted(wanted))
    salt = _salt("explain", model, members, options, extra)
    sink = journal = None
    if out is not None:
        folder = check_output_dir(out)
        folder.mkdir(parents=True, exist_ok=True)
        sink, journal = _ExplanationFolder(folder, pictures, svg), folder / "journal.tsv"
    if resume and out is None:
        raise ValueError("resume needs out=: the folder to resume")
    return _run(
        source, job, model, members, sink=sink, journal_path=journal, chunk_size=chunk_size,
        resume=resume, executor=executor, workers=workers, progress=progress, salt=salt,
    )  # fmt: skip
