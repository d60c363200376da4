"""Streaming (chunks, bounded memory), resuming an interrupted run, a Dask cluster, and
ViennaRNA's energy parameters reaching every worker process."""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from mirnamap.datasets import count_records, iter_fasta, load_fasta, text_head
from mirnamap.export import read_tsv
from mirnamap.fold import (
    energy_parameters,
    fold,
    iter_folds,
    load_folds,
    save_folds,
    set_energy_parameters,
)
from mirnamap.model import build_model, save_model
from mirnamap.pipeline import (
    InputError,
    StreamSummary,
    explain_hairpins,
    iter_chunks,
    predict_hairpins,
    stream_explanations,
    stream_predictions,
)

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("saliency.tsv", "summary.tsv", "failed.tsv")
PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}


def hairpins(n: int, seed: int = 0) -> dict[str, str]:
    """``n`` random hairpins (a 5' arm, a loop, the complementary 3' arm), a record that
    cannot be folded and one that folds to no hairpin loop among them."""
    rng = np.random.default_rng(seed)
    records = {}
    for k in range(n):
        arm = "".join(rng.choice(list("ACGU"), int(rng.integers(18, 30))))
        loop = "".join(rng.choice(list("ACGU"), int(rng.integers(4, 12))))
        records[f"h{k}"] = arm + loop + "".join(PAIR[c] for c in reversed(arm))
    records["bad"] = "ACGUNACGU"
    records["flat"] = "A" * 24
    return records


def write_fasta(path: Path, records: dict[str, str]) -> Path:
    text = "".join(f">{i}\n{s}\n" for i, s in records.items())
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_model(filters=(4, 4, 4), dense_units=8, seed=0), path)
    return path


@pytest.fixture(scope="module")
def fasta(tmp_path_factory):
    return write_fasta(tmp_path_factory.mktemp("in") / "in.fa", hairpins(40))


@pytest.fixture(scope="module")
def folds_tsv(tmp_path_factory):
    records = hairpins(40)
    path = tmp_path_factory.mktemp("folds") / "folds.tsv"
    save_folds(fold(list(records.values()), ids=list(records), workers=1), path)
    with open(path, "a") as handle:  # a row that cannot be used: unbalanced brackets
        handle.write("broken\tGGGAAACCC\t((((...)))\t-1.0\tok\t\n")
    return path


# ----------------------------------------------------------------------------- readers


@pytest.mark.parametrize("name", ["in.fa", "in.fa.gz"])
@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
def test_fasta_chunks_join_to_the_whole_file(tmp_path, name, chunk_size):
    path = write_fasta(tmp_path / name, hairpins(20))
    chunks = list(iter_fasta(path, chunk_size))
    whole = load_fasta(path)
    assert all(len(c) <= chunk_size for c in chunks)
    assert sum((c.ids for c in chunks), ()) == whole.ids
    assert sum((c.sequences for c in chunks), ()) == whole.sequences
    assert count_records(path) == len(whole)


def test_folds_chunks_join_to_the_whole_table(folds_tsv):
    chunks = list(iter_folds(folds_tsv, 9))
    joined = [f for c in chunks for f in c]
    whole = load_folds(folds_tsv)
    assert [tuple(map(str, f)) for f in joined] == [tuple(map(str, f)) for f in whole]
    assert "line 44" in joined[-1].error  # line numbers count from the file's start
    assert count_records(folds_tsv) == len(whole)


def test_lazy_readers_name_the_file_for_bad_input(tmp_path):
    empty = tmp_path / "empty.fa"
    empty.write_text("  \n")
    with pytest.raises(ValueError, match="empty file"):
        next(iter_fasta(empty))
    binary = tmp_path / "bin.fa"
    binary.write_bytes(b">a\nAC\xff\xfeGU\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        list(iter_fasta(binary))
    damaged = tmp_path / "bad.fa.gz"
    packed = gzip.compress("".join(f">{i}\n{s}\n" for i, s in hairpins(500).items()).encode())
    damaged.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ValueError, match="damaged gzip"):
        list(iter_fasta(damaged))
    notes = tmp_path / "notes.txt"
    notes.write_text("just some words\n")
    with pytest.raises(InputError, match="neither a FASTA"):
        next(iter_chunks(notes))


def test_sniffing_reads_only_the_start(tmp_path):
    from mirnamap.pipeline import kind_of_file

    # Bytes that are not UTF-8 far past the start: a sniffer that read (and decoded) the
    # whole file would fail on them; one that reads only the start names the kind.
    path = tmp_path / "big.fa"
    path.write_bytes(b">a\nACGU\n" + b"A" * 200_000 + b"\xff\xfe\n")
    assert kind_of_file(path) == "fasta"
    assert len(text_head(path, 100)) == 100
    with pytest.raises(ValueError, match="UTF-8"):
        load_fasta(path)  # the reader itself reads it all, and names the fault


