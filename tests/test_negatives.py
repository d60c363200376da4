"""Pseudo-hairpins from a Markov model of negatives, and hard-negative mining."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirnamap.datasets import load_deepmirgene
from mirnamap.errors import InputWarning
from mirnamap.fold import Fold
from mirnamap.negatives import (
    fit_markov,
    hardest_negatives,
    kmer_frequencies,
    passes_pseudo_hairpin_criteria,
    pseudo_hairpins,
    sample_markov,
)
from mirnamap.structure import pair_table


@pytest.fixture(scope="module")
def negatives() -> list[str]:
    records = load_deepmirgene("human")
    labels = records.labels
    return [s for s, label in zip(records.sequences, labels, strict=True) if label == 0][:500]


@pytest.fixture(scope="module")
def model(negatives):
    return fit_markov(negatives, order=3)


def _criteria_by_hand(record: Fold) -> bool:
    """The criteria again, written another way: pairs, energy, and '(' '.'+ ')' once."""
    import re

    pairs = int((pair_table(record.structure) >= 0).sum()) // 2
    loops = len(re.findall(r"\(\.+\)", record.structure))
    return pairs >= 18 and record.mfe <= -15.0 and loops == 1


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**31 - 1))
def test_every_kept_record_meets_the_criteria(model, seed):
    records = pseudo_hairpins(model, 4, seed=seed, workers=1)
    assert len(records) == 4
    for record in records:
        assert record.ok and passes_pseudo_hairpin_criteria(record)
        assert _criteria_by_hand(record)
        assert 60 <= len(record.sequence) <= 110
        assert set(record.sequence) <= set("ACGU")


def test_the_criteria_reject_each_failing_property():
    stem = "G" * 20 + "AAAA" + "C" * 20
    hairpin = "(" * 20 + "...." + ")" * 20
    assert passes_pseudo_hairpin_criteria(Fold("ok", stem, hairpin, -30.0))
    assert not passes_pseudo_hairpin_criteria(Fold("weak", stem, hairpin, -14.9))
    short = "." * 3 + "(" * 17 + "...." + ")" * 17 + "." * 3
    assert not passes_pseudo_hairpin_criteria(Fold("17 pairs", stem, short, -30.0))
    two = "(" * 10 + "..." + ")" * 10 + "(" * 10 + "..." + ")" * 10
    assert not passes_pseudo_hairpin_criteria(Fold("two stems", "A" * 46, two, -30.0))
    multi = "(" * 5 + two + ")" * 5
    assert not passes_pseudo_hairpin_criteria(Fold("multiloop", "A" * 56, multi, -30.0))
    bulged = "(" * 10 + ".." + "(" * 10 + "...." + ")" * 20
    assert passes_pseudo_hairpin_criteria(Fold("bulge", "A" * 46, bulged, -30.0))
    assert not passes_pseudo_hairpin_criteria(Fold("unfolded", "ACGN", None, float("nan"), "bad"))


def test_the_same_seed_gives_the_same_records_and_another_seed_others(model):
    first = pseudo_hairpins(model, 3, seed=7, workers=1)
    assert pseudo_hairpins(model, 3, seed=7, workers=1) == first
    other = pseudo_hairpins(model, 3, seed=8, workers=1)
    assert {r.sequence for r in first}.isdisjoint({r.sequence for r in other})


def test_the_model_reproduces_the_kmer_frequencies_of_its_sequences(negatives, model):
    rng = np.random.default_rng(0)
    drawn = [sample_markov(model, 100, rng) for _ in range(300)]
    for k in (1, 2, 3, 4):  # up to order + 1: what a third-order model fits
        expected, observed = kmer_frequencies(negatives, k), kmer_frequencies(drawn, k)
        assert np.abs(observed - expected).sum() / 2 < 0.05 + 0.02 * k, k  # total variation
    # A model of the wrong statistics does not pass: uniform letters differ clearly.
    uniform = fit_markov(["ACGU" * 30], order=0)
    flat = [sample_markov(uniform, 100, rng) for _ in range(300)]
    assert np.abs(kmer_frequencies(flat, 3) - kmer_frequencies(negatives, 3)).sum() / 2 > 0.1


def test_a_shortfall_raises_or_warns_within_the_bounded_draws(model):
    with pytest.raises(ValueError, match=r"only \d+ of 5 pseudo-hairpins .* in 10 draws"):
        pseudo_hairpins(model, 5, seed=0, max_draws=10, min_pairs=60, workers=1)
    with pytest.warns(InputWarning, match="only 0 of 5"):
        assert pseudo_hairpins(model, 5, seed=0, max_draws=10, min_pairs=60,
                               allow_shortfall=True, workers=1) == []  # fmt: skip


def test_bad_arguments_are_refused(model):
    with pytest.raises(ValueError, match="n must be"):
        pseudo_hairpins(model, -1)
    with pytest.raises(ValueError, match="length must be"):
        pseudo_hairpins(model, 1, length=(2, 10))
    with pytest.raises(ValueError, match="no sequence"):
        fit_markov(["ACGN", "AC"], order=3)
    with pytest.raises(TypeError):
        fit_markov("ACGU")


def test_hardest_negatives_are_the_highest_scored_negatives():
    p = np.array([[0.9, 0.1, 0.6, 0.8, 0.3], [0.9, 0.3, 0.8, 0.6, 0.3]])
    labels = np.array([1, 0, 0, 0, 0])
    assert hardest_negatives(p, labels, 2).tolist() == [2, 3]  # tie 0.7: lower index first
    assert hardest_negatives(p[0], labels, 10).tolist() == [3, 2, 4, 1]
    with pytest.raises(ValueError, match="shape"):
        hardest_negatives(p[0], labels[:3], 1)
