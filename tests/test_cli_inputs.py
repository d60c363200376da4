"""The command line on bad input: every record comes out with a result or a named
reason; unusable input exits with status 2 and a message naming the file and what is
wrong; never a traceback. Grouped by kind of input: folds tables, image archives, text
encodings and compression, mixtures of good and bad records."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("keras")

from cli_helpers import LET7, MIR21, folds_table, run, tsv_rows, write_fasta

from mirnamap.encode import load_encoding

# ------------------------------------------------- 1, 2: bad rows of a folds table


@pytest.fixture
def bad_folds(tmp_path, good_structures) -> Path:
    """A folds table: two good rows, one with unbalanced brackets, one with an ``N``."""
    let7 = good_structures[LET7]
    unbalanced = let7[: let7.rindex(")")] + "." + let7[let7.rindex(")") + 1 :]
    with_n = "N" + MIR21[1:]
    return folds_table(
        tmp_path / "folds.tsv",
        [
            ("let7", LET7, let7, "-30.00", "ok", ""),
            ("unbalanced", LET7, unbalanced, "-30.00", "ok", ""),
            ("with_n", with_n, good_structures[MIR21], "-30.00", "ok", ""),
            ("mir21", MIR21, good_structures[MIR21], "-30.00", "ok", ""),
        ],
    )


def test_explain_folds_table_with_unbalanced_row_explains_the_others(
    bad_folds, tiny_model_path, tmp_path, capsys
):
    out = tmp_path / "explain"
    argv = ["explain", str(bad_folds), "--model", str(tiny_model_path), "--method", "gradient"]
    code, stdout, err = run([*argv, "--out", str(out)], capsys)
    assert code == 0
    failed = {r["id"]: r["reason"] for r in tsv_rows(out / "failed.tsv")}
    assert set(failed) == {"unbalanced", "with_n"}
    assert "never closed" in failed["unbalanced"] and "line 3" in failed["unbalanced"]
    assert [r["id"] for r in tsv_rows(out / "summary.tsv")] == ["let7", "mir21"]
    pictures = {r["id"]: r["folder"] for r in tsv_rows(out / "pictures.tsv")}
    assert set(pictures) == {"let7", "mir21"}
    for folder in pictures.values():
        assert (out / folder / "track.png").is_file()
    assert "unbalanced" in err and "explained 2 of 4 records" in stdout


@pytest.mark.parametrize("command", ["predict", "encode"])
def test_bad_rows_of_a_folds_table_fail_at_the_first_stage(
    command, bad_folds, tiny_model_path, tmp_path, capsys
):
    if command == "predict":
        out = tmp_path / "p.tsv"
        code, _, _ = run(
            ["predict", str(bad_folds), "--model", str(tiny_model_path), "-o", str(out)], capsys
        )
        rows = tsv_rows(out)
        assert [r["id"] for r in rows] == ["let7", "unbalanced", "with_n", "mir21"]
        reasons = {r["id"]: r["reason"] for r in rows if r["status"] == "error"}
    else:
        out = tmp_path / "e.npz"
        code, _, _ = run(["encode", str(bad_folds), "-o", str(out)], capsys)
        encoding = load_encoding(out)
        assert encoding.ids == ("let7", "mir21")
        reasons = {f.id: f.reason for f in encoding.failures}
    assert code == 0
    assert set(reasons) == {"unbalanced", "with_n"}
    assert "never closed" in reasons["unbalanced"]
    assert "'N'" in reasons["with_n"]


def test_an_n_is_refused_alike_in_fasta_and_in_afolds_table(
    bad_folds, tiny_model_path, tmp_path, capsys
):
    """One validator: the reason for the TSV row holds the reason given for the FASTA."""
    fa = write_fasta(tmp_path / "n.fa", [("with_n", "N" + MIR21[1:])])
    for source, out in ((fa, "fa.tsv"), (bad_folds, "tsv.tsv")):
        run(
            ["predict", str(source), "--model", str(tiny_model_path), "-o", str(tmp_path / out)],
            capsys,
        )
    from_fasta = {r["id"]: r for r in tsv_rows(tmp_path / "fa.tsv")}["with_n"]
    from_table = {r["id"]: r for r in tsv_rows(tmp_path / "tsv.tsv")}["with_n"]
    assert from_fasta["status"] == from_table["status"] == "error"
    rule = "invalid character 'N' at position 1 (only A, C, G, U or T allowed)"
    assert rule in from_fasta["reason"] and rule in from_table["reason"]
    assert "line 4" in from_table["reason"]


def test_a_bad_mfe_fails_only_its_row(tmp_path, tiny_model_path, good_structures, capsys):
    table = folds_table(
        tmp_path / "folds.tsv",
        [
            ("let7", LET7, good_structures[LET7], "-30.00", "ok", ""),
            ("bad_mfe", MIR21, good_structures[MIR21], "abc", "ok", ""),
        ],
    )
    out = tmp_path / "p.tsv"
    code, _, _ = run(
        ["predict", str(table), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    assert code == 0
    rows = {r["id"]: r for r in tsv_rows(out)}
    assert rows["let7"]["status"] == "ok"
    assert rows["bad_mfe"]["status"] == "error" and "mfe" in rows["bad_mfe"]["reason"]


# ------------------------------------------------------------ 5: damaged .npz


@pytest.mark.parametrize("command", ["predict", "explain", "encode"])
def test_truncated_npz_exits_2_naming_the_file(
    command, good_encoded, tiny_model_path, tmp_path, capsys
):
    data = good_encoded.read_bytes()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    argv = {
        "predict": ["predict", str(broken), "--model", str(tiny_model_path), "-o", str(out)],
        "explain": ["explain", str(broken), "--model", str(tiny_model_path), "--out", str(out)],
        "encode": ["encode", str(broken), "-o", str(out)],
    }[command]
    code, _, err = run(argv, capsys)
    assert code == 2 and str(broken) in err and "BadZipFile" not in err
    assert not out.exists()


def test_npz_with_unexpected_arrays_exits_2(tmp_path, tiny_model_path, capsys):
    archive = tmp_path / "odd.npz"
    np.savez(archive, pictures=np.zeros((2, 25, 100, 3), np.uint8))
    out = tmp_path / "p.tsv"
    code, _, err = run(
        ["predict", str(archive), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    assert code == 2 and str(archive) in err and "'images'" in err


# ------------------------------------------- 7: encodings, gzip and empty files


@pytest.mark.parametrize(
    ("kind", "command"),
    [("fasta", c) for c in ("fold", "encode", "predict", "explain")]
    + [("folds", c) for c in ("encode", "predict", "explain")],  # fold reads FASTA only
)
def test_undecodable_bytes_name_the_file(kind, command, tmp_path, tiny_model_path, capsys):
    path = tmp_path / ("latin1.fa" if kind == "fasta" else "latin1.tsv")
    if kind == "fasta":
        path.write_bytes(b">caf\xe9\nGGGGAAACCCC\n")
    else:
        path.write_bytes(b"id\tsequence\tstructure\ncaf\xe9\tGGGGAAACCCC\t((((...))))\n")
    code, _, err = run(_argv(command, path, tiny_model_path, tmp_path), capsys)
    assert code == 2 and str(path) in err and "UTF-8" in err and "codec" not in err


def _argv(command: str, source: Path, model: Path, tmp_path: Path) -> list[str]:
    model_args = ["--model", str(model)]
    return {
        "fold": ["fold", str(source), "-o", str(tmp_path / "o.tsv")],
        "encode": ["encode", str(source), "-o", str(tmp_path / "o.npz")],
        "predict": ["predict", str(source), *model_args, "-o", str(tmp_path / "o.tsv")],
        "explain": [
            "explain",
            str(source),
            *model_args,
            "--method",
            "gradient",
            "--no-pictures",
            "--out",
            str(tmp_path / "o"),
        ],
    }[command] + ["--workers", "1"]


@pytest.mark.parametrize("command", ["fold", "encode", "predict", "explain"])
def test_gzip_fasta_is_read(command, tmp_path, tiny_model_path, capsys):
    path = tmp_path / "in.fa.gz"
    path.write_bytes(gzip.compress(f">let7\n{LET7}\n>flat\n{'A' * 20}\n".encode()))
    code, _, _ = run(_argv(command, path, tiny_model_path, tmp_path), capsys)
    assert code == 0
    if command == "fold":
        assert [r["id"] for r in tsv_rows(tmp_path / "o.tsv")] == ["let7", "flat"]
    elif command == "predict":
        assert [r["status"] for r in tsv_rows(tmp_path / "o.tsv")] == ["ok", "error"]
    elif command == "explain":
        assert [r["id"] for r in tsv_rows(tmp_path / "o" / "failed.tsv")] == ["flat"]


def test_gzip_folds_table_is_read(tmp_path, tiny_model_path, good_structures, capsys):
    plain = folds_table(tmp_path / "f.tsv", [("let7", LET7, good_structures[LET7], "-1", "ok", "")])
    path = tmp_path / "f.tsv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / "p.tsv"
    code, _, _ = run(
        ["predict", str(path), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    assert code == 0 and [r["status"] for r in tsv_rows(out)] == ["ok"]


@pytest.mark.parametrize("command", ["fold", "encode", "predict", "explain"])
def test_damaged_gzip_is_a_clear_error(command, tmp_path, tiny_model_path, capsys):
    path = tmp_path / "in.fa.gz"
    data = gzip.compress(f">let7\n{LET7}\n".encode() * 20)
    path.write_bytes(data[: len(data) // 2])
    code, _, err = run(_argv(command, path, tiny_model_path, tmp_path), capsys)
    assert code == 2 and str(path) in err and "damaged gzip" in err


@pytest.mark.parametrize("content", [b"", b"\n  \n", gzip.compress(b"")])
@pytest.mark.parametrize("command", ["fold", "encode", "predict", "explain"])
def test_empty_file_is_called_empty(command, content, tmp_path, tiny_model_path, capsys):
    path = tmp_path / "empty.fa"
    path.write_bytes(content)
    code, _, err = run(_argv(command, path, tiny_model_path, tmp_path), capsys)
    assert code == 2 and str(path) in err and "empty" in err


# ------------------------------------------------- 8: image archives without labels


@pytest.mark.parametrize("labelled", [False, True])
def test_predict_image_archive_with_or_without_labels(labelled, tmp_path, tiny_model_path, capsys):
    arrays = {"images": np.random.default_rng(0).integers(0, 256, (4, 25, 100, 3), np.uint8)}
    if labelled:
        arrays["labels"] = np.array([0, 1, 1, 0], dtype=np.int8)
    archive = tmp_path / "images.npz"
    np.savez(archive, **arrays)
    out = tmp_path / "p.tsv"
    code, stdout, _ = run(
        ["predict", str(archive), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    assert code == 0
    rows = tsv_rows(out)
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]
    assert all(r["status"] == "ok" for r in rows)
    assert ("label" in rows[0]) is labelled and ("auroc" in stdout) is labelled
    if labelled:
        assert [r["label"] for r in rows] == ["0", "1", "1", "0"]


def test_predict_encode_archive_keeps_the_failed_records(tmp_path, tiny_model_path, capsys):
    fa = write_fasta(tmp_path / "in.fa", [("let7", LET7), ("flat", "A" * 20), ("n", "ACGN")])
    archive = tmp_path / "e.npz"
    run(["encode", str(fa), "-o", str(archive), "--workers", "1"], capsys)
    out = tmp_path / "p.tsv"
    code, _, _ = run(
        ["predict", str(archive), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    rows = tsv_rows(out)
    assert code == 0 and [r["id"] for r in rows] == ["let7", "flat", "n"]
    assert [r["status"] for r in rows] == ["ok", "error", "error"]
    assert all(r["reason"] for r in rows[1:]) and "label" not in rows[0]


# -------------------------------------------- every record: a result or a reason


_MIX = {
    "let7": LET7,
    "mir21": MIR21,
    "lower_dna": MIR21.lower().replace("u", "t"),
    "empty": "",
    "stemless": "A" * 20,
    "letters": "ACGUXYZACGU",
    "n": "GGGGNAAACCCC",
    "tiny": "G",
}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kinds=st.lists(st.sampled_from(sorted(_MIX)), min_size=1, max_size=6))
def test_predict_one_row_per_record_in_input_order(kinds, tmp_path, tiny_model_path, capsys):
    records = [(f"r{k}_{kind}", _MIX[kind]) for k, kind in enumerate(kinds)]
    fa = write_fasta(tmp_path / "mix.fa", records)
    out = tmp_path / "mix.tsv"
    code, _, err = run(
        ["predict", str(fa), "--model", str(tiny_model_path), "-o", str(out)], capsys
    )
    rows = tsv_rows(out)
    assert [r["id"] for r in rows] == [i for i, _ in records]
    good = {"let7", "mir21", "lower_dna"}
    for row, kind in zip(rows, kinds, strict=True):
        if kind in good:
            assert row["status"] == "ok" and 0.0 <= float(row["probability"]) <= 1.0
        else:
            assert row["status"] == "error" and row["reason"] and row["probability"] == ""
            assert row["id"] in err
    assert code == (0 if good & set(kinds) else 1)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(kinds=st.lists(st.sampled_from(sorted(_MIX)), min_size=1, max_size=4))
def test_explain_every_record_explained_or_failed(kinds, tmp_path, tiny_model_path, capsys):
    records = [(f"r{k}_{kind}", _MIX[kind]) for k, kind in enumerate(kinds)]
    fa = write_fasta(tmp_path / "mix.fa", records)
    out = tmp_path / "mix"
    argv = ["explain", str(fa), "--model", str(tiny_model_path), "--method", "gradient"]
    code, _, _ = run([*argv, "--no-pictures", "--out", str(out)], capsys)
    explained = [r["id"] for r in tsv_rows(out / "summary.tsv")]
    failed = [r["id"] for r in tsv_rows(out / "failed.tsv")]
    ids = [i for i, _ in records]
    assert sorted(explained + failed) == sorted(ids)
    assert explained == [i for i in ids if i in explained]
    assert all(r["reason"] for r in tsv_rows(out / "failed.tsv"))
    assert code == (0 if explained else 1)
