"""Folding: ViennaRNA results, per-record errors, serial == parallel, the TSV."""

from __future__ import annotations

import itertools
import math
import multiprocessing

import pytest
import RNA
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.datasets import load_deepmirgene
from mirnamap.fold import Fold, fold, load_folds, save_folds
from mirnamap.structure import normalise_sequence
from mirnamap.workers import shutdown_workers


def test_fold_matches_viennarna_and_normalises():
    sequences = ["gggaaauccc", "GGGGAAACCCC", "ACGTACGTTTGCAAACGU"]
    folds = fold(sequences, ids=["a", "b", "c"], workers=1)
    for f, raw in zip(folds, sequences, strict=True):
        clean = raw.upper().replace("T", "U")
        structure, mfe = RNA.fold(clean)
        assert (f.sequence, f.structure) == (clean, structure)
        assert f.mfe == pytest.approx(mfe, abs=0.005) and f.ok and f.error is None
    assert [f.id for f in folds] == ["a", "b", "c"]


def test_every_record_comes_back_with_a_result_or_a_reason():
    sequences = ["GGGGAAACCCC", "", "ACGNACGU", "ACG UAC", "acgu", "  "]
    folds = fold(sequences, workers=1)
    assert [f.id for f in folds] == ["0", "1", "2", "3", "4", "5"]
    assert [f.ok for f in folds] == [True, False, False, False, True, False]
    assert folds[1].error == "empty sequence"
    assert folds[2].error == "invalid character 'N' at position 4 (only A, C, G, U or T allowed)"
    assert "' '" in folds[3].error and folds[5].error == "empty sequence"
    assert all(f.structure is None and math.isnan(f.mfe) for f in folds if not f.ok)


def test_serial_equals_parallel_on_real_hairpins():
    records = load_deepmirgene("human")
    sequences = [*list(records.sequences[:150]), "NNNN"]
    serial = fold(sequences, workers=1)
    parallel = fold(sequences, workers=2, chunksize=7)
    assert serial == parallel
    assert not serial[-1].ok


def test_a_warm_worker_switches_temperature_and_energy_parameters():
    # ViennaRNA keeps its settings in process-global state and the pool's workers outlive
    # a call: every task sets them, so a worker that folded at 95 C or with other
    # parameters folds with the next call's, and the results match folding here.
    sequences = list(load_deepmirgene("human").sequences[:150])
    shutdown_workers()  # so that the pool counted below is this test's own
    runs = [
        {"temperature": 95.0},
        {},
        {"energy_params": "rna_andronescu2007"},
        {},
        {"temperature": 20.0, "energy_params": "rna_turner1999"},
        {"temperature": 20.0},
    ]
    results, pools = [], []
    for options in runs:
        parallel = fold(sequences, workers=2, chunksize=5, progress=False, **options)
        pools.append({p.pid for p in multiprocessing.active_children()})
        assert parallel == fold(sequences, workers=1, **options), options
        results.append([(f.structure, f.mfe) for f in parallel])
    assert len(pools[0]) == 2 and all(p == pools[0] for p in pools)  # one warm pool
    # Each setting folds differently from the one before it: a stale one would show.
    assert all(a != b for a, b in itertools.pairwise(results))


def test_workers_and_ids_are_checked():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        fold(["ACGU"], workers=0)
    with pytest.raises(ValueError, match="2 sequences but 1 ids"):
        fold(["ACGU", "ACGU"], ids=["x"])


def test_a_single_str_is_refused_not_folded_letter_by_letter():
    with pytest.raises(TypeError, match="sequences must be an iterable of str"):
        fold("GGGAAACCC", workers=1)
    with pytest.raises(TypeError, match="ids must be an iterable of str"):
        fold(["GGGAAACCC"], ids="x", workers=1)
    assert len(fold(("GGGAAACCC",), ids=iter(["x"]), workers=1)) == 1


def test_temperature_reaches_viennarna():
    sequence = "GGGGCGCAAGCCUUUUGGCGCUUGCGCCCC"
    hot = fold([sequence], temperature=95.0, workers=1)[0]
    default = fold([sequence], workers=1)[0]
    md = RNA.md()
    md.temperature = 95.0
    structure, mfe = RNA.fold_compound(sequence, md).mfe()
    assert (hot.structure, hot.mfe) == (structure, round(mfe, 2))
    assert hot.mfe > default.mfe


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ACGUTacgutN-", min_size=0, max_size=80), max_size=6))
def test_fuzzed_batches_never_crash_and_keep_every_record(sequences):
    folds = fold(sequences, workers=1)
    assert len(folds) == len(sequences)
    for f, raw in zip(folds, sequences, strict=True):
        try:
            clean = normalise_sequence(raw)
        except ValueError as error:
            assert not f.ok and f.error == str(error)
            continue
        assert f.ok and len(f.structure) == len(clean) == len(f.sequence)
        depth = 0
        for char in f.structure:
            depth += {"(": 1, ")": -1}.get(char, 0)
            assert depth >= 0
        assert depth == 0


def test_tsv_round_trip_keeps_failures(tmp_path):
    folds = fold(["GGGGAAACCCC", "AXA"], ids=["good", "bad\tid"], workers=1)
    save_folds(folds, tmp_path / "f.tsv")
    back = load_folds(tmp_path / "f.tsv")
    assert back[0] == folds[0]
    assert back[1].id == "bad id" and not back[1].ok and "invalid character 'X'" in back[1].error


def test_load_folds_keeps_bad_rows_as_failures_naming_the_line(tmp_path):
    path = tmp_path / "f.tsv"
    path.write_text(
        "id\tsequence\tstructure\tmfe\n"
        "good\tgggaaauccc\t((((..))))\t-1.5\n"
        "open\tGGGAAACCC\t(((...))\t-1.0\n"
        "shut\tGGGAAACCC\t((...))))\t-1.0\n"
        "n\tGGGANACCC\t(((...)))\t-1.0\n"
        "short\tGGGAAACCC\t((...))\t-1.0\n"
        "weird\tGGGAAACCC\t(((.x.)))\t-1.0\n"
    )
    folds = load_folds(path)
    assert [f.id for f in folds] == ["good", "open", "shut", "n", "short", "weird"]
    assert folds[0] == Fold("good", "GGGAAAUCCC", "((((..))))", -1.5)
    assert [f.ok for f in folds] == [True] + [False] * 5
    assert all(f.structure is None and math.isnan(f.mfe) for f in folds[1:])
    expected = [
        (3, "'(' at position 1 is never closed"),
        (4, "')' at position 8 closes nothing"),
        (5, "invalid character 'N' at position 5"),
        (6, "9 nt but structure has 7"),
        (7, "invalid structure character 'x' at position 5"),
    ]
    for f, (line, what) in zip(folds[1:], expected, strict=True):
        assert f.error.startswith(f"{path} line {line}: ") and what in f.error, f.error


def test_load_folds_rejects_other_tables(tmp_path):
    (tmp_path / "x.tsv").write_text("name\tseq\nA\tACGU\n")
    with pytest.raises(ValueError, match="missing column"):
        load_folds(tmp_path / "x.tsv")


def test_fold_record_fields():
    f = Fold("x", "ACGU", None, math.nan, "why")
    assert not f.ok
