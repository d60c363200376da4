"""Exports: the TSV parses back, VARNA and forna colour inputs say what the scores say."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.colours import symmetric_limit
from mirnamap.export import (
    forna_colours,
    read_tsv,
    varna_arguments,
    varna_colormap,
    write_summary,
    write_tsv,
)

_SCORE = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e30, max_value=1e30),
    st.just(float("nan")),
)


@st.composite
def records(draw):
    n = draw(st.integers(1, 4))
    ids = draw(
        st.lists(
            st.text("abcXYZ_|.-0123456789 ", min_size=1, max_size=12),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    lengths = draw(st.lists(st.integers(1, 30), min_size=n, max_size=n))
    sequences = [
        "".join(draw(st.lists(st.sampled_from("ACGUN"), min_size=m, max_size=m))) for m in lengths
    ]
    structures = [
        "".join(draw(st.lists(st.sampled_from("()."), min_size=m, max_size=m))) for m in lengths
    ]
    backends = draw(
        st.lists(
            st.sampled_from(["gradient", "grad_cam", "shap", "smoothgrad"]),
            min_size=0,
            max_size=3,
            unique=True,
        )
    )
    scores = {
        b: [np.array(draw(st.lists(_SCORE, min_size=m, max_size=m))) for m in lengths]
        for b in backends
    }
    return ids, sequences, structures, scores


@settings(max_examples=60, deadline=None)
@given(records())
def test_tsv_parses_back(tmp_path_factory, batch):
    ids, sequences, structures, scores = batch
    path = tmp_path_factory.mktemp("tsv") / "scores.tsv"
    write_tsv(path, ids, sequences, structures, scores)
    back = read_tsv(path)
    assert back.ids == tuple(ids)
    assert back.sequences == tuple(sequences) and back.structures == tuple(structures)
    assert list(back.scores) == list(scores)
    for name, arrays in scores.items():
        for written, read in zip(arrays, back.scores[name], strict=True):
            # NaN stays NaN (never 0), numbers survive to 9 significant digits.
            np.testing.assert_array_equal(np.isnan(read), np.isnan(written))
            np.testing.assert_allclose(read, written, rtol=1e-8, atol=0, equal_nan=True)
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + sum(len(s) for s in sequences)
    assert lines[0].split("\t")[:4] == ["id", "position", "nucleotide", "structure"]


def test_tsv_rows_and_missing_values(tmp_path):
    path = tmp_path / "x.tsv"
    write_tsv(path, ["a"], ["GGAAACC"], ["((...))"], {"m": [np.array([1, 2, 3, 4, 5, 6, np.nan])]})
    rows = [line.split("\t") for line in path.read_text().splitlines()]
    assert rows[1] == ["a", "1", "G", "(", "1"]
    assert rows[-1] == ["a", "7", "C", ")", "NA"]


def test_tsv_errors_name_the_record(tmp_path):
    with pytest.raises(ValueError, match=r"record 'b': backend 'm' has shape \(2,\)"):
        write_tsv(
            tmp_path / "x.tsv",
            ["a", "b"],
            ["GAC", "GAC"],
            ["...", "..."],
            {"m": [np.zeros(3), np.zeros(2)]},
        )
    with pytest.raises(ValueError, match="cannot be a TSV column"):
        write_tsv(tmp_path / "x.tsv", ["a"], ["G"], ["."], {"position": [np.zeros(1)]})
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tposition\tnucleotide\tstructure\tm\na\t1\tG\t.\tx\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2: score 'x' is not a number"):
        read_tsv(bad)
    bad.write_text("id\tposition\tnucleotide\tstructure\tm\na\t2\tG\t.\t1\n")
    with pytest.raises(ValueError, match="position 2, expected 1"):
        read_tsv(bad)
    bad.write_text("name\tsequence\n")
    with pytest.raises(ValueError, match="not a mirnamap score table"):
        read_tsv(bad)


@settings(max_examples=50, deadline=None)
@given(st.lists(_SCORE, min_size=1, max_size=40))
def test_varna_colormap_parses_back(values):
    scores = np.array(values)
    text = varna_colormap(scores, missing=-7.0)
    back = np.array([float(v) for v in text.split(";")])
    assert back.shape == scores.shape
    np.testing.assert_allclose(back[~np.isnan(scores)], scores[~np.isnan(scores)], rtol=1e-5)
    assert (back[np.isnan(scores)] == -7.0).all()


def test_varna_arguments_put_missing_below_the_colour_range():
    scores = np.array([0.5, np.nan, -2.0, 1.0])
    args = dict(zip(*[iter(varna_arguments("GAAC", "(..)", scores))] * 2, strict=True))
    assert args["-sequenceDBN"] == "GAAC" and args["-structureDBN"] == "(..)"
    values = [float(v) for v in args["-colorMap"].split(";")]
    assert values[1] == -4.0 == float(args["-colorMapMin"])
    assert float(args["-colorMapMax"]) == 2.0
    stops = [float(part.split(":")[0]) for part in args["-colorMapStyle"].split(";")]
    assert stops == sorted(stops) and stops[-1] == 2.0 and stops[0] == -4.0
    with pytest.raises(ValueError, match="same length"):
        varna_arguments("GAA", "(..)", scores)


@settings(max_examples=50, deadline=None)
@given(st.lists(_SCORE, min_size=1, max_size=40))
def test_forna_colours_list_scored_positions_with_signed_colours(values):
    scores = np.array(values)
    text = forna_colours(scores)
    parts = [p.split(":") for p in text.split()]
    positions = [int(p) for p, _ in parts]
    assert positions == [i + 1 for i in np.flatnonzero(~np.isnan(scores))]
    limit = symmetric_limit(scores)
    for (position, colour), value in zip(parts, scores[~np.isnan(scores)], strict=True):
        assert colour.startswith("#") and len(colour) == 7
        red, blue = int(colour[1:3], 16), int(colour[5:7], 16)
        if value > 0.2 * limit:
            assert red > blue, (position, value, colour)
        elif value < -0.2 * limit:
            assert blue > red, (position, value, colour)


def test_summary_shares_say_where_a_known_map_put_its_saliency(tmp_path):
    import csv

    from mirnamap.encode import encode
    from mirnamap.project import project
    from mirnamap.structure import REGIONS

    # "xx": unpaired 5' tail (2 nt) + stem + loop; "yy": stem and loop only.
    sequences, structures = ["AAGGGAAACCC", "GGGGAAAACCCC"], ["..(((...)))", "((((....))))"]
    enc = encode(sequences, structures, ids=["xx", "yy"])
    lengths = [len(s) for s in sequences]
    maps = np.zeros(enc.layout.shape)
    maps[0][enc.layout[0] == 0] = 3.0  # the first tail nucleotide only
    maps[0][enc.layout[0] == -1] = 1.0  # and the background
    maps[1][enc.layout[1] == 5] = -2.0  # a loop nucleotide (|.| is what counts)
    magnitude = project(np.abs(maps), enc.layout, lengths)
    path = tmp_path / "summary.tsv"
    write_summary(path, ["xx", "yy"], [0.25, 0.75], {"m": magnitude}, structures)
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["id"] for r in rows] == ["xx", "yy"]
    assert [r["length"] for r in rows] == ["11", "12"]
    assert [float(r["p_pre_mirna"]) for r in rows] == [0.25, 0.75]
    total = np.abs(maps[0]).sum()
    tail = 3.0 * (enc.layout[0] == 0).sum() / total
    assert float(rows[0]["m:5' tail"]) == pytest.approx(tail, rel=1e-5)
    assert float(rows[0]["m:background"]) == pytest.approx(1 - tail, rel=1e-5)
    assert rows[1]["m:terminal loop"] == "1" and float(rows[1]["m:background"]) == 0.0
    for row in rows:
        shares = [float(row[f"m:{name}"]) for name in (*REGIONS, "background", "gap")]
        assert sum(shares) == pytest.approx(1.0)
    empty = project(np.zeros(enc.layout.shape), enc.layout, lengths)
    write_summary(path, ["xx", "yy"], [0.25, 0.75], {"m": empty}, structures)
    assert path.read_text().splitlines()[1].split("\t")[4:] == ["NA"] * (len(REGIONS) + 2)
    with pytest.raises(ValueError, match="1 projections for 2 records"):
        write_summary(
            path,
            ["xx", "yy"],
            [0.1, 0.2],
            {"m": project(maps[:1], enc.layout[:1], lengths[:1])},
            structures,
        )
