"""The hairpin encoder: bit-exact against the original, fuzzed, and its layout."""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.encode import (
    BACKGROUND,
    COLORS,
    GAP,
    EncodeError,
    encode,
    encode_folds,
    encode_one,
    load_encoding,
    save_encoding,
    save_pngs,
)
from mirnamap.fold import Fold
from mirnamap.structure import StructureError, terminal_loop

# The test vectors write pixels as letters: W white, K black, then the nucleotides.
_PIXEL = {"W": (255, 255, 255), "K": (0, 0, 0), **COLORS}


def _expected_image(row: dict[str, str]) -> np.ndarray:
    pixels = [_PIXEL[c] for c in row["pixels_rowmajor_25x100"]]
    return np.array(pixels, dtype=np.uint8).reshape(25, 100, 3)


def test_every_ok_vector_is_bit_exact(encoder_vectors):
    ok = [r for r in encoder_vectors if r["status"] == "ok"]
    assert len(ok) == 242
    enc = encode(
        [r["sequence"] for r in ok],
        [r["rnafold_2.1.3_mfe_structure"] for r in ok],
        ids=[r["id"] for r in ok],
    )
    assert enc.failures == ()
    assert enc.ids == tuple(r["id"] for r in ok)
    for row, image in zip(ok, enc.images, strict=True):
        np.testing.assert_array_equal(image, _expected_image(row), err_msg=row["id"])
        assert hashlib.sha256(image.tobytes()).hexdigest() == row["sha256_rgb_uint8_HxWx3"]


def test_every_ok_vector_alone_equals_the_batch(encoder_vectors):
    """One record at a time gives the same image as the batch (no cross-talk)."""
    for row in encoder_vectors[:40]:
        if row["status"] != "ok":
            continue
        image, _layout = encode_one(row["sequence"], row["rnafold_2.1.3_mfe_structure"])
        np.testing.assert_array_equal(image, _expected_image(row), err_msg=row["id"])


def test_every_refused_vector_is_an_error(encoder_vectors):
    refused = [r for r in encoder_vectors if r["status"] != "ok"]
    assert len(refused) == 5
    enc = encode(
        [r["sequence"] for r in refused],
        [r["rnafold_2.1.3_mfe_structure"] for r in refused],
        ids=[r["id"] for r in refused],
    )
    assert len(enc) == 0 and enc.images.shape == (0, 25, 100, 3)
    assert [f.id for f in enc.failures] == [r["id"] for r in refused]
    assert all("no hairpin loop" in f.reason for f in enc.failures)
    for row in refused:
        with pytest.raises(EncodeError, match="no hairpin loop"):
            encode_one(row["sequence"], row["rnafold_2.1.3_mfe_structure"])


def test_strict_names_the_record():
    with pytest.raises(EncodeError, match=r"record 'b' \(#1\): .*no hairpin loop"):
        encode(["GGGAAACCC", "GGGCCC"], ["(((...)))", "((()))"], ids=["a", "b"], strict=True)


@pytest.mark.parametrize(
    ("sequence", "structure", "message"),
    [
        ("", "", "empty sequence"),
        ("GGGAAACCC", "((...))", "9 nt but structure has 7"),
        ("GGGAAACCC", "(((...))", "'(' at position 1 is never closed"),
        ("GGGAAACCC", "(((.x.)))", "invalid structure character 'x' at position 5"),
        ("GGG-AACCC", "(((...)))", "invalid character '-' at position 4"),
        ("GGGANACCC", "(((...)))", "invalid character 'N' at position 5"),
        ("GGGAAACCC", "(((...)).", "'(' at position 1 is never closed"),
        ("GGGAAACCC", "((...))))", "')' at position 8 closes nothing"),
        ("GGGGGG", "((()))", "no hairpin loop"),
        ("AAAAAA", "......", "no hairpin loop"),
    ],
)
def test_bad_records_fail_with_their_reason(sequence, structure, message):
    enc = encode(["GGGAAACCC", sequence], ["(((...)))", structure], ids=["good", "bad"])
    assert enc.ids == ("good",)
    assert [(f.index, f.id) for f in enc.failures] == [(1, "bad")]
    assert message in enc.failures[0].reason