def test_chunks_of_sequences_keep_their_positions():
    chunks = list(iter_chunks(["GGGAAACCC"] * 5, chunk_size=2))
    assert [c.start for c in chunks] == [0, 2, 4]
    assert [c.ids for c in chunks] == [("0", "1"), ("2", "3"), ("4",)]


# ---------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("kind", ["fasta", "folds"])
@pytest.mark.parametrize("chunk_size", [1, 6, 1000])
def test_streamed_predictions_equal_the_in_memory_file(
    tmp_path, model_path, fasta, folds_tsv, kind, chunk_size
):
    source = fasta if kind == "fasta" else folds_tsv
    in_memory = predict_hairpins(source, model_path, workers=1)
    in_memory.save(tmp_path / "memory.tsv")
    summary = stream_predictions(
        source, tmp_path / "streamed.tsv", model_path, chunk_size=chunk_size, workers=2
    )
    assert isinstance(summary, StreamSummary)
    assert (tmp_path / "streamed.tsv").read_bytes() == (tmp_path / "memory.tsv").read_bytes()
    assert summary.n_records == len(in_memory)
    assert summary.n_ok == int(in_memory.ok.sum()) and summary.n_failed == len(in_memory.failures)
    assert summary.n_chunks == -(-len(in_memory) // chunk_size)


def test_folding_options_do_not_change_the_engine(model_path, fasta):
    whole = predict_hairpins(fasta, model_path, workers=1)
    at_37 = predict_hairpins(fasta, model_path, workers=1, temperature=37.0)
    assert type(at_37) is type(whole) and at_37.ids == whole.ids
    np.testing.assert_array_equal(at_37.probabilities, whole.probabilities)
    assert at_37.failures == whole.failures
    warm = predict_hairpins(fasta, model_path, workers=1, temperature=80.0)
    assert not np.allclose(warm.probabilities[warm.ok], whole.probabilities[whole.ok])


def test_streamed_explanation_equals_the_in_memory_files(tmp_path, model_path, fasta):
    # One image a pass in both runs: the same arithmetic, so byte-identical files.
    options = dict(methods="gradient", model=model_path, batch_size=1, progress=False)
    in_memory = explain_hairpins(fasta, workers=1, **options)
    in_memory.save(tmp_path / "memory", pictures=False)
    summary = stream_explanations(fasta, tmp_path / "streamed", chunk_size=9, **options)
    for name in TABLES:
        assert (tmp_path / "streamed" / name).read_text() == (
            tmp_path / "memory" / name
        ).read_text()
    assert summary.n_ok == len(in_memory) and summary.n_failed == len(in_memory.failures) == 2


def test_streamed_explanation_with_default_batches_matches_to_round_off(
    tmp_path, model_path, fasta
):
    in_memory = explain_hairpins(fasta, "gradient", model_path, workers=1, progress=False)
    stream_explanations(fasta, tmp_path / "s", "gradient", model_path, chunk_size=9)
    streamed = read_tsv(tmp_path / "s" / "saliency.tsv")
    assert streamed.ids == in_memory.ids and streamed.structures == in_memory.structures
    for a, b in zip(streamed.scores["gradient"], in_memory.scores("gradient"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-9)


def test_streamed_ensemble_explanation_with_shared_samples_equals_the_in_memory_files(
    tmp_path, fasta
):
    from mirnamap.ensemble import Ensemble, save_ensemble

    members = [build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in (3, 4)]
    path = save_ensemble(Ensemble(members, names=["a", "b"]), tmp_path / "e.zip")
    options = dict(
        methods=["smoothgrad", "gradient"],
        model=path,
        params={"smoothgrad": {"n_samples": 3}},
        member_samples="split",
        batch_size=1,
        progress=False,
    )
    in_memory = explain_hairpins(fasta, workers=1, **options)
    in_memory.save(tmp_path / "memory", pictures=False)
    stream_explanations(fasta, tmp_path / "streamed", chunk_size=11, **options)
    for name in TABLES:
        assert (tmp_path / "streamed" / name).read_text() == (
            tmp_path / "memory" / name
        ).read_text()
    header = (tmp_path / "memory" / "saliency.tsv").read_text().split("\n", 1)[0]
    assert header.endswith("smoothgrad\tsmoothgrad:sd\tgradient\tgradient:sd")
    # A resumed run with the other sampling mode is another run: refused.
    with pytest.raises(ValueError):
        stream_explanations(
            fasta, tmp_path / "streamed", chunk_size=11, resume=True,
            **{**options, "member_samples": "each"},
        )  # fmt: skip


def test_streamed_explanation_of_chosen_ids_and_pictures(tmp_path, model_path, fasta):
    in_memory = explain_hairpins(
        fasta, "gradient", model_path, ids=["h3", "h30", "bad"], batch_size=1, progress=False
    )
    in_memory.save(tmp_path / "memory", pictures=True)
    stream_explanations(
        fasta, tmp_path / "streamed", "gradient", model_path, ids=["h3", "h30", "bad"],
        batch_size=1, progress=False, chunk_size=8, pictures=True,
    )  # fmt: skip
    for name in (*TABLES, "pictures.tsv"):
        assert (tmp_path / "streamed" / name).read_text() == (
            tmp_path / "memory" / name
        ).read_text()
    assert (tmp_path / "streamed" / "h30" / "track.png").is_file()
    with pytest.raises(ValueError, match="no record"):
        stream_explanations(fasta, tmp_path / "x", "gradient", model_path, ids=["nope"])
    assert not (tmp_path / "x").exists()  # refused before anything is written
    # A resume that would change the pictures is refused: it would mix two kinds of output.
    with pytest.raises(ValueError, match="other parameters"):
        stream_explanations(
            fasta, tmp_path / "streamed", "gradient", model_path, ids=["h3", "h30", "bad"],
            batch_size=1, progress=False, chunk_size=8, pictures=False, resume=True,
        )  # fmt: skip


# ------------------------------------------------------------------------------- resume


def test_resume_after_a_torn_chunk_ends_as_an_uninterrupted_run(tmp_path, model_path, fasta):
    whole = tmp_path / "whole.tsv"
    stream_predictions(fasta, whole, model_path, chunk_size=5, workers=1)
    torn = tmp_path / "torn.tsv"
    stream_predictions(fasta, torn, model_path, chunk_size=5, workers=1)
    journal = Path(f"{torn}.journal")
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(lines[:4]) + "\n" + lines[4][:10])  # 3 chunks, a torn line
    sizes = [int(s) for s in lines[3].split("\t")[-1].split(",")]
    with open(torn, "r+b") as handle:  # half a chunk written after the last complete one
        handle.truncate(sizes[0] + 37)
    summary = stream_predictions(fasta, torn, model_path, chunk_size=5, workers=1, resume=True)
    assert summary.n_resumed == 15
    assert torn.read_bytes() == whole.read_bytes()
    # The same chunks, hashes and file sizes (the header names each run's own file).
    assert (
        journal.read_text().splitlines()[1:]
        == Path(f"{whole}.journal").read_text().splitlines()[1:]
    )
    again = stream_predictions(fasta, torn, model_path, chunk_size=5, workers=1, resume=True)
    assert again.n_resumed == again.n_records  # a finished run: nothing left to do


def test_resume_refuses_other_parameters_or_other_input(tmp_path, model_path, fasta):
    out = tmp_path / "p.tsv"
    stream_predictions(fasta, out, model_path, chunk_size=5, workers=1)
    with pytest.raises(ValueError, match="other parameters"):
        stream_predictions(fasta, out, model_path, threshold=0.3, resume=True, workers=1)
    changed = write_fasta(tmp_path / "changed.fa", {**hairpins(40), "h2": "GGGGAAAACCCC"})
    with pytest.raises(ValueError, match="differ from those the interrupted run wrote"):
        stream_predictions(changed, out, model_path, resume=True, workers=1)


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "mirnamap.cli", *argv]


