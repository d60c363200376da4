"""Projection of pixel maps onto nucleotides: mass conservation, one-hot maps, regions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.encode import BACKGROUND, GAP, encode
from mirnamap.project import project, summarise_regions
from mirnamap.structure import REGIONS, outermost_pair, pair_table, regions, terminal_loop


@st.composite
def hairpins(draw, max_levels: int = 6):
    """A random hairpin: nested stems with bulges and internal loops, tails, and
    sometimes a second small hairpin in a tail (so the terminal loop must be chosen)."""
    structure = "." * draw(st.integers(1, 14))
    for _ in range(draw(st.integers(1, max_levels))):
        stem = draw(st.integers(1, 12))
        left, right = draw(st.integers(0, 7)), draw(st.integers(0, 7))
        structure = "(" * stem + "." * left + structure + "." * right + ")" * stem
    tail5 = "." * draw(st.integers(0, 20))
    tail3 = "." * draw(st.integers(0, 20))
    if draw(st.booleans()):
        tail3 += "((" + "." * draw(st.integers(1, 4)) + "))"
    structure = tail5 + structure + tail3
    sequence = "".join(
        draw(st.lists(st.sampled_from("ACGU"), min_size=len(structure), max_size=len(structure)))
    )
    return sequence, structure


def _encode(batch):
    enc = encode([s for s, _ in batch], [t for _, t in batch])
    assert enc.failures == ()
    return enc


@settings(max_examples=60, deadline=None)
@given(st.lists(hairpins(), min_size=1, max_size=4), st.integers(0, 2**31 - 1))
def test_projection_conserves_mass(batch, seed):
    enc = _encode(batch)
    lengths = np.array([len(s) for s, _ in batch])
    maps = np.random.default_rng(seed).normal(size=enc.layout.shape).astype(np.float32)
    proj = project(maps, enc.layout, lengths)
    for k in range(len(batch)):
        score, n_pixels = proj.scores[k], proj.n_pixels[k]
        assert score.shape == (lengths[k],)
        # Nucleotides + background + gap bars = the whole map, nothing lost or counted twice.
        assert np.nansum(score) + proj.background[k] + proj.gap[k] == pytest.approx(
            float(maps[k].astype(np.float64).sum()), abs=1e-6
        )
        assert proj.total[k] == pytest.approx(float(maps[k].astype(np.float64).sum()))
        assert proj.background[k] == pytest.approx(
            float(maps[k][enc.layout[k] == BACKGROUND].astype(np.float64).sum()), abs=1e-9
        )
        assert proj.gap[k] == pytest.approx(
            float(maps[k][enc.layout[k] == GAP].astype(np.float64).sum()), abs=1e-9
        )
        # Pixels: every pixel belongs to one nucleotide, the background or a gap bar.
        assert n_pixels.sum() + (enc.layout[k] < 0).sum() == 25 * 100
        # No pixel <=> NaN, and the encoder's count of nucleotides off the canvas agrees.
        np.testing.assert_array_equal(np.isnan(score), n_pixels == 0)
        assert int((n_pixels == 0).sum()) == int(enc.n_off_canvas[k])


@settings(max_examples=40, deadline=None)
@given(hairpins())
def test_a_map_on_one_nucleotide_projects_to_it_alone(hairpin):
    sequence, structure = hairpin
    enc = _encode([hairpin])
    n = len(sequence)
    layout = np.repeat(enc.layout, n, axis=0)
    # Map k is 1 exactly on nucleotide k's pixels (all zero for a nucleotide without any).
    maps = (layout == np.arange(n)[:, None, None]).astype(np.float32)
    proj = project(maps, layout, np.full(n, n))
    painted = proj.n_pixels[0] > 0
    for k in range(n):
        score = proj.scores[k]
        expected = np.where(painted, 0.0, np.nan)
        if painted[k]:
            expected[k] = (enc.layout[0] == k).sum()
        np.testing.assert_array_equal(score, expected)
        assert proj.background[k] == 0 and proj.gap[k] == 0
    # Loop nucleotides are the only ones with pixels in both halves.
    s, e = terminal_loop(structure)
    top = set(enc.layout[0, :13][enc.layout[0, :13] >= 0].tolist())
    bottom = set(enc.layout[0, 13:][enc.layout[0, 13:] >= 0].tolist())
    assert top & bottom <= set(range(s + 1, e))


def test_cut_off_nucleotides_are_nan_not_zero():
    stem = 120
    sequence = "G" * stem + "AAAA" + "C" * stem
    structure = "(" * stem + "...." + ")" * stem
    enc = _encode([(sequence, structure)])
    proj = project(np.ones(enc.layout.shape), enc.layout, [len(sequence)])
    score = proj.scores[0]
    # 24 columns fall off: the 24 outermost nucleotides of each arm.
    assert np.isnan(score[:24]).all() and np.isnan(score[-24:]).all()
    assert not np.isnan(score[24:-24]).any() and (score[24:-24] > 0).all()
    assert (proj.n_pixels[0][:24] == 0).all()


def test_batch_equals_one_by_one():
    batch = [("GGGAAACCC", "(((...)))"), ("AGGGAUUAAAAUCCCA", ".(((.((...))))).")]
    enc = _encode(batch)
    maps = np.random.default_rng(0).normal(size=enc.layout.shape)
    lengths = [len(s) for s, _ in batch]
    both = project(maps, enc.layout, lengths)
    for k in range(2):
        one = project(maps[k : k + 1], enc.layout[k : k + 1], lengths[k : k + 1])
        np.testing.assert_array_equal(one.scores[0], both.scores[k])
        assert one.background[0] == both.background[k]


def test_per_channel_maps_split_the_scores():
    enc = _encode([("AGGGAUUAAAAUCCCA", ".(((.((...))))).")])
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(*enc.layout.shape, 3))
    proj = project(maps, enc.layout, [16])
    np.testing.assert_allclose(proj.channels[0].sum(axis=1), proj.scores[0])
    whole = project(maps.sum(axis=3), enc.layout, [16])
    np.testing.assert_allclose(whole.scores[0], proj.scores[0])
    # A map on the green channel only: R and B get nothing.
    green = np.zeros_like(maps)
    green[..., 1] = 1.0
    proj = project(green, enc.layout, [16])
    assert (proj.channels[0][:, [0, 2]] == 0).all()
    np.testing.assert_array_equal(proj.channels[0][:, 1], proj.n_pixels[0])


def test_padded_and_shares():
    enc = _encode([("GGGAAACCC", "(((...)))"), ("AGGGAUUAAAAUCCCA", ".(((.((...))))).")])
    proj = project(np.ones(enc.layout.shape), enc.layout, [9, 16])
    padded = proj.padded()
    assert padded.shape == (2, 16) and np.isnan(padded[0, 9:]).all()
    np.testing.assert_array_equal(padded[1], proj.scores[1])
    assert proj.background_share[0] == pytest.approx((enc.layout[0] == -1).sum() / 2500)
    zero = project(np.zeros(enc.layout.shape), enc.layout, [9, 16])
    assert np.isnan(zero.background_share).all()


@settings(max_examples=60, deadline=None)
@given(hairpins())
def test_regions_follow_the_structure(hairpin):
    _, structure = hairpin
    codes = regions(structure)
    s, e = terminal_loop(structure)
    i, j = outermost_pair(structure)
    assert structure[i] == "(" and structure[j] == ")" and i <= s < e <= j
    assert (np.diff(codes) >= 0).all()  # 5' tail, 5' arm, loop, 3' arm, 3' tail in order
    np.testing.assert_array_equal(np.flatnonzero(codes == 2), np.arange(s + 1, e))
    assert codes[s] == 1 and codes[e] == 3 and codes[i] == 1 and codes[j] == 3
    assert (codes[:i] == 0).all() and (codes[j + 1 :] == 4).all()


@settings(max_examples=60, deadline=None)
@given(hairpins())
def test_pair_table_is_an_involution_that_matches_brackets(hairpin):
    _, structure = hairpin
    partner = pair_table(structure)
    assert partner.shape == (len(structure),) and partner.dtype == np.int64
    for i, c in enumerate(structure):
        if c == ".":
            assert partner[i] == -1
        else:
            j = partner[i]
            assert partner[j] == i and structure[min(i, j)] == "(" and structure[max(i, j)] == ")"
            # nested: no pair crosses (i, j)
            inside = partner[min(i, j) + 1 : max(i, j)]
            assert np.all((inside == -1) | ((inside > min(i, j)) & (inside < max(i, j))))


@pytest.mark.parametrize(
    ("structure", "message"),
    [
        ("(()", "'(' at position 1 is never closed"),
        ("())", "')' at position 3 closes nothing"),
        ("(x)", "'x' at position 2"),
    ],
)
def test_pair_table_names_what_is_wrong(structure, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pair_table(structure)


def test_outermost_pair_skips_a_hairpin_in_the_tail():
    assert outermost_pair("((..))..(((((...)))))...") == (8, 20)
    np.testing.assert_array_equal(
        regions("((..))..(((((...)))))..."),
        [0] * 8 + [1] * 5 + [2] * 3 + [3] * 5 + [4] * 3,
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(hairpins(), min_size=1, max_size=3), st.integers(0, 2**31 - 1))
def test_region_summaries_add_up(batch, seed):
    enc = _encode(batch)
    lengths = [len(s) for s, _ in batch]
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=enc.layout.shape)
    proj = project(maps, enc.layout, lengths)
    mature = [(0, min(5, n)) if k % 2 == 0 else None for k, n in enumerate(lengths)]
    summary = summarise_regions(proj, enc.structures, mature=mature)
    np.testing.assert_allclose(
        summary.sums.sum(axis=1) + summary.background + summary.gap, maps.sum(axis=(1, 2))
    )
    for k, (_, structure) in enumerate(batch):
        sizes = np.bincount(regions(structure), minlength=len(REGIONS))
        np.testing.assert_array_equal(summary.counts[k] + summary.unpainted[k], sizes)
        if mature[k] is None:
            assert np.isnan(summary.mature[k]) and summary.mature_counts[k] == 0
        else:
            assert summary.mature[k] == pytest.approx(np.nansum(proj.scores[k][:5]))
    assert summary.means.shape == (len(batch), len(REGIONS))


def test_errors_name_the_record():
    enc = _encode([("GGGAAACCC", "(((...)))"), ("AGGGAUUAAAAUCCCA", ".(((.((...))))).")])
    maps = np.zeros(enc.layout.shape)
    with pytest.raises(ValueError, match=r"record 'b' \(#1\).*layout and lengths"):
        project(maps, enc.layout, [9, 10], ids=["a", "b"])
    with pytest.raises(ValueError, match="maps must have shape"):
        project(maps[:, :, :50], enc.layout, [9, 16])
    with pytest.raises(ValueError, match="lengths must be 2"):
        project(maps, enc.layout, [9])
    bad = maps.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"record #0: map is not finite"):
        project(bad, enc.layout, [9, 16])
    proj = project(maps, enc.layout, [9, 16])
    with pytest.raises(ValueError, match=r"mature region \[3, 40\)"):
        summarise_regions(proj, enc.structures, mature=[None, (3, 40)])
    with pytest.raises(ValueError, match="2 projected hairpins but 1 structures"):
        summarise_regions(proj, enc.structures[:1])