def test_lengths_must_match():
    with pytest.raises(ValueError, match="2 sequences but 1 structures"):
        encode(["A", "C"], ["."])
    with pytest.raises(ValueError, match="1 sequences but 2 ids"):
        encode(["A"], ["."], ids=["x", "y"])


def test_dna_and_lower_case_are_read_as_rna():
    a, _ = encode_one("gggtttccc", "(((...)))")
    b, _ = encode_one("GGGUUUCCC", "(((...)))")
    np.testing.assert_array_equal(a, b)


def test_terminal_loop_prefers_the_middle_and_the_left_on_ties():
    # mid = 7: both loops are 2 away (|7 - (4 + 1)| and |7 - 9|); the leftmost wins.
    assert terminal_loop("((..))..((...))") == (1, 4)
    # mid = 8: loop (0, 3) is 5 away, loop (6, 9) is 2 away.
    assert terminal_loop("(..)..(..)......") == (6, 9)
    # Equal distances: the leftmost wins.
    assert terminal_loop("(.)(.)") == (0, 2)


def test_a_simple_hairpin_by_hand():
    """GGGAAACCC / (((...))): 3 G-C pairs then a 3-nt loop arch, drawn by hand."""
    image, layout = encode_one("GGGAAACCC", "(((...)))")
    # Columns x = 0..2 are the loop (A over A) and x = 3..5 the stem, G over C with base
    # length 1: rows 11-12 and 13-14.
    for x in (3, 4, 5):
        assert (image[11:13, x] == COLORS["G"]).all()
        assert (image[13:15, x] == COLORS["C"]).all()
        assert (image[:11, x] == 255).all() and (image[15:, x] == 255).all()
    # Loop: l = -1, r = 3, D = 3, M = 1: extra 2, 4, 2 over base length 4 (A-A), so bars
    # of length 6, 8, 6 cover 7, 9, 7 pixels each side of the midline.
    for x, length in zip((0, 1, 2), (6, 8, 6), strict=True):
        assert (image[12 - length : 13, x] == COLORS["A"]).all()
        assert (image[13 : 14 + length, x] == COLORS["A"]).all()
        assert (image[: 12 - length, x] == 255).all() and (image[14 + length :, x] == 255).all()
    assert (image[:, 6:] == 255).all()
    assert list(layout[12, :6]) == [5, 4, 3, 2, 1, 0]
    assert list(layout[13, :6]) == [3, 4, 5, 6, 7, 8]


# ----------------------------------------------------------------------- fuzzing


@st.composite
def hairpins(draw, min_stem: int = 1, max_len: int = 260):
    """A random sequence with a random valid dot-bracket that has a hairpin loop."""
    parts: list[str] = []
    depth = 0
    n = draw(st.integers(5, max_len))
    structure: list[str] = []
    while len(structure) < n:
        options = ["."]
        if len(structure) < n - depth - 1:
            options.append("(")
        if depth and structure[-1] != "(":
            options.append(")")
        char = draw(st.sampled_from(options))
        depth += {"(": 1, ")": -1}.get(char, 0)
        structure.append(char)
    structure += [")"] * 0
    # Close what is open by turning the last unmatched '(' into '.'.
    stack = []
    for i, c in enumerate(structure):
        if c == "(":
            stack.append(i)
        elif c == ")":
            stack.pop()
    for i in stack:
        structure[i] = "."
    text = "".join(structure)
    if not re.search(r"\(\.+\)", text):
        # Guarantee a hairpin loop somewhere.
        i = draw(st.integers(0, len(text) - 5))
        text = text[:i] + "(...)" + text[i + 5 :]
        text = _rebalance(text)
    parts = draw(st.lists(st.sampled_from("ACGU"), min_size=len(text), max_size=len(text)))
    return "".join(parts), text


def _rebalance(structure: str) -> str:
    """Turn unmatched brackets into dots (keeps every matched pair)."""
    chars = list(structure)
    stack: list[int] = []
    for i, c in enumerate(chars):
        if c == "(":
            stack.append(i)
        elif c == ")":
            if stack:
                stack.pop()
            else:
                chars[i] = "."
    for i in stack:
        chars[i] = "."
    return "".join(chars)


