"""Worker processes: the one place that starts them, and keeps them warm.

Folding (:func:`mirnamap.fold.fold`, and so in-silico mutagenesis) runs over worker
processes. They come from loky's reusable executor (Moreau & Grisel, the engine of
joblib), not from :mod:`multiprocessing`, because loky handles the cases a plain ``Pool``
does not:

* a worker starts as a fresh interpreter (fork + exec) and never re-runs the caller's
  ``__main__``: a script without an ``if __name__ == "__main__":`` guard, ``python -``
  (a heredoc) and a notebook kernel all work, and so does a caller that has loaded
  TensorFlow, whose threads do not survive a plain ``fork``;
* functions defined in ``__main__`` or in a notebook cell are sent with cloudpickle;
* the pool is reused across calls (per calling thread, as loky keeps it) and its idle
  workers exit after :data:`IDLE_TIMEOUT` seconds, so a run of many small ``fold`` calls
  (ISM chunk by chunk) starts its workers once;
* a worker that dies breaks the pool instead of being replaced in silence. Here that is a
  :class:`mirnamap.errors.WorkerError` naming the signal or exit code, and the next call
  gets a fresh pool.

A daemonic process may not have children (a Dask worker is one unless Dask's
``distributed.worker.daemon`` is False): there, as joblib does, the work runs in the
calling process, one item after another, with a warning that says how to get workers.
The results are the same either way.

>>> list(map_in_workers(abs, [-3, 1, -2], workers=2))
[3, 1, 2]
"""

from __future__ import annotations

import collections
import concurrent.futures
import multiprocessing
import operator
import re
import signal
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from mirnamap.errors import MirnamapWarning, WorkerError

__all__ = ["IDLE_TIMEOUT", "PARENT_CHECK", "executor", "map_in_workers", "shutdown_workers"]

T = TypeVar("T")
R = TypeVar("R")

#: Seconds an idle worker waits for work before it exits (a later task starts it again).
#: Long enough to outlive a model's forward pass between two chunks of ISM.
IDLE_TIMEOUT = 300.0

_SIGNAL_HINTS = {
    signal.SIGKILL: "killed from outside, most often by the out-of-memory killer "
    "(fewer workers or smaller chunks need less memory)",
    signal.SIGSEGV: "a crash in compiled code (ViennaRNA or another C extension)",
    signal.SIGBUS: "a crash in compiled code (ViennaRNA or another C extension)",
    signal.SIGABRT: "an abort in compiled code (ViennaRNA or another C extension)",
    signal.SIGTERM: "terminated from outside",
}


