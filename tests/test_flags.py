"""The "unsure" flag: the cut on the members' spread, chosen on held-out calls."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.flags import FlagRule, choose_flag_rule, flag_calls


def _youden(labels, p, sd, threshold, cut):
    wrong = (p >= threshold).astype(int) != labels
    flagged = sd >= cut
    return flagged[wrong].mean() - flagged[~wrong].mean()


def test_a_spread_that_marks_every_error_is_found_exactly():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.4, 0.7, 0.1, 0.6, 0.2, 0.3])  # errors: index 2 and 5
    sd = np.array([0.01, 0.02, 0.20, 0.03, 0.02, 0.15, 0.01, 0.05])
    rule = choose_flag_rule(labels, p, sd, 0.5)
    # The largest cut that flags both errors and no right call: 0.15.
    assert rule == FlagRule(0.15, 2, 2, 0, 6)
    assert np.flatnonzero(flag_calls(sd, rule.sd)).tolist() == [2, 5]
    assert rule.as_dict()["share_of_errors_caught"] == 1.0


def test_no_rule_without_errors_or_without_separation():
    labels = np.array([1, 0, 1, 0])
    assert choose_flag_rule(labels, np.array([0.9, 0.1, 0.8, 0.2]), np.ones(4) * 0.1, 0.5) is None
    # One member: no spread, so nothing to flag errors by.
    assert choose_flag_rule(labels, np.array([0.9, 0.6, 0.8, 0.2]), np.zeros(4), 0.5) is None
    assert not flag_calls(np.array([0.3, 0.9]), None).any()


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match="must be"):
        choose_flag_rule(np.zeros(3), np.zeros(3), np.zeros(4), 0.5)
    with pytest.raises(ValueError, match="NaN"):
        choose_flag_rule(np.zeros(2), np.array([0.1, np.nan]), np.zeros(2), 0.5)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(4, 60),
    st.floats(0.05, 0.95),
)
def test_the_chosen_cut_is_the_best_one_and_its_counts_are_true(seed, n, threshold):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    p = rng.random(n)
    sd = np.round(rng.random(n) * 0.3, 3)
    rule = choose_flag_rule(labels, p, sd, threshold)
    wrong = (p >= threshold).astype(int) != labels
    if rule is None:
        if wrong.any() and (~wrong).any():
            assert max(_youden(labels, p, sd, threshold, c) for c in np.unique(sd)) <= 0
        return
    flagged = flag_calls(sd, rule.sd)
    assert (rule.errors, rule.right) == (int(wrong.sum()), int((~wrong).sum()))
    assert rule.errors_caught == int(flagged[wrong].sum())
    assert rule.right_flagged == int(flagged[~wrong].sum())
    best = _youden(labels, p, sd, threshold, rule.sd)
    assert best > 0
    for cut in np.unique(sd):  # no other cut does better; a tie is won by the largest
        other = _youden(labels, p, sd, threshold, cut)
        assert other <= best + 1e-12
        if abs(other - best) <= 1e-12:
            assert cut <= rule.sd