@pytest.mark.slow
def test_a_killed_cli_run_resumes_to_the_uninterrupted_files(tmp_path, model_path):
    source = write_fasta(tmp_path / "in.fa", hairpins(800, seed=1))
    common = ["--model", str(model_path), "--chunk-size", "10", "--workers", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    whole = tmp_path / "whole.tsv"
    subprocess.run(_cli("predict", str(source), "-o", str(whole), *common), env=env, check=True)
    out = tmp_path / "killed.tsv"
    journal = Path(f"{out}.journal")
    run = subprocess.Popen(_cli("predict", str(source), "-o", str(out), *common), env=env)
    deadline = time.time() + 120
    while time.time() < deadline and run.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) > 5:
            break
        time.sleep(0.02)
    assert run.poll() is None, "the run ended before it could be killed"
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    written = len(journal.read_text().splitlines()) - 1
    assert 0 < written < 80  # killed mid-way
    resumed = subprocess.run(
        _cli("predict", str(source), "-o", str(out), *common, "--resume"),
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert "resumed" in resumed.stdout
    assert out.read_bytes() == whole.read_bytes()


# ------------------------------------------------------------------- energy parameters


@pytest.fixture(scope="module")
def turner1999(tmp_path_factory):
    import RNA

    path = tmp_path_factory.mktemp("par") / "turner1999.par"
    RNA.params_load_RNA_Turner1999()
    RNA.params_save(str(path))
    set_energy_parameters(None, None)
    RNA.params_load_RNA_Turner2004()
    return path


def test_set_energy_parameters_is_process_state(turner1999):
    try:
        assert set_energy_parameters(60.0, turner1999) == (60.0, str(turner1999))
        assert energy_parameters() == (60.0, str(turner1999))
    finally:
        set_energy_parameters(None, None)
    assert energy_parameters() == (37.0, None)
    with pytest.raises(ValueError, match="neither a parameter file"):
        set_energy_parameters(None, "no-such-set")


def _structures(result) -> dict[str, str]:
    return dict(zip(result.ids, result.structures, strict=True))


@pytest.mark.parametrize("setting", ["temperature", "file", "named"])
def test_folding_parameters_reach_every_pool_worker(tmp_path, model_path, turner1999, setting):
    records = hairpins(60, seed=3)
    source = write_fasta(tmp_path / "in.fa", records)
    options = {
        "temperature": {"temperature": 75.0},
        "file": {"energy_params": turner1999},
        "named": {"energy_params": "rna_turner1999"},
    }[setting]
    expected = fold(list(records.values()), ids=list(records), workers=1, **options)
    default = fold(list(records.values()), ids=list(records), workers=1)
    # Chunks of 4 over 2 worker processes: every worker folds some of them.
    in_memory = explain_hairpins(source, "gradient", model_path, workers=2, **options)
    stream_explanations(
        source, tmp_path / "s", "gradient", model_path, chunk_size=4, workers=2, **options
    )
    result = read_tsv(tmp_path / "s" / "saliency.tsv")
    wanted = {f.id: f.structure for f in expected if f.id in result.ids}
    assert _structures(result) == wanted == _structures(in_memory)
    assert _structures(result) != {f.id: f.structure for f in default if f.id in result.ids}


# ---------------------------------------------------------------------------------- dask


# The Dask tests take about 26 s together on this machine when it is idle (and several
# minutes when its 2 cores are shared): marked slow, out of the quick loop.
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.mark.slow
def test_dask_results_equal_the_local_run(tmp_path, model_path, fasta, cluster):
    local = tmp_path / "local.tsv"
    stream_predictions(fasta, local, model_path, chunk_size=6, workers=1)
    on_dask = stream_predictions(
        fasta, tmp_path / "dask.tsv", model_path, chunk_size=6, executor=cluster
    )
    assert (tmp_path / "dask.tsv").read_bytes() == local.read_bytes()
    assert on_dask.n_failed == 2
    failed = on_dask.failures_frame()
    assert sorted(failed["id"]) == ["bad", "flat"] and failed["reason"].str.len().min() > 0
    options = dict(batch_size=1, progress=False, chunk_size=9)
    stream_explanations(fasta, tmp_path / "e_local", "gradient", model_path, **options)
    stream_explanations(
        fasta, tmp_path / "e_dask", "gradient", model_path, executor=cluster, **options
    )
    for name in TABLES:
        assert (tmp_path / "e_dask" / name).read_text() == (tmp_path / "e_local" / name).read_text()
    # The model is loaded once per worker process, not once per chunk.
    cached = cluster.run(lambda: len(sys.modules["mirnamap.pipeline.executors"]._MODELS))
    assert set(cached.values()) <= {0, 1} and sum(cached.values()) >= 1


@pytest.mark.slow
def test_folding_parameters_reach_every_dask_worker(tmp_path, model_path, turner1999, cluster):
    records = hairpins(30, seed=4)
    source = write_fasta(tmp_path / "in.fa", records)
    stream_explanations(
        source, tmp_path / "s", "gradient", model_path, chunk_size=5, executor=cluster,
        progress=False, temperature=70.0, energy_params=turner1999,
    )  # fmt: skip
    result = read_tsv(tmp_path / "s" / "saliency.tsv")
    settings = cluster.run(energy_parameters)
    assert len(settings) == 2
    assert set(settings.values()) == {(70.0, str(turner1999))}
    expected = fold(
        list(records.values()), ids=list(records), workers=1, temperature=70.0,
        energy_params=turner1999,
    )  # fmt: skip
    set_energy_parameters(None, None)
    assert _structures(result) == {f.id: f.structure for f in expected if f.id in result.ids}


@pytest.fixture
def own_cluster():
    """A cluster of this test's own: restarted, it may not close cleanly (a known
    distributed quirk: the restarted workers' old addresses), which must not reach the
    other tests' cluster."""
    distributed = pytest.importorskip("distributed")
    local = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(local)
    yield client
    with contextlib.suppress(Exception):
        client.close()
    with contextlib.suppress(Exception):
        local.close()


@pytest.mark.slow
def test_every_worker_restarted_mid_run_loses_no_record(tmp_path, model_path, own_cluster):
    """All the workers restarted (and the model scattered to them lost) while chunks are
    in flight: those chunks are tried again, never written as the records' failures; a run
    that still cannot go on stops with WorkerError, and --resume completes it."""
    import threading

    from mirnamap.errors import WorkerError

    source = write_fasta(tmp_path / "in.fa", hairpins(400, seed=5))
    local = tmp_path / "local.tsv"
    stream_predictions(source, local, model_path, chunk_size=5, workers=1)
    out = tmp_path / "dask.tsv"
    journal = Path(f"{out}.journal")

    def restart_when_started() -> None:
        deadline = time.time() + 120
        while time.time() < deadline:
            if journal.is_file() and len(journal.read_text().splitlines()) > 3:
                own_cluster.restart(wait_for_workers=False)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=restart_when_started)
    killer.start()
    try:
        summary = stream_predictions(
            source, out, model_path, chunk_size=5, executor=own_cluster, progress=False
        )
    except WorkerError:  # every try of a chunk failed: the journal holds the rest
        own_cluster.wait_for_workers(2, timeout=120)
        summary = stream_predictions(
            source, out, model_path, chunk_size=5, executor=own_cluster, progress=False,
            resume=True,
        )  # fmt: skip
    finally:
        killer.join()
    own_cluster.wait_for_workers(2, timeout=120)
    assert out.read_bytes() == local.read_bytes()
    assert summary.n_failed == 2  # the input's own two bad records, nothing more


