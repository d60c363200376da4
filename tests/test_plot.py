"""Plots render with Agg for odd hairpins and show one cell per nucleotide."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PatchCollection

from mirnamap.encode import COLORS, encode
from mirnamap.plot import (
    CIRCLE_RADIUS,
    NO_SCORE,
    UNSTABLE_NOTE,
    plot_average_maps,
    plot_backends,
    plot_hairpin,
    plot_region_bars,
    plot_sequence_track,
    plot_structure,
    save_figure,
    shorten,
    structure_coordinates,
    title,
    unstable,
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


def test_sequence_track_dots_the_readings_the_members_do_not_agree_on(hairpins, tmp_path):
    enc, _, _ = hairpins
    sequence, structure = enc.sequences[0], enc.structures[0]
    n = len(sequence)
    mean = np.linspace(-1, 1, n)
    mean[3] = np.nan  # no pixel: never marked
    agreement = np.tile([1.0, 0.8, 0.6, 0.4, 1.0], n)[:n]  # the share giving the mean's sign
    shares = {"m": agreement, "split": np.full(n, np.nan)}
    fig = plot_sequence_track(
        {"m": mean, "sure": mean, "split": mean}, sequence, structure, agreement=shares
    )
    expected = (agreement < 1) & ~np.isnan(mean)
    np.testing.assert_array_equal(fig.uncertain[0], expected)
    assert not fig.uncertain[1:].any()  # no agreement for "sure", all NaN for "split"
    assert len(fig.axes[0].collections[-1].get_offsets()) == int(expected.sum())
    heading = fig._suptitle.get_text()
    assert UNSTABLE_NOTE in heading and f"({int(expected.sum())} of {n - 1} cells)" in heading
    assert "no marks for sure, split" in heading
    _render(fig, tmp_path, "track_agreement")
    with pytest.raises(ValueError, match="agreement has shape"):
        plot_sequence_track({"m": mean}, sequence, structure, agreement={"m": agreement[:-1]})
    assert "dot" not in plot_sequence_track({"m": mean}, sequence, structure)._suptitle.get_text()


def test_the_rule_marks_what_not_every_member_agrees_on():
    np.testing.assert_array_equal(
        unstable([1.0, 1.0 - 1e-12, 0.8, 0.0, np.nan]), [False, False, True, True, False]
    )


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


# --------------------------------------------------- drawings a reader can read (issue 26)

ROOT = Path(__file__).resolve().parent.parent
#: Two of the best-studied pre-miRNAs, beside the demo's inputs.
NAMED = {
    "hsa-let-7a-1": "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUAC"
    "UGUCUUUCCUA",
    "hsa-mir-21": "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA",
}
#: A fold whose circles overlap in both RNApuzzler's and the simple layout (a negative of
#: the human set): the drawing pushes them apart.
TANGLED = (
    "..........((((((........(((((....((.(((((((........))))))).))..))))))))))).((..((....))..))."
)


def _example_folds():
    """The demo's hairpins (``make run``'s FASTA) and ``NAMED``, folded by ViennaRNA."""
    from mirnamap.fold import fold

    lines = (ROOT / "data" / "examples" / "hairpins.fa").read_text().split()
    sequences = {name[1:]: sequence for name, sequence in zip(lines[::2], lines[1::2], strict=True)}
    folds = fold(list((sequences | NAMED).values()), ids=list(sequences | NAMED), workers=1)
    return [f for f in folds if f.ok]  # not the record with bad letters


def _closest_circles(fig) -> tuple[float, float]:
    """The smallest distance between two circle centres of a structure drawing, and
    twice the radius (they overlap where the first is below the second)."""
    (circles,) = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
    paths = circles.get_paths()
    centres = np.array([p.vertices[:-1].mean(axis=0) for p in paths])
    radius = np.ptp(paths[0].vertices[:, 0]) / 2
    apart = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    np.fill_diagonal(apart, np.inf)
    return float(apart.min()), 2 * radius


def _min_distance(xy: np.ndarray) -> float:
    step = np.median(np.linalg.norm(np.diff(xy, axis=0), axis=1))
    apart = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(apart, np.inf)
    return float(apart.min() / step)


def test_no_two_nucleotide_circles_overlap_on_the_example_hairpins():
    folds = _example_folds()
    assert {"hsa-let-7a-1", "hsa-mir-21", "human_pos_9", "human_neg_947"} <= {f.id for f in folds}
    assert len(folds) == 22
    for f in folds:
        scores = np.linspace(-1, 1, len(f.sequence))
        fig = plot_structure(f.sequence, f.structure, scores)
        closest, touching = _closest_circles(fig)
        assert closest >= touching, (f.id, closest, touching)
        # The position numbers sit beside the circles, not on them.
        (circles,) = [c for c in fig.axes[0].collections if isinstance(c, PatchCollection)]
        centres = np.array([p.vertices[:-1].mean(axis=0) for p in circles.get_paths()])
        labels = [x for x in fig.axes[0].texts if x.get_text()[0].isdigit() or "'" in x.get_text()]
        assert len(labels) == len({0, *range(9, len(f.sequence), 10), len(f.sequence) - 1})
        for label in labels:
            clear = np.linalg.norm(centres - np.array(label.get_position()), axis=1).min()
            assert clear >= 0.9 * touching, (f.id, label.get_text(), clear)
    # The test can fail: ViennaRNA's naview layout overlaps let-7a-1's loops (~28-31).
    let7 = next(f for f in folds if f.id == "hsa-let-7a-1")
    naview = plot_structure(let7.sequence, let7.structure, np.zeros(80), layout="naview")
    closest, touching = _closest_circles(naview)
    assert closest < touching


def test_a_fold_every_layout_tangles_is_pushed_apart():
    for layout in ("puzzler", "simple"):
        assert _min_distance(structure_coordinates(TANGLED, layout)) < 2 * CIRCLE_RADIUS
    xy = structure_coordinates(TANGLED)
    assert xy.shape == (len(TANGLED), 2) and np.isfinite(xy).all()
    assert _min_distance(xy) >= 2 * CIRCLE_RADIUS
    closest, touching = _closest_circles(plot_structure("A" * len(TANGLED), TANGLED, np.zeros(92)))
    assert closest >= touching


def test_layouts_that_crash_on_tiny_loops_are_not_used_there():
    # RNApuzzler segfaults on "()" and hangs on 1-nt hairpin loops: "auto" draws them
    # with the simple layout, and asking for RNApuzzler names the problem.
    for structure in ("((.)(.))", "(())", "((.))"):
        xy = structure_coordinates(structure)
        assert xy.shape == (len(structure), 2) and np.isfinite(xy).all()
        with pytest.raises(ValueError, match="hairpin loops of 3 or more"):
            structure_coordinates(structure, "puzzler")
    assert structure_coordinates("").shape == (0, 2)


def _drawn_inside(fig) -> bool:
    """Whether the figure's title lies within the figure once drawn."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    box = fig._suptitle.get_window_extent()
    width = fig.get_figwidth() * fig.dpi
    return box.x0 >= 0 and box.x1 <= width


