"""Where a streamed run's chunks are folded, drawn, predicted and explained.

* :func:`local_results`: folding and drawing in worker processes on this machine
  (:mod:`mirnamap.workers`), a bounded window of chunks ahead; the model runs in this
  process, loaded once.
* :func:`dask_results`: each chunk a task on a Dask cluster; a worker loads the model once
  (a per-process cache keyed by the model file's hash) and sets ViennaRNA's energy
  parameters once (a worker plugin, :class:`EnergyPlugin`).

Results come back in input order. A failure of the machinery (a worker that died, a lost
model) is retried or stops the run with a :class:`~mirnamap.errors.WorkerError`; it is
never written as the records' own failure.

ViennaRNA keeps its energy parameters in process-global state and is not thread-safe:
both engines use processes (a Dask cluster should run one thread per worker process for
the folding: ``threads_per_worker=1``), and every process sets the run's temperature and
parameter file (:func:`mirnamap.fold.set_energy_parameters`) before folding.
"""

from __future__ import annotations

import collections
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mirnamap.errors import WorkerError
from mirnamap.fold import set_energy_parameters
from mirnamap.pipeline.chunks import Chunk, draw_chunk
from mirnamap.pipeline.explain import ExplainOptions, explain_inputs
from mirnamap.pipeline.predict import PredictOptions, predict_inputs
from mirnamap.pipeline.results import Explanation, Predictions
from mirnamap.pipeline.sources import Inputs
from mirnamap.workers import executor

if TYPE_CHECKING:
    from mirnamap.ensemble import Ensemble

__all__ = [
    "DASK_TRIES",
    "DASK_WAIT",
    "EnergyPlugin",
    "Job",
    "as_client",
    "dask_results",
    "local_results",
    "model_bytes",
]


@dataclass(frozen=True)
class Job:
    """What is done to each drawn chunk: predict (with :class:`PredictOptions`) or explain
    (with :class:`ExplainOptions`), through the in-memory cores, never the public verbs."""

    options: PredictOptions | ExplainOptions
    temperature: float | None = None
    energy_params: str | None = None
    wanted: frozenset[str] | None = None  # explain: only these ids

    @property
    def kind(self) -> str:
        """ "predict" or "explain"."""
        return "predict" if isinstance(self.options, PredictOptions) else "explain"

    def run(self, inputs: Inputs, ensemble: Ensemble) -> Predictions | Explanation:
        """Predict or explain one drawn chunk."""
        if isinstance(self.options, PredictOptions):
            return predict_inputs(inputs, ensemble, self.options)
        ids = None
        if self.wanted is not None:
            ids = sorted({i for i in inputs.ids if i in self.wanted})
        return explain_inputs(inputs, ensemble, self.options, ids=ids)

    @property
    def model_precision(self) -> str:
        """The arithmetic the model itself runs in: a prediction's precision; an
        explanation predicts in float32 (its backends take the precision themselves)."""
        return self.options.precision if isinstance(self.options, PredictOptions) else "float32"


def local_results(
    chunks: Iterable[Chunk], job: Job, ensemble: Ensemble, workers: int
) -> Iterator[tuple[Chunk, Predictions | Explanation]]:
    """Draw in ``workers`` processes (a bounded window of chunks ahead), predict and
    explain here with the one model; in input order."""
    if workers <= 1:
        set_energy_parameters(job.temperature, job.energy_params)
        for chunk in chunks:
            yield chunk, job.run(draw_chunk(chunk, job.temperature, job.energy_params), ensemble)
        return
    # The warm pool of mirnamap.workers; each task sets the run's folding parameters.
    pool = executor(workers)
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
        pool.shutdown(wait=True, cancel_futures=True)  # this run's futures; the pool stays warm


#: This process's models, by (model file hash, members, precision): a Dask worker loads
#: each model once, however many chunks it is given.
_MODELS: dict[tuple, Ensemble] = {}


