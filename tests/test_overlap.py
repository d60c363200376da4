"""Leakage checks: shared records found by sequence, by strands read from images, by image."""

from __future__ import annotations

import numpy as np
import pytest

from mirnamap.encode import encode
from mirnamap.overlap import Hairpins, normalise, overlap

#: Two stems of 12 base pairs around a loop, so each strand read back has >= 10 nt.
HAIRPINS = {
    "a": ("GGACUGCAUCGAGAAAUCGAUGCAGUCC", "((((((((((((....))))))))))))"),
    "b": ("CCUGAGGUAGUAGUUUACUACUACCUCAGG", "((((((((((((......))))))))))))"),
    "c": ("AUGGCGCCUAGCAAAGCUAGGCGCCAU", "((((((((((((...))))))))))))"),
}


def _images(names):
    sequences, structures = zip(*(HAIRPINS[n] for n in names), strict=True)
    encoded = encode(sequences, structures)
    assert not encoded.failures
    return encoded.images


def test_sequences_match_once_normalised():
    found = overlap(
        ["ggacugcaucgagaaaucgaugcagucc", "ACGT"], [" GGACTGCATCGAGAAATCGATGCAGTCC\n", "UUUU"]
    )
    assert found.train.tolist() == [0] and found.test.tolist() == [0]
    assert found.how == ("sequence",) and len(found) == 1
    assert normalise("acgt") == "ACGU"
    assert not len(overlap(["ACGU"], ["ACGUA"]))


def test_an_image_matches_the_sequence_it_was_drawn_from_and_a_longer_one_holding_it():
    images = _images(["a", "b"])
    longer = "UUUUU" + HAIRPINS["b"][0] + "AAAAA"
    found = overlap(images, [HAIRPINS["c"][0], longer, HAIRPINS["a"][0]])
    assert sorted(zip(found.train.tolist(), found.test.tolist(), strict=True)) == [(0, 2), (1, 1)]
    assert set(found.how) == {"strands"}
    # The same the other way round (test images, training sequences).
    back = overlap([HAIRPINS["a"][0], "ACGU"], images)
    assert back.train.tolist() == [0] and back.test.tolist() == [0]


def test_images_match_by_bytes_and_records_by_every_form_they_have():
    images = _images(["a", "b", "c"])
    found = overlap(images[[2, 0]], images)
    assert sorted(zip(found.train.tolist(), found.test.tolist(), strict=True)) == [(0, 2), (1, 0)]
    assert set(found.how) == {"image"}
    # A record with a sequence and an image: both count (its own image's strands occur in
    # the test sequence, too); unknown sequences are skipped.
    train = Hairpins([HAIRPINS["a"][0], None], images[[0, 1]])
    test = Hairpins([HAIRPINS["a"][0], ""], images[[2, 1]])
    found = overlap(train, test)
    assert set(zip(found.train.tolist(), found.test.tolist(), found.how, strict=True)) == {
        (0, 0, "sequence"),
        (0, 0, "strands"),
        (1, 1, "image"),
    }
    assert found.train_records.tolist() == [0, 1] and "2 of 2 training records" in found.summary()
    assert found.to_frame().shape == (3, 3)


def test_short_strands_identify_nothing():
    short = encode(["GGGAAACCC"], ["(((...)))"]).images  # strands of 6 nt
    assert not len(overlap(short, ["GGGAAACCC"]))
    assert len(overlap(short, ["GGGAAACCC"], min_strand=3)) == 1


@pytest.mark.parametrize(
    ("train", "match"),
    [
        (42, "expected sequences"),
        (np.zeros((2, 5, 5, 3), np.uint8), r"\(N, 25, 100, 3\)"),
        (Hairpins(["A"], np.zeros((2, 25, 100, 3), np.uint8)), "1 sequences but 2 images"),
        (Hairpins(), "neither sequences nor images"),
    ],
)
def test_bad_sets_are_named(train, match):
    with pytest.raises(ValueError, match=match):
        overlap(train, ["ACGU"])