@settings(max_examples=300, deadline=None)
@given(hairpins())
def test_fuzzed_hairpins_keep_the_encoding_invariants(hairpin):
    sequence, structure = hairpin
    if not re.search(r"\(\.+\)", structure):
        with pytest.raises(EncodeError):
            encode_one(sequence, structure)
        return
    enc = encode([sequence], [structure])
    image, layout, columns = enc.images[0], enc.layout[0], enc.columns[0]
    assert image.dtype == np.uint8 and image.shape == (25, 100, 3)
    painted = layout >= 0
    # Every pixel a nucleotide paints has that nucleotide's colour.
    letters = np.array(list(sequence))
    colours = np.array([COLORS[c] for c in letters], dtype=np.uint8)
    np.testing.assert_array_equal(image[painted], colours[layout[painted]])
    # Background is white, gap bars are black, and nothing else exists.
    assert (image[layout == BACKGROUND] == 255).all()
    assert (image[layout == GAP] == 0).all()
    assert set(np.unique(layout)) <= {GAP, BACKGROUND, *range(len(sequence))}
    # Bars touch the midline: every used column paints rows 12 and 13.
    used = int(min(enc.n_columns[0], 100))
    assert (layout[12, :used] != BACKGROUND).all() and (layout[13, :used] != BACKGROUND).all()
    assert (layout[:, used:] == BACKGROUND).all()
    # The layout points inside the sequence, and a column shows one nucleotide per half.
    for x in range(used):
        top = set(layout[:13, x][layout[:13, x] != BACKGROUND].tolist())
        bottom = set(layout[13:, x][layout[13:, x] != BACKGROUND].tolist())
        assert top == {int(columns[x, 0])} and bottom == {int(columns[x, 1])}
    # Loop nucleotides own pixels in both halves (those that reach the canvas).
    s, e = terminal_loop(structure)
    top_positions = set(layout[:13][layout[:13] >= 0].tolist())
    bottom_positions = set(layout[13:][layout[13:] >= 0].tolist())
    both = top_positions & bottom_positions
    assert both <= set(range(s + 1, e))
    assert int(enc.n_cut[0]) == max(0, int(enc.n_columns[0]) - 100)
    assert int(enc.n_off_canvas[0]) == len(sequence) - len(top_positions | bottom_positions)


@settings(max_examples=25, deadline=None)
@given(st.lists(hairpins(max_len=120), min_size=1, max_size=6))
def test_batch_equals_one_by_one(batch):
    batch = [b for b in batch if re.search(r"\(\.+\)", b[1])]
    if not batch:
        return
    enc = encode([s for s, _ in batch], [t for _, t in batch])
    for k, (sequence, structure) in enumerate(batch):
        image, layout = encode_one(sequence, structure)
        np.testing.assert_array_equal(enc.images[k], image)
        np.testing.assert_array_equal(enc.layout[k], layout)


def test_long_hairpins_report_cut_columns():
    stem = 120
    sequence = "G" * stem + "AAAA" + "C" * stem
    structure = "(" * stem + "...." + ")" * stem
    enc = encode([sequence], [structure])
    assert int(enc.n_columns[0]) == stem + 4 and int(enc.n_cut[0]) == stem + 4 - 100
    # The 5' and 3' ends (far from the loop) fall off: 24 nucleotides per arm.
    assert int(enc.n_off_canvas[0]) == 2 * 24
    assert 0 not in enc.layout[0] and len(sequence) - 1 not in enc.layout[0]


def test_encode_folds_keeps_every_record():
    folds = [
        Fold("a", "GGGAAACCC", "(((...)))", -1.0),
        Fold("b", "ACGN", None, float("nan"), "invalid character 'N'"),
        Fold("c", "GGGCCC", "((()))", -1.0),
        Fold("d", "GGGANACCC", "(((...)))", -1.0),
        Fold("e", "GGGAAACCC", "(((...))", -1.0),
    ]
    enc = encode_folds(folds)
    assert enc.ids == ("a",) and list(enc.index) == [0]
    assert [(f.index, f.id) for f in enc.failures] == [(1, "b"), (2, "c"), (3, "d"), (4, "e")]
    assert "not folded: invalid character" in enc.failures[0].reason
    assert "invalid character 'N' at position 5" in enc.failures[2].reason
    assert "'(' at position 1 is never closed" in enc.failures[3].reason