def _worker_ensemble(
    model: tuple[str, str, bytes], members: tuple | None, precision: str
) -> Ensemble:
    from mirnamap.pipeline.predict import resolve_model

    digest, suffix, data = model
    key = (digest, members, precision)
    if key not in _MODELS:
        folder = Path(tempfile.mkdtemp(prefix="mirnamap-model-"))
        path = folder / f"model{suffix}"
        path.write_bytes(data)
        _MODELS[key] = resolve_model(path, members, precision)
    return _MODELS[key]


def _remote_chunk(
    chunk: Chunk, job: Job, model: tuple[str, str, bytes], members: tuple | None
) -> Predictions | Explanation:
    """The Dask task: fold, draw, predict (and explain) one chunk in a worker."""
    set_energy_parameters(job.temperature, job.energy_params)
    ensemble = _worker_ensemble(model, members, job.model_precision)
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


#: Tries of a chunk on a Dask cluster before the run stops (a lost worker, a lost model).
DASK_TRIES = 3
#: Seconds to wait for a worker to come back before a chunk is tried again.
DASK_WAIT = 60


def dask_results(
    chunks: Iterable[Chunk], job: Job, client: Any, model: tuple[str, str, bytes], members: Any
) -> Iterator[tuple[Chunk, Predictions | Explanation]]:
    """Each chunk a task on the cluster (a bounded window in flight); in input order.

    A chunk whose task fails (its worker died, every worker restarted and the model they
    held is gone) is tried again, the model scattered anew where it was lost, up to
    :data:`DASK_TRIES` times; then the run stops with a :class:`WorkerError` that names
    the chunk. A failure of the machinery is never written as the records' failure: the
    chunks written before it are journaled, and a resumed run redoes this one.
    """
    from distributed import WorkerPlugin

    plugin = type("MirnamapEnergy", (EnergyPlugin, WorkerPlugin), {})(
        job.temperature, job.energy_params
    )
    client.register_plugin(plugin, name=EnergyPlugin.name)
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    # One copy on the cluster (the workers fetch it when a chunk needs it, and cache the
    # loaded model): a broadcast races with workers that come and go.
    shipped = {"model": client.scatter([model], hash=False)[0]}
    window: collections.deque = collections.deque()

    def submit(chunk: Chunk) -> Any:
        if shipped["model"].status != "finished":  # lost with the workers that held it
            client.wait_for_workers(1, timeout=DASK_WAIT)
            shipped["model"] = client.scatter([model], hash=False)[0]
        return client.submit(_remote_chunk, chunk, job, shipped["model"], members, pure=False)

    def result(chunk: Chunk, future: Any) -> Predictions | Explanation:
        error: BaseException | None = None
        for attempt in range(DASK_TRIES):
            try:
                if attempt:  # again, the model scattered anew where it was lost
                    future = submit(chunk)
                return future.result()
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            # A lost worker, a restarted cluster (whose cancelled futures raise a
            # BaseException), no worker back in time: the machinery failed, not the records.
            except BaseException as failed:
                error = failed
        raise WorkerError(
            f"{chunk.name}: records {chunk.start + 1}-{chunk.start + len(chunk)} failed on "
            f"the Dask cluster {DASK_TRIES} times ({type(error).__name__}: {error}); the "
            "chunks before them are written: run again with resume"
        ) from error

    for chunk in chunks:
        window.append((chunk, submit(chunk)))
        while len(window) > 2 * n_workers:
            done = window.popleft()
            yield done[0], result(*done)
    while window:
        done = window.popleft()
        yield done[0], result(*done)


def model_bytes(model: Any, members: Any) -> tuple[tuple[str, str, bytes], Any]:
    """The model as (hash, suffix, file bytes) to ship to workers, and the members to keep."""
    from mirnamap.ensemble import Ensemble, default_model_file, save_ensemble

    if model is None:
        model = default_model_file()
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
