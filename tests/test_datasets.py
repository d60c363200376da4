"""Bundled data sets: sizes, splits, label conflicts, and errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.datasets import (
    label_conflicts,
    load_deepmir,
    load_deepmirgene,
    load_fasta,
    load_labelled_fasta,
)


@pytest.mark.parametrize(
    ("name", "positives", "negatives", "test_pos", "test_neg", "conflicts"),
    [("human", 863, 7422, 86, 742, 33), ("whole", 1677, 8266, 167, 826, 23)],
)
def test_deepmirgene_sets_and_splits(name, positives, negatives, test_pos, test_neg, conflicts):
    records = load_deepmirgene(name)
    labels, splits = records.labels, np.array(records.splits)
    assert (labels == 1).sum() == positives and (labels == 0).sum() == negatives
    assert ((splits == "test") & (labels == 1)).sum() == test_pos
    assert ((splits == "test") & (labels == 0)).sum() == test_neg
    assert set(splits) == {"test", "fold1", "fold2", "fold3", "fold4", "fold5"}
    assert len(set(records.ids)) == len(records)
    assert len(records.conflicts) == conflicts
    # Each conflict really is in both classes.
    clean = np.array([s.upper().replace("T", "U") for s in records.sequences])
    for sequence in records.conflicts[:5]:
        assert set(labels[clean == sequence]) == {0, 1}


def test_new_set_is_all_test():
    records = load_deepmirgene("new")
    assert (records.labels == 1).sum() == 690 and (records.labels == 0).sum() == 8246
    assert set(records.splits) == {"test"}


def test_unknown_set_names_the_known_ones():
    with pytest.raises(ValueError, match="known: human, whole, new"):
        load_deepmirgene("mouse")
    with pytest.raises(ValueError, match="modhsa_train"):
        load_deepmir("nope")


def test_deepmir_images():
    data = load_deepmir("modhsa_test")
    assert data.images.shape == (1098, 25, 100, 3) and data.images.dtype == np.uint8
    assert data.labels.sum() == 549 and len(data.names) == 1098


def test_deepmir_file_checks(tmp_path):
    np.savez(tmp_path / "bad.npz", images=np.zeros((2, 25, 100, 3), np.float32), labels=[0, 1])
    with pytest.raises(ValueError, match="must be uint8"):
        load_deepmir(str(tmp_path / "bad.npz"))
    np.savez(tmp_path / "nolabels.npz", images=np.zeros((2, 25, 100, 3), np.uint8))
    with pytest.raises(ValueError, match="needs arrays 'images' and 'labels'"):
        load_deepmir(str(tmp_path / "nolabels.npz"))


def test_fasta_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_fasta(tmp_path / "missing.fa")
    (tmp_path / "x.txt").write_text("ACGU\n")
    with pytest.raises(ValueError, match="not a FASTA file"):
        load_fasta(tmp_path / "x.txt")
    (tmp_path / "e.fa").write_text("")
    with pytest.raises(ValueError, match=r"e\.fa: empty file"):
        load_fasta(tmp_path / "e.fa")
    (tmp_path / "blank.fa").write_text("\n  \n")
    with pytest.raises(ValueError, match=r"blank\.fa: empty file"):
        load_fasta(tmp_path / "blank.fa")
    (tmp_path / "latin1.fa").write_bytes(b">a\nACGU\xe9\n")
    with pytest.raises(ValueError, match=r"latin1.fa: not UTF-8 text \(byte 0xe9 at offset 7\)"):
        load_fasta(tmp_path / "latin1.fa")
    with pytest.raises(ValueError, match="is a folder"):
        load_fasta(tmp_path)
    with pytest.raises(ValueError, match="label must be 0 or 1"):
        (tmp_path / "ok.fa").write_text(">a\nACGU\n")
        load_fasta(tmp_path / "ok.fa", label=2)


def test_gzip_fasta_reads_like_the_plain_file(tmp_path):
    import gzip

    text = ">a desc\nACGU\nGG\n>b\nuuu\n"
    (tmp_path / "x.fa").write_text(text)
    (tmp_path / "x.fa.gz").write_bytes(gzip.compress(text.encode()))
    assert load_fasta(tmp_path / "x.fa.gz") == load_fasta(tmp_path / "x.fa")
    assert load_fasta(tmp_path / "x.fa.gz").sequences == ("ACGUGG", "uuu")
    (tmp_path / "cut.fa.gz").write_bytes(gzip.compress(text.encode())[:-6])
    with pytest.raises(ValueError, match=r"cut\.fa\.gz: a damaged gzip file"):
        load_fasta(tmp_path / "cut.fa.gz")


def test_labelled_fasta_reports_conflicts(tmp_path):
    (tmp_path / "p.fa").write_text(">1\nACGU\n>2\nGGGG\n")
    (tmp_path / "n.fa").write_text(">1\nacgt\n>3\nCCCC\n")
    records = load_labelled_fasta(tmp_path / "p.fa", tmp_path / "n.fa")
    assert records.ids == ("pos:1", "pos:2", "neg:1", "neg:3")
    assert list(records.labels) == [1, 1, 0, 0]
    assert records.conflicts == ("ACGU",)
    subset = records.select(records.labels == 0)
    assert subset.ids == ("neg:1", "neg:3")


def test_label_conflicts():
    assert label_conflicts(["A", "a", "C", "C"], [1, 0, 1, 1]) == ("A",)
    assert label_conflicts([], []) == ()


def _dinucleotides(s: str) -> list[str]:
    return sorted(s[i : i + 2] for i in range(len(s) - 1))


@given(st.text(alphabet="ACGU", min_size=0, max_size=60), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_dinucleotide_shuffle_keeps_every_dinucleotide_count(sequence, seed):
    from mirnamap.datasets import dinucleotide_shuffle

    shuffled = dinucleotide_shuffle(sequence, np.random.default_rng(seed))
    assert len(shuffled) == len(sequence)
    assert _dinucleotides(shuffled) == _dinucleotides(sequence)
    if sequence:
        assert shuffled[0] == sequence[0] and shuffled[-1] == sequence[-1]
    again = dinucleotide_shuffle(sequence, np.random.default_rng(seed))
    assert again == shuffled  # the seed fixes the shuffle


def test_dinucleotide_shuffle_is_uniform_over_the_equivalent_sequences():
    """Every sequence with the same dinucleotide counts (and ends) is drawn equally often."""
    from itertools import permutations

    from mirnamap.datasets import dinucleotide_shuffle

    sequence = "ACAGACUCA"
    target = _dinucleotides(sequence)
    equivalent = {
        "".join(p)
        for p in permutations(sequence)
        if p[0] == sequence[0] and _dinucleotides("".join(p)) == target
    }
    assert len(equivalent) > 3
    rng = np.random.default_rng(0)
    draws = 6000
    counts = {s: 0 for s in equivalent}
    for _ in range(draws):
        counts[dinucleotide_shuffle(sequence, rng)] += 1
    expected = draws / len(equivalent)
    assert all(abs(c - expected) < 0.15 * expected for c in counts.values()), counts
