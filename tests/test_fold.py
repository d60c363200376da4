"""Folding: ViennaRNA results, per-record errors, serial == parallel, the TSV."""

from __future__ import annotations

import math

import pytest
import RNA
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.datasets import load_deepmirgene
from mirnamap.fold import Fold, fold, load_folds, normalise_sequence, save_folds


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


def test_workers_and_ids_are_checked():
    with pytest.raises(ValueError, match="workers must be >= 1"):
        fold(["ACGU"], workers=0)
    with pytest.raises(ValueError, match="2 sequences but 1 ids"):
        fold(["ACGU", "ACGU"], ids=["x"])


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


def test_load_folds_rejects_other_tables(tmp_path):
    (tmp_path / "x.tsv").write_text("name\tseq\nA\tACGU\n")
    with pytest.raises(ValueError, match="missing column"):
        load_folds(tmp_path / "x.tsv")


def test_fold_record_fields():
    f = Fold("x", "ACGU", None, math.nan, "why")
    assert not f.ok
