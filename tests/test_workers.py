"""Worker processes (mirnamap.workers): no main guard needed, a warm pool, dead workers named.

The scripts run as subprocesses with a timeout: a pool that respawns dying workers forever
(multiprocessing under forkserver or spawn, from an unguarded script) fails the test
instead of blocking the run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
import RNA

import mirnamap.fold
from mirnamap import workers
from mirnamap.errors import MirnamapWarning, WorkerError
from mirnamap.fold import fold

#: Seconds a subprocess may take before the test fails: TensorFlow and the model load in
#: a few seconds; a hang (the bug these tests guard against) never ends.
TIMEOUT = 240

#: Two sequences of the issue's script; 200 copies are > 128 folds, so fold() starts
#: workers (fewer fold in-process).
HAIRPIN = "GGGGAAAACCCCAUAUAUGCGCGAAAGCGC"
LET7 = "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA"

# The script, unguarded, and after TensorFlow is loaded (predict_hairpins loads
# it), plus the checks: the folds are ViennaRNA's, and they came from worker processes.
UNGUARDED = f"""\
import multiprocessing, sys
import RNA
import mirnamap
mirnamap.predict_hairpins({{"let7": "{LET7}"}})
assert "tensorflow" in sys.modules
from mirnamap.fold import fold
folds = fold(["{HAIRPIN}"] * 200, workers=2, progress=False)
assert [f.structure for f in folds] == [RNA.fold("{HAIRPIN}")[0]] * 200
print("folded", len(folds), "in", len(multiprocessing.active_children()), "workers")
"""


def _run(args: list[str], stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run a Python subprocess; its stdout, or a failure that shows its stderr."""
    try:
        done = subprocess.run(
            [sys.executable, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as error:
        # The stderr of a timed-out run comes as bytes, whatever text= says.
        stderr = (error.stderr or b"").decode(errors="replace")
        pytest.fail(f"no answer in {TIMEOUT} s (hung workers?); stderr ends:\n{stderr[-3000:]}")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _worker_pid(_: object) -> int:
    return os.getpid()


def _pool_pids() -> set[int]:
    """This process's live worker processes (loky's are multiprocessing children)."""
    return {p.pid for p in multiprocessing.active_children()}


@pytest.fixture(autouse=True)
def no_warm_pool():
    """Each test starts without workers, so that it counts only those it started (a pool
    left by another test with more workers would still be shrinking)."""
    workers.shutdown_workers()


# ------------------------------------------------------------------- no main guard needed


def test_an_unguarded_script_folds_in_workers_after_tensorflow(tmp_path):
    script = tmp_path / "noguard.py"
    script.write_text(UNGUARDED)
    assert _run([str(script)], cwd=tmp_path).split() == ["folded", "200", "in", "2", "workers"]


def test_the_same_from_stdin(tmp_path):
    assert _run(["-"], stdin=UNGUARDED, cwd=tmp_path).split() == [
        "folded",
        "200",
        "in",
        "2",
        "workers",
    ]


@pytest.mark.slow
def test_ism_from_a_heredoc_finishes(tmp_path):
    # Two ~60-nt hairpins: 3 L mutants each (~360 folds in one chunk) go to two workers.
    code = textwrap.dedent(
        """\
        import multiprocessing
        import mirnamap
        hairpins = {
            "a": "GGCUAGCUAGGCUAAGCUUAGCUAGCAUCGAAAGAUGCUAGCUAAGCUUAGCCUAGCUAGCC",
            "b": "CCGAUCGAUUCGGAAUCCGAAUCGAUGCAUUUCGUGCAUCGAUUCGGAUUCCGAAUCGAUCGG",
        }
        result = mirnamap.explain_hairpins(hairpins, ["ism"], workers=2, progress=False)
        print(*[len(s) for s in result.scores("ism")], len(multiprocessing.active_children()))
        """
    )
    assert _run(["-"], stdin=code, cwd=tmp_path).split() == ["62", "63", "2"]


# A notebook cell: TensorFlow loaded, a function defined in the cell (no worker could
# import it: cloudpickle sends it by value), and a fold over two workers.
CELL = f"""\
import tensorflow
from mirnamap.fold import fold
from mirnamap.workers import map_in_workers
def reverse(text):
    return text[::-1]
print(list(map_in_workers(reverse, ["ACG", "UUA"], workers=2)))
print(fold(["{HAIRPIN}"] * 200, workers=2, progress=False)[-1].structure)
"""


def test_a_notebook_kernel_whose_main_has_no_file(tmp_path):
    # What a kernel does, without Jupyter: cells run by exec() in a __main__ with no file.
    cell = CELL
    kernel = textwrap.dedent(
        f"""\
        import sys, types
        main = types.ModuleType("__main__")
        sys.modules["__main__"] = main
        assert not hasattr(main, "__file__")
        exec(compile({cell!r}, "<cell 1>", "exec"), main.__dict__)
        """
    )
    out = _run(["-c", kernel], cwd=tmp_path).splitlines()
    assert out == ["['GCA', 'AUU']", RNA.fold(HAIRPIN)[0]]


@pytest.mark.slow
def test_a_jupyter_kernel(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    # A fresh kernel of this interpreter; a cell that hangs fails after TIMEOUT seconds.
    nbclient.NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = notebook.cells[0].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stdout")
    assert printed.splitlines() == ["['GCA', 'AUU']", RNA.fold(HAIRPIN)[0]]


# ------------------------------------------------------------------------ the warm pool


def test_map_keeps_order_and_the_pool_stays_warm():
    items = list(range(-40, 40))
    assert list(workers.map_in_workers(abs, items, workers=2, window=3)) == [abs(i) for i in items]
    first = set(workers.map_in_workers(_worker_pid, range(64), workers=2))
    warm = _pool_pids()
    second = set(workers.map_in_workers(_worker_pid, range(64), workers=2))
    assert len(warm) == 2 and os.getpid() not in first and first <= warm
    # The second call found the workers of the first: none was started anew.
    assert second <= warm and _pool_pids() == warm


def test_fold_reuses_the_workers_across_calls():
    sequences = [HAIRPIN] * 300
    assert fold(sequences, workers=2, progress=False) == fold(sequences, workers=1)
    before = _pool_pids()
    fold(sequences, workers=2, progress=False)
    assert len(before) == 2 and _pool_pids() == before


def test_bad_arguments_fail_at_the_call():
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        workers.map_in_workers(abs, [1], workers=0)
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        workers.map_in_workers(abs, [1], workers=1, window=0)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        workers.executor(True)


def test_an_exception_of_the_task_is_raised_as_it_is():
    with pytest.raises(ValueError, match="invalid literal"):
        list(workers.map_in_workers(int, ["1", "x"], workers=1))
    assert list(workers.map_in_workers(int, ["7"], workers=1)) == [7]


def test_an_executor_handle_closes_without_stopping_the_pool():
    with workers.executor(2) as pool:
        futures = [pool.submit(pow, 3, n) for n in range(5)]
    assert all(f.done() for f in futures)  # leaving the block waited for them
    assert [f.result() for f in futures] == [1, 3, 9, 27, 81]
    with pytest.raises(RuntimeError, match="after its shutdown"):
        pool.submit(pow, 2, 2)
    assert len(_pool_pids()) == 2  # still warm for the next caller
    assert workers.executor(2).submit(pow, 2, 10).result(timeout=60) == 1024


# ------------------------------------------------------------------ a dead worker is named


def test_a_killed_worker_is_a_worker_error_and_the_next_call_works():
    with pytest.raises(WorkerError, match=r"died \(signal 9, SIGKILL: .*out-of-memory") as info:
        list(workers.map_in_workers(signal.raise_signal, [signal.SIGKILL], workers=1))
    assert "raise_signal" in str(info.value)  # the task the worker ran
    assert "next call starts a fresh one" in str(info.value)
    assert list(workers.map_in_workers(abs, [-5, 6], workers=2)) == [5, 6]


def test_a_worker_that_exits_names_its_exit_code_through_the_executor():
    future = workers.executor(1).submit(os._exit, 3)
    with pytest.raises(WorkerError, match=r"died \(exit code 3: "):
        future.result(timeout=TIMEOUT)
    assert workers.executor(1).submit(abs, -2).result(timeout=TIMEOUT) == 2


def test_fold_raises_worker_error_when_a_worker_is_killed_midway(monkeypatch):
    sequences = [HAIRPIN] * 2000
    expected = fold(sequences, workers=1)
    real_map = workers.map_in_workers

    def map_then_kill(function, items, *, workers):
        results = real_map(function, items, workers=workers)
        yield next(results)
        os.kill(sorted(_pool_pids())[0], signal.SIGKILL)  # one of the two, after 1 chunk
        yield from results

    monkeypatch.setattr(mirnamap.fold, "map_in_workers", map_then_kill)
    # One sequence a task: hundreds of tasks are still to come when the worker dies.
    with pytest.raises(WorkerError, match=r"SIGKILL.*while it ran mirnamap\.fold\._fold_chunk"):
        fold(sequences, workers=2, chunksize=1, progress=False)
    monkeypatch.undo()
    assert fold(sequences, workers=2, progress=False) == expected


# ------------------------------------------------------------------------- in Dask workers


def _fold_in_a_task(sequences: list[str]) -> tuple[list, list[str], int, set[int]]:
    """A Dask task: fold over 2 workers; the folds, the warnings, this pid, the workers'."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folds = fold(sequences, workers=2, progress=False)
        pids = set(workers.map_in_workers(_worker_pid, range(32), workers=2))
    messages = [str(w.message) for w in caught if issubclass(w.category, MirnamapWarning)]
    return folds, messages, os.getpid(), pids


@pytest.mark.parametrize("daemon", [True, False], ids=["daemonic", "daemon_false"])
def test_fold_inside_a_dask_worker(daemon):
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    sequences = [HAIRPIN, LET7] * 100
    with (
        dask.config.set({"distributed.worker.daemon": daemon}),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        folds, messages, task_pid, pids = client.submit(_fold_in_a_task, sequences).result(
            timeout=TIMEOUT
        )
    assert folds == fold(sequences, workers=1)
    if daemon:
        # A daemonic process may not have children: folded in the Dask worker, and told.
        assert pids == {task_pid}
        assert messages and "distributed.worker.daemon" in messages[0]
    else:
        assert len(pids) == 2 and task_pid not in pids and messages == []


def test_a_killed_run_leaves_no_worker_behind(tmp_path):
    psutil = pytest.importorskip("psutil")
    import time

    pair = {"A": "U", "U": "A", "G": "C", "C": "G"}
    arm = "GGCAUCGAUCGAUGCAUGCAUGCA"
    hairpin = arm + "GAAAUA" + "".join(pair[c] for c in reversed(arm))
    source = tmp_path / "many.fa"
    source.write_text("".join(f">h{k}\n{hairpin}\n" for k in range(40000)))
    env = {**os.environ, "PYTHONPATH": str(Path(mirnamap.fold.__file__).parent.parent)}
    run = subprocess.Popen(
        [sys.executable, "-m", "mirnamap", "fold", str(source), "-o", str(tmp_path / "f.tsv"),
         "--workers", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    parent = psutil.Process(run.pid)
    deadline = time.time() + 120
    seen = []
    while time.time() < deadline and run.poll() is None and len(seen) < 2:
        seen = [p for p in parent.children(recursive=True) if "loky" in " ".join(p.cmdline())]
        time.sleep(0.05)
    assert len(seen) >= 2, "the run ended before its workers could be seen"
    helpers = parent.children(recursive=True)  # the workers and loky's resource trackers
    run.kill()  # as the out-of-memory killer or a closed terminal would
    run.wait()
    _, alive = psutil.wait_procs(helpers, timeout=3 * workers.PARENT_CHECK + 10)
    assert not alive, [p.cmdline() for p in alive]