def test_long_ids_are_shortened_to_fit_the_titles(hairpins):
    enc, maps, proj = hairpins
    k = 2
    long_id = ("hsa-mir-21_" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 6)[:200]
    assert len(long_id) == 200
    sequence, structure, scores = enc.sequences[k], enc.structures[k], proj.scores[k]
    figures = {
        "hairpin": plot_hairpin(enc.images[k], maps[k], record_id=long_id, probability=0.9,
                                method="gradient_x_input (pre-miRNA logit)"),
        "track": plot_sequence_track({"m": scores}, sequence, structure, record_id=long_id,
                                     probability=0.9),
        "structure": plot_structure(sequence, structure, scores, record_id=long_id,
                                    probability=0.9, method="gradient_x_input"),
        "backends": plot_backends(enc.images[k], {"a": maps[k]}, record_id=long_id),
    }  # fmt: skip
    for name, fig in figures.items():
        heading = fig._suptitle.get_text()
        assert "\u2026" in heading and heading.startswith("hsa-mir-21_ABC"), name
        assert _drawn_inside(fig), name
    # The figures would overflow with the whole id: the test can fail.
    wide = plot_hairpin(enc.images[k], maps[k])
    wide.suptitle(long_id, fontsize=10)
    assert not _drawn_inside(wide)
    # A short id is left whole.
    short = plot_hairpin(enc.images[k], maps[k], record_id="hsa-mir-21", probability=0.9)
    assert short._suptitle.get_text().startswith("hsa-mir-21  \u00b7")


def test_shorten():
    assert shorten("abcdefghij", 10) == "abcdefghij"
    assert shorten("abcdefghij", 5) == "ab\u2026ij"
    assert shorten("abcdefghij", 1) == "\u2026"
    with pytest.raises(ValueError):
        shorten("abc", 0)


def test_the_image_pictures_have_a_legend_of_the_base_colours(hairpins):
    enc, maps, _ = hairpins
    for fig in (plot_hairpin(enc.images[0], maps[0]), plot_backends(enc.images[0], {"a": maps[0]})):
        legend = fig.axes[0].get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [*COLORS, "gap"]
        colours = [tuple(p.get_facecolor()[:3]) for p in legend.get_patches()]
        expected = [tuple(np.array(rgb) / 255.0) for rgb in COLORS.values()] + [(0, 0, 0)]
        np.testing.assert_allclose(colours, expected)