def test_failures_are_returned_not_warned():
    """Failures are in ``Encoding.failures``; encode does not also warn about them."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc = encode(["GGGAAACCC", "GGGCCC", "ACGN"], ["(((...)))", "((()))", "(..)"])
        folded = encode_folds([Fold("x", "GGGCCC", "((()))", -1.0)])
    assert [f.id for f in enc.failures] == ["1", "2"] and len(folded.failures) == 1


@pytest.mark.parametrize(
    ("sequence", "structure", "message"),
    [
        ("GGGAAACCCC", "((((...)))", r"'\(' at position 1 is never closed"),
        ("GGGAAACCC", "((...))))", r"'\)' at position 8 closes nothing"),
        ("GGGANACCC", "(((...)))", "invalid character 'N' at position 5"),
    ],
)
def test_strict_and_encode_one_reject_bad_records(sequence, structure, message):
    with pytest.raises(EncodeError, match=r"record 'x' \(#1\): .*" + message):
        encode(["GGGAAACCC", sequence], ["(((...)))", structure], ids=["ok", "x"], strict=True)
    with pytest.raises(EncodeError, match=message):
        encode_one(sequence, structure)
    # EncodeError stays a ValueError, and is one of the structure rules' errors.
    with pytest.raises(StructureError):
        encode_one(sequence, structure)


@pytest.mark.parametrize("name", ["sequences", "structures", "ids"])
def test_a_single_str_is_refused(name):
    args = {"sequences": ["GGGAAACCC"], "structures": ["(((...)))"], "ids": ["x"]}
    args[name] = args[name][0]
    with pytest.raises(TypeError, match=f"{name} must be an iterable of str"):
        encode(args["sequences"], args["structures"], ids=args["ids"])


def test_save_and_load_round_trip(tmp_path):
    enc = encode(["GGGAAACCC", "GGGCCC"], ["(((...)))", "((()))"], ids=["a", "b"])
    save_encoding(enc, tmp_path / "x.npz")
    back = load_encoding(tmp_path / "x.npz")
    for name in ("images", "layout", "columns", "n_columns", "n_cut", "index"):
        np.testing.assert_array_equal(getattr(back, name), getattr(enc, name))
    assert back.ids == enc.ids and back.failures == enc.failures
    np.savez(tmp_path / "other.npz", images=enc.images)
    with pytest.raises(ValueError, match="not a mirnamap encoding"):
        load_encoding(tmp_path / "other.npz")


def test_pngs_are_the_images_enlarged(tmp_path):
    from PIL import Image

    enc = encode(["GGGAAACCC"], ["(((...)))"], ids=["x/1"])
    (path,) = save_pngs(enc.images, enc.ids, tmp_path, scale=3)
    assert path.name == "x_1.png"
    picture = np.asarray(Image.open(path).convert("RGB"))
    assert picture.shape == (75, 300, 3)
    np.testing.assert_array_equal(picture[::3, ::3], enc.images[0])


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 30),
    st.integers(0, 5),
    st.randoms(use_true_random=False),
)
def test_loop_nucleotides_paint_both_halves_mirrored(stem, loop, tail, rng):
    """On a hairpin whose strands align, each loop nucleotide owns pixels in both halves."""
    sequence = "".join(rng.choice("ACGU") for _ in range(2 * stem + loop + 2 * tail))
    structure = "." * tail + "(" * stem + "." * loop + ")" * stem + "." * tail
    _, layout = encode_one(sequence, structure)
    first = tail + stem  # the first loop nucleotide
    for k in range(loop):
        top_x = np.flatnonzero((layout[:13] == first + k).any(axis=0))
        bottom_x = np.flatnonzero((layout[13:] == first + k).any(axis=0))
        # Top reads the loop 5' -> 3' away from x = 0; the bottom mirrors it.
        assert list(top_x) == [loop - 1 - k] and list(bottom_x) == [k]