@pytest.mark.slow
def test_a_scheduler_address_is_accepted(tmp_path, model_path, fasta, cluster):
    address = cluster.scheduler.address
    summary = stream_predictions(
        fasta, tmp_path / "p.tsv", model_path, chunk_size=20, executor=address
    )
    assert summary.n_records == 42


# ----------------------------------------------------------------------------------- cli


def test_cli_streams_predictions_to_the_same_file(tmp_path, model_path, fasta, capsys):
    from mirnamap.cli import main

    common = [str(fasta), "--model", str(model_path), "--workers", "1"]
    assert main(["predict", *common, "-o", str(tmp_path / "whole.tsv")]) == 0
    capsys.readouterr()
    assert main(["predict", *common, "-o", str(tmp_path / "s.tsv"), "--chunk-size", "7"]) == 0
    captured = capsys.readouterr()
    assert (tmp_path / "s.tsv").read_bytes() == (tmp_path / "whole.tsv").read_bytes()
    assert "predicted 40 of 42 records in 6 chunks" in captured.out
    assert "bad\t" in captured.err and "flat\t" in captured.err  # failures with reasons
    assert main(["predict", *common, "-o", str(tmp_path / "s.tsv"), "--resume"]) == 0
    assert "42 resumed" in capsys.readouterr().out


