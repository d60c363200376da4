"""The sequence and dot-bracket rules: what passes, what is refused and how it is named."""

from __future__ import annotations

import re
import string
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirnamap.structure import (
    StructureError,
    as_string_list,
    check_record,
    check_structure,
    normalise_sequence,
    pair_table,
)


@st.composite
def balanced(draw, max_size: int = 120) -> str:
    """A random balanced dot-bracket: random symbols with the unmatched brackets dropped."""
    chars = draw(st.lists(st.sampled_from("(.)"), max_size=max_size))
    out: list[str] = []
    stack: list[int] = []
    for c in chars:
        if c == ")":
            if not stack:
                continue
            stack.pop()
        elif c == "(":
            stack.append(len(out))
        out.append(c)
    for i in reversed(stack):  # '(' never closed; removing them keeps the rest balanced
        del out[i]
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(balanced())
def test_balanced_structures_pass_and_pair_table_is_an_involution(structure):
    assert check_structure(structure) == structure
    partner = pair_table(structure)
    assert partner.shape == (len(structure),) and partner.dtype == np.int64
    paired = np.flatnonzero(partner >= 0)
    np.testing.assert_array_equal(partner[partner[paired]], paired)
    assert set(np.flatnonzero(partner < 0).tolist()) == {
        i for i, c in enumerate(structure) if c == "."
    }
    for i in paired.tolist():
        j = int(partner[i])
        assert structure[min(i, j)] == "(" and structure[max(i, j)] == ")"
        inside = partner[min(i, j) + 1 : max(i, j)]  # nested: no pair crosses (i, j)
        assert np.all((inside == -1) | ((inside > min(i, j)) & (inside < max(i, j))))


@settings(max_examples=200, deadline=None)
@given(balanced().filter(lambda s: "(" in s), st.data())
def test_deleting_one_bracket_is_refused_naming_the_unmatched_one(structure, data):
    brackets = [i for i, c in enumerate(structure) if c in "()"]
    cut = data.draw(st.sampled_from(brackets))
    broken = structure[:cut] + structure[cut + 1 :]
    with pytest.raises(StructureError) as caught:
        check_structure(broken)
    found = re.search(
        r"'([()])' at position (\d+) (is never closed|closes nothing)", str(caught.value)
    )
    assert found, str(caught.value)
    symbol, position = found.group(1), int(found.group(2))
    # Deleting a '(' leaves a ')' that closes nothing, and the other way round.
    assert symbol == (")" if structure[cut] == "(" else "(")
    assert broken[position - 1] == symbol
    with pytest.raises(StructureError, match="position"):
        check_record("A" * len(broken), broken)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="ACGUTacgut", max_size=30),
    st.sampled_from(sorted(set(string.ascii_letters + string.digits + "-*.") - set("ACGUTacgut"))),
    st.text(alphabet="ACGUTacgutN", max_size=30),
)
def test_a_letter_other_than_acgut_is_refused_naming_it(before, bad, after):
    sequence = before + bad + after
    message = f"invalid character {bad.upper()!r} at position {len(before) + 1}"
    with pytest.raises(StructureError, match=re.escape(message)):
        normalise_sequence(sequence)
    with pytest.raises(StructureError, match=re.escape(message)):
        check_record(sequence, "." * len(sequence))


@settings(max_examples=100, deadline=None)
@given(balanced().filter(bool), st.data())
def test_valid_records_come_back_normalised(structure, data):
    sequence = data.draw(
        st.text(alphabet="ACGUTacgut", min_size=len(structure), max_size=len(structure))
    )
    assert check_record(f" {sequence}\n", structure + " ") == (
        sequence.upper().replace("T", "U"),
        structure,
    )


@pytest.mark.parametrize(
    ("sequence", "structure", "message"),
    [
        ("", "", "empty sequence"),
        ("   ", "", "empty sequence"),
        ("GGGAAACCC", "(((...))", "'(' at position 1 is never closed"),
        ("GGGAAACCC", "((...)))", "')' at position 8 closes nothing"),
        ("GGGAAACCC", "((...))", "sequence has 9 nt but structure has 7 characters"),
        ("GGGAAACCC", "[[[...]]]", "invalid structure character '[' at position 1"),
        ("GGGANACCC", "(((...)))", "invalid character 'N' at position 5"),
        (b"GGG", "(.)", "must be str, got bytes"),
        ("GGG", None, "must be str, got str and NoneType"),
    ],
)
def test_check_record_names_what_is_wrong(sequence, structure, message):
    with pytest.raises(StructureError, match=re.escape(message)):
        check_record(sequence, structure)


def test_structure_error_is_a_value_error():
    assert issubclass(StructureError, ValueError)
    with pytest.raises(ValueError):
        pair_table("(")


def test_as_string_list_refuses_a_single_str():
    assert as_string_list(iter(["a", "b"])) == ["a", "b"]
    with pytest.raises(TypeError, match="ids must be an iterable of str"):
        as_string_list("abc", "ids")
    with pytest.raises(TypeError, match="single bytes"):
        as_string_list(b"abc")


def test_structure_is_the_first_stage():
    """It imports no other mirnamap module, so every stage can import it."""
    code = (
        "import sys, mirnamap.structure; "
        "print(sorted(m for m in sys.modules if m.startswith('mirnamap.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in (
        "['mirnamap.structure']",
        "['mirnamap._typing', 'mirnamap.structure']",
    )
