"""Fold augmentation: Boltzmann samples and other temperatures of the same sequences."""

from __future__ import annotations

import numpy as np
import pytest

from mirnamap.augment import augment_folds, group_split, sample_structures
from mirnamap.datasets import load_deepmirgene
from mirnamap.fold import fold
from mirnamap.structure import check_record


@pytest.fixture(scope="module")
def records():
    data = load_deepmirgene("human")
    pick = np.r_[0:12, len(data) - 12 : len(data)]  # positives and negatives
    return [data.sequences[i] for i in pick], data.labels[pick]


@pytest.fixture(scope="module")
def augmented(records):
    sequences, labels = records
    return augment_folds(sequences, labels, samples=5, temperatures=(30.0, 45.0), seed=3)


def test_augmentations_keep_the_sequence_and_label_and_are_valid_structures(records, augmented):
    sequences, labels = records
    assert augmented.images.shape == (len(augmented), 25, 100, 3)
    assert augmented.images.dtype == np.uint8
    assert len(augmented) > len(sequences)
    for k in range(len(augmented)):
        origin = augmented.origin[k]
        expected = sequences[origin].upper().replace("T", "U")
        assert augmented.sequences[k] == expected
        assert augmented.labels[k] == labels[origin]
        assert len(augmented.structures[k]) == len(expected)
        check_record(augmented.sequences[k], augmented.structures[k])  # balanced, same length
        assert "(" in augmented.structures[k] and ")" in augmented.structures[k]
    assert set(augmented.origin.tolist()) == set(range(len(sequences)))


def test_the_mfe_kind_is_the_mfe_fold_and_samples_differ_from_it(records, augmented):
    sequences, _ = records
    mfe = {k: f.structure for k, f in enumerate(fold(sequences, workers=1))}
    kinds = np.array(augmented.kinds)
    for k in np.flatnonzero(kinds == "mfe"):
        assert augmented.structures[k] == mfe[augmented.origin[k]]
    differing = {augmented.origin[k] for k in np.flatnonzero(kinds == "sample")
                 if augmented.structures[k] != mfe[augmented.origin[k]]}  # fmt: skip
    assert len(differing) >= len(sequences) // 2
    assert {"mfe_30C", "mfe_45C"} & set(augmented.kinds)
    # unique: no sequence has one structure twice
    pairs = list(zip(augmented.origin.tolist(), augmented.structures, strict=True))
    assert len(pairs) == len(set(pairs))


def test_augmentation_is_reproducible_with_the_seed(records, augmented):
    sequences, labels = records
    again = augment_folds(sequences, labels, samples=5, temperatures=(30.0, 45.0), seed=3)
    assert again.structures == augmented.structures
    np.testing.assert_array_equal(again.images, augmented.images)
    other = augment_folds(sequences, labels, samples=5, temperatures=(30.0, 45.0), seed=4)
    assert other.structures != augmented.structures
    # A sequence's samples do not depend on the others in the call (seeded by position).
    alone = augment_folds(sequences[:3], labels[:3], samples=5, temperatures=(30.0, 45.0), seed=3)
    assert alone.structures == tuple(
        s for s, o in zip(augmented.structures, augmented.origin, strict=True) if o < 3
    )


def test_sample_structures_is_seeded():
    sequence = "GGGAAAUCCCGCGCUAUAGCGCAUAUAUGGGAAAUCCCAGCUAGCUAGGCUAGC"
    first = sample_structures(sequence, 20, seed=5)
    assert sample_structures(sequence, 20, seed=5) == first
    assert sample_structures(sequence, 20, seed=6) != first
    assert all(len(s) == len(sequence) for s in first)


def test_undrawable_structures_are_failures_and_without_mfe_its_repeats_go_too():
    out = augment_folds(["GGGGAAAACCCC", "AAAAAAAAAA"], [1, 0], samples=3)
    assert 1 not in out.origin.tolist()  # an open chain has no hairpin: not drawn
    assert out.failures and all("hairpin" in f.reason for f in out.failures)
    without = augment_folds(["GGGGAAAACCCC", "AAAAAAAAAA"], [1, 0], samples=3, include_mfe=False)
    assert "mfe" not in without.kinds
    mfe = fold(["GGGGAAAACCCC"], workers=1)[0].structure
    assert mfe not in without.structures  # a sample equal to the MFE repeats the plain pool


def test_group_split_keeps_one_sequence_on_one_side(augmented):
    held = group_split(augmented.origin, 0.3, seed=1)
    for origin in np.unique(augmented.origin):
        assert len(set(held[augmented.origin == origin].tolist())) == 1
    assert 0 < held.sum() < len(held)


def test_labels_must_match():
    with pytest.raises(ValueError, match="labels"):
        augment_folds(["GGGGAAAACCCC"], [1, 0])
