"""Plots render with Agg for odd hairpins and show one cell per nucleotide."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PatchCollection

from mirnamap.encode import encode
from mirnamap.plot import (
    NO_SCORE,
    plot_average_maps,
    plot_backends,
    plot_hairpin,
    plot_region_bars,
    plot_sequence_track,
    plot_structure,
    save_figure,
    title,
)
from mirnamap.project import project
from mirnamap.structure import REGIONS

# Odd cases: the shortest drawable hairpin, 250 nt with columns cut off, heavy bulges.
_CASES = {
    "short20": ("GGGGAAAACCCCAAAAGGUU", "((((....))))........"),
    "long250": ("G" * 123 + "AAAA" + "C" * 123, "(" * 123 + "...." + ")" * 123),
    "bulges": (
        "GGAAAAAGGAAAAAAGGAAAAUUUUCCCCCCCC",
        "((.....((......((....))..))..))..",
    ),
}


@pytest.fixture(scope="module")
def hairpins():
    sequences = [s for s, _ in _CASES.values()]
    structures = [t for _, t in _CASES.values()]
    enc = encode(sequences, structures, ids=list(_CASES))
    assert enc.failures == ()
    rng = np.random.default_rng(0)
    maps = rng.normal(size=enc.layout.shape)
    proj = project(maps, enc.layout, [len(s) for s in sequences])
    return enc, maps, proj


def _render(fig, tmp_path, name, formats=("png",)):
    paths = save_figure(fig, tmp_path / name, formats=formats)
    assert [p.suffix for p in paths] == [f".{f}" for f in formats]
    for path in paths:
        assert path.stat().st_size > 1000
    return paths


def test_sequence_track_dots_the_scores_the_members_do_not_agree_on(hairpins, tmp_path):
    enc, _, _ = hairpins
    sequence, structure = enc.sequences[0], enc.structures[0]
    n = len(sequence)
    mean = np.linspace(-1, 1, n)
    sd = np.full(n, 0.25)  # |mean| < 0.5 is within 2 sd of 0
    fig = plot_sequence_track({"m": mean, "sure": mean}, sequence, structure, sd={"m": sd})
    np.testing.assert_array_equal(fig.uncertain[0], np.abs(mean) < 0.5)
    assert not fig.uncertain[1].any()  # no sd given for this row
    assert len(fig.axes[0].collections[-1].get_offsets()) == int((np.abs(mean) < 0.5).sum())
    assert "2 sd" in fig._suptitle.get_text()
    _render(fig, tmp_path, "track_sd")
    with pytest.raises(ValueError, match="sd has shape"):
        plot_sequence_track({"m": mean}, sequence, structure, sd={"m": sd[:-1]})


@pytest.mark.parametrize("k", range(len(_CASES)))
def test_sequence_track_has_a_cell_per_nucleotide_and_backend(hairpins, tmp_path, k):
    enc, _, proj = hairpins
    sequence, structure = enc.sequences[k], enc.structures[k]
    scores = {
        "gradient": proj.scores[k],
        "twice": 2 * proj.scores[k],
        "flat": np.ones(len(sequence)),
    }
    fig = plot_sequence_track(scores, sequence, structure, record_id=enc.ids[k], probability=0.7)
    ax = fig.axes[0]
    cells = ax.images[0].get_array()
    assert cells.shape == (3, len(sequence))
    # Normalised rows: the same scores twice as large look the same; NaN stays masked.
    np.testing.assert_allclose(cells[0].filled(np.nan), cells[1].filled(np.nan))
    assert (np.ma.getmaskarray(cells[0]) == np.isnan(proj.scores[k])).all()
    letters = "".join(t.get_text() for t in ax.texts if t.get_text() in "ACGU")
    assert letters == sequence
    assert enc.ids[k] in fig._suptitle.get_text() and "0.700" in fig._suptitle.get_text()
    _render(fig, tmp_path, f"track{k}")


def test_cut_off_nucleotides_are_grey_not_white(hairpins):
    enc, _, proj = hairpins
    k = list(_CASES).index("long250")
    missing = int(enc.n_off_canvas[k])
    assert missing > 0 and np.isnan(proj.scores[k]).sum() == missing
    fig = plot_sequence_track({"m": proj.scores[k]}, enc.sequences[k], enc.structures[k])
    image = fig.axes[0].images[0]
    rgba = image.to_rgba(image.get_array())
    grey = matplotlib.colors.to_rgba(NO_SCORE)
    np.testing.assert_allclose(rgba[0, 0], grey)
    assert f"{missing} nt with no pixel" in fig._suptitle.get_text()


@pytest.mark.parametrize("k", range(len(_CASES)))
def test_structure_has_a_circle_per_nucleotide(hairpins, tmp_path, k):
    enc, _, proj = hairpins
    sequence, structure = enc.sequences[k], enc.structures[k]
    fig = plot_structure(sequence, structure, proj.scores[k], record_id=enc.ids[k], method="m")
    (circles,) = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
    assert len(circles.get_paths()) == len(sequence)
    values = circles.get_array()
    assert (np.ma.getmaskarray(values) == np.isnan(proj.scores[k])).all()
    # Symmetric colour range around 0.
    low, high = circles.get_clim()
    assert low == -high and high > 0
    _render(fig, tmp_path, f"structure{k}", formats=("png", "svg"))


@pytest.mark.parametrize("layout", ["naview", "simple"])
def test_structure_layouts(layout):
    fig = plot_structure("GGGAAACCC", "(((...)))", np.arange(9.0) - 4, layout=layout)
    (circles,) = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
    assert len(circles.get_paths()) == 9
    with pytest.raises(ValueError, match="layout must be"):
        plot_structure("GGGAAACCC", "(((...)))", np.zeros(9), layout="circle")


def test_structure_refuses_unbalanced_brackets_before_viennarna():
    with pytest.raises(ValueError, match=r"'\(' at position 1 is never closed"):
        plot_structure("GGGAAACCC", "((((..)))", np.zeros(9))


@pytest.mark.parametrize("k", range(len(_CASES)))
def test_hairpin_and_backends_render(hairpins, tmp_path, k):
    enc, maps, _ = hairpins
    fig = plot_hairpin(enc.images[k], maps[k], record_id=enc.ids[k], probability=0.25, method="x")
    assert [ax.images[0].get_array().shape[:2] for ax in fig.axes[:3]] == [(25, 100)] * 3
    assert fig.axes[1].images[0].get_clim() == (-np.abs(maps[k]).max(), np.abs(maps[k]).max())
    _render(fig, tmp_path, f"hairpin{k}")
    fig = plot_backends(enc.images[k], {"a": maps[k], "b": -maps[k], "c": 0 * maps[k]})
    assert sum(1 for ax in fig.axes if ax.images) == 4  # the image and three maps
    _render(fig, tmp_path, f"backends{k}")


def test_average_maps_share_one_colour_range(hairpins, tmp_path):
    enc, maps, _ = hairpins
    groups = {"TP": [True, True, False], "TN": [False, False, True], "none": [False] * 3}
    fig = plot_average_maps(maps, groups, images=enc.images, method="m")
    shown = [ax.images[0] for ax in fig.axes if ax.images and ax.images[0].get_array().ndim == 2]
    assert len(shown) == 2
    np.testing.assert_allclose(shown[0].get_array(), maps[:2].mean(axis=0))
    assert shown[0].get_clim() == shown[1].get_clim()
    _render(fig, tmp_path, "average")
    with pytest.raises(ValueError, match="group 'x'"):
        plot_average_maps(maps, {"x": [True]})


def test_region_bars(tmp_path):
    rng = np.random.default_rng(0)
    values = {
        "gradient": {"TP": rng.random((5, 5)), "TN": rng.random((7, 5))},
        "shap": {"TP": rng.random((5, 5))},
    }
    fig = plot_region_bars(values, REGIONS, heading="regions")
    assert len(fig.axes[0].patches) == 10 and len(fig.axes[1].patches) == 5
    heights = [p.get_height() for p in fig.axes[0].patches[:5]]
    np.testing.assert_allclose(heights, values["gradient"]["TP"].mean(axis=0))
    _render(fig, tmp_path, "bars")


def test_title_and_bad_input():
    assert title("x", 0.5, "m") == "x  \u00b7  m  \u00b7  P(pre-miRNA) = 0.500"
    assert title("x", float("nan")) == "x"
    with pytest.raises(ValueError, match="shape"):
        plot_sequence_track({"m": np.zeros(3)}, "GGGAAACCC", "(((...)))")
    with pytest.raises(ValueError, match=r"\(25, 100\)"):
        plot_hairpin(np.zeros((25, 100, 3), np.uint8), np.zeros((25, 99)))