def _positive(value: int, name: str) -> int:
    """``value`` as an int >= 1 (NumPy integers too), or ``ValueError`` naming it."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else 0
    except TypeError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return number


def _may_start_processes() -> bool:
    """False in a daemonic process (a Dask worker, a ``multiprocessing`` worker), which
    the standard library forbids to have children."""
    return not multiprocessing.current_process().daemon


def _warn_in_process(workers: int) -> None:
    # Attributed to the caller of executor() (map_in_workers, or a streaming engine), so
    # that the default filter shows it once per process, not once per fold() call.
    warnings.warn(
        f"this is a daemonic process (a Dask worker?), which may not start the {workers} "
        "worker processes asked for: the work runs here, one item at a time. In Dask, "
        "dask.config.set({'distributed.worker.daemon': False}) (or the environment "
        "variable DASK_DISTRIBUTED__WORKER__DAEMON=False) before the cluster starts "
        "lets its workers start their own.",
        MirnamapWarning,
        stacklevel=3,
    )


#: Seconds between a worker's looks at whether the process that started it is alive.
PARENT_CHECK = 1.0


def _exit_with_parent(parent: int) -> None:
    """In a worker: end this process as soon as ``parent`` is gone.

    A run killed from outside (``kill -9``, the out-of-memory killer, a closed terminal)
    cannot stop its workers; an idle loky worker would wait out :data:`IDLE_TIMEOUT`
    holding its memory. A daemon thread that sees the worker re-parented ends it within
    :data:`PARENT_CHECK` seconds instead.
    """
    import os
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK)
        os._exit(0)

    threading.Thread(target=watch, name="mirnamap-parent-watch", daemon=True).start()


def _pool(workers: int) -> concurrent.futures.Executor:
    """This thread's warm loky pool, resized to ``workers`` (a broken one is replaced)."""
    # Imported here: a process that folds in-process never pays for loky.
    import os

    import loky

    # Always the same settings: loky replaces the warm pool (stopping its workers) when
    # they differ from the last call's. Only the number of workers changes, by a resize.
    return loky.get_reusable_executor(
        max_workers=workers,
        timeout=IDLE_TIMEOUT,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _name_of(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or repr(function)
    return f"{module}.{name}" if module else name


def _describe_exit(code: int) -> str:
    """One worker's exit code (negative: the signal that ended it) in words."""
    if code < 0:
        try:
            number = signal.Signals(-code)
        except ValueError:
            return f"signal {-code}"
        hint = _SIGNAL_HINTS.get(number)
        return f"signal {-code}, {number.name}" + (f": {hint}" if hint else "")
    return (
        f"exit code {code}: the worker exited, by sys.exit() or os._exit() in the task, or "
        "because its interpreter could not start (the reason is on stderr)"
    )


def _worker_error(error: BaseException, function: Callable[..., Any]) -> WorkerError:
    """The :class:`WorkerError` that says why loky's pool broke."""
    text = str(error)
    # loky puts the exit codes of the dead workers in its message only, as
    # "{SIGKILL(-9), EXIT(3)}"; read them back from there.
    found = re.search(r"exit codes of the workers are \{([^}]*)\}", text)
    codes = [int(c) for c in re.findall(r"\((-?\d+)\)", found.group(1))] if found else []
    if codes:
        cause = "; ".join(_describe_exit(c) for c in dict.fromkeys(codes))
        what = f"a worker process died ({cause})"
    elif isinstance(error, concurrent.futures.BrokenExecutor):
        detail = str(error.__cause__).strip().splitlines()[-1:] if error.__cause__ else []
        what = "the worker pool broke: " + " ".join([text.split(". ")[0], *detail])
    else:  # loky's ShutdownExecutorError: the pool was stopped under the task
        what = f"the worker pool was shut down before the task finished ({text})"
    return WorkerError(
        f"{what}, while it ran {_name_of(function)}; the pool was discarded and the "
        "next call starts a fresh one"
    )


def _is_pool_failure(error: BaseException) -> bool:
    """True for the pool's own failures (a dead worker, a pool shut down under a task),
    False for an exception the task itself raised (that one is passed on as it is)."""
    if isinstance(error, concurrent.futures.BrokenExecutor):
        return True
    # loky.process_executor.ShutdownExecutorError, matched by name so that loky is only
    # imported where a pool is started.
    return type(error).__name__ == "ShutdownExecutorError"


class _Future(concurrent.futures.Future):
    """A future of the shared pool whose pool failures arrive as WorkerError."""

    def __init__(self, inner: concurrent.futures.Future, function: Callable[..., Any]) -> None:
        super().__init__()
        self._inner = inner
        self._function = function
        inner.add_done_callback(self._copy)

    def cancel(self) -> bool:
        # Only a task still queued can be cancelled; a running one finishes in its worker.
        return self._inner.cancel() and super().cancel()

    def _copy(self, inner: concurrent.futures.Future) -> None:
        # Runs in loky's manager thread (or at once, if the task is already done).
        if inner.cancelled():
            super().cancel()
            return
        if self.cancelled():
            return
        error = inner.exception()
        if error is None:
            self.set_result(inner.result())
        elif _is_pool_failure(error):
            translated = _worker_error(error, self._function)
            translated.__cause__ = error
            self.set_exception(translated)
        else:
            self.set_exception(error)


class _PoolView(concurrent.futures.Executor):
    """A caller's handle on the warm pool: its own futures, the pool shared.

    ``shutdown`` (and leaving a ``with`` block) waits for, or cancels, the futures
    submitted through this handle and closes it; the pool stays warm for the next caller.
    """

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._futures: set[concurrent.futures.Future] = set()
        self._closed = False

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> _Future:
        if self._closed:
            raise RuntimeError("cannot submit to a worker pool handle after its shutdown")
        # The pool is asked for each time: after a worker died, this gives the fresh one.
        # No lock is held meanwhile: a resize waits for the tasks in flight, whose
        # callbacks (_forget) take the lock in loky's manager thread.
        future = _Future(_pool(self._workers).submit(fn, *args, **kwargs), fn)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()
        if wait:
            concurrent.futures.wait(futures)


class _InProcess(concurrent.futures.Executor):
    """Runs each task at once in the calling thread: for a process that may not have
    children. Its futures are done when ``submit`` returns."""

    def submit(
        self, fn: Callable[..., R], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the caller through result(), as a pool does
            future.set_exception(error)
        return future


def executor(workers: int) -> concurrent.futures.Executor:
    """A handle on this thread's warm pool of ``workers`` processes, to submit tasks to.

    For a caller that keeps its own window of futures in flight; :func:`map_in_workers`
    is the simpler way to map one function. Every handle shares the warm pool of the
    thread that calls ``submit`` (resized to the last ``workers`` asked for in that
    thread); a handle's ``shutdown`` (or the end of its ``with`` block) waits for its
    own futures only, and the pool stays warm.

    Parameters
    ----------
    workers : int
        Worker processes, >= 1.

    Returns
    -------
    concurrent.futures.Executor
        ``submit(fn, *args, **kwargs)`` returns a standard ``Future``: ``fn`` and its
        arguments must be picklable (module-level functions, or functions of ``__main__``
        and notebooks, which cloudpickle sends). If a worker dies or cannot start, the
        futures it breaks raise :class:`mirnamap.errors.WorkerError` naming the signal
        or exit code, and the next ``submit`` goes to a fresh pool; an exception raised
        by ``fn`` itself is raised as it is. In a daemonic process (see the module) each
        task runs in this process when it is submitted.

    Raises
    ------
    ValueError
        If ``workers`` is not an integer >= 1.

    Examples
    --------
    >>> with executor(2) as pool:
    ...     futures = [pool.submit(pow, 2, n) for n in range(4)]
    >>> [f.result() for f in futures]
    [1, 2, 4, 8]
    """
    workers = _positive(workers, "workers")
    if not _may_start_processes():
        _warn_in_process(workers)
        return _InProcess()
    return _PoolView(workers)


def map_in_workers(
    function: Callable[[T], R],
    items: Iterable[T],
    *,
    workers: int,
    window: int | None = None,
) -> Iterator[R]:
    """``function(item)`` for every item, over this thread's warm pool, lazily and in order.

    Parameters
    ----------
    function : callable
        Takes one item; picklable, as for :func:`executor`.
    items : iterable
        The N inputs; read lazily, ``window`` ahead of the results taken.
    workers : int
        Worker processes, >= 1.
    window : int, optional
        Tasks in flight at a time: bounds the memory of items sent and results waiting
        to be taken. Default is None: ``4 * workers``, enough to keep every worker busy
        while the results are taken in order.

    Returns
    -------
    iterator
        The N results, in the order of ``items``, each as soon as it and those before it
        are done (a progress bar can follow them). Closing the iterator early cancels
        the tasks not yet started.

    Raises
    ------
    ValueError
        If ``workers`` or ``window`` is not an integer >= 1 (at the call, not at the
        first result).
    mirnamap.errors.WorkerError
        When the result of a task whose worker died (or could not start) is reached.
        The exception a task raises is raised as it is.

    Examples
    --------
    >>> list(map_in_workers(len, ["ACGU", "GG"], workers=1))
    [4, 2]
    """
    workers = _positive(workers, "workers")
    window = _positive(4 * workers if window is None else window, "window")
    return _ordered_results(function, items, executor(workers), window)


def _ordered_results(
    function: Callable[[T], R],
    items: Iterable[T],
    pool: concurrent.futures.Executor,
    window: int,
) -> Iterator[R]:
    pending: collections.deque[concurrent.futures.Future] = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # Reached on an error, on the consumer closing the iterator early and at the end:
        # the tasks not started yet are dropped, so the warm pool is free for the next call.
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False)


def shutdown_workers(*, kill: bool = False) -> None:
    """Stop this thread's warm pool now, instead of after :data:`IDLE_TIMEOUT` seconds idle.

    Parameters
    ----------
    kill : bool, optional
        Kill the workers at once; tasks still running then raise
        :class:`mirnamap.errors.WorkerError`. Default is False: wait for them to finish.
    """
    if not _may_start_processes():
        return
    import loky

    # reuse=True returns the warm pool as it is (no resize), or a new one that has started
    # no process yet (loky starts workers at the first submit): this never starts any.
    pool = loky.get_reusable_executor(timeout=IDLE_TIMEOUT, reuse=True)
    pool.shutdown(wait=True, kill_workers=kill)