def test_cli_streams_explanations(tmp_path, model_path, fasta, capsys):
    from mirnamap.cli import main

    common = [str(fasta), "--model", str(model_path), "--method", "gradient", "--workers", "1"]
    common += ["--batch-size", "1", "--no-pictures"]
    assert main(["explain", *common, "--out", str(tmp_path / "whole")]) == 0
    assert main(["explain", *common, "--out", str(tmp_path / "s"), "--chunk-size", "9"]) == 0
    for name in TABLES:
        assert (tmp_path / "s" / name).read_text() == (tmp_path / "whole" / name).read_text()
    capsys.readouterr()
    html = ["--html", str(tmp_path / "r.html"), "--chunk-size", "9"]
    assert main(["explain", *common, "--out", str(tmp_path / "h"), *html]) == 2
    assert "--html needs every record in memory" in capsys.readouterr().err


def test_a_chunk_without_records_is_a_named_error():
    from mirnamap.pipeline.chunks import Chunk, draw_chunk

    empty = Chunk(0, 0, ("a",), None, None, None, "in.fa")
    with pytest.raises(ValueError, match=r"in\.fa: a chunk with no sequences"):
        empty.digest("salt")
    with pytest.raises(ValueError, match=r"in\.fa: a chunk with no sequences"):
        draw_chunk(empty)
