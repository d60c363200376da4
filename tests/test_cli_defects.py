"""Regression tests of the command line's promise, one group per reported defect.

The promise: every record comes out with a result or a named reason; unusable input exits
with status 2 and a message naming the file and what is wrong; never a traceback.
(``fold("GGGAAACCC")`` refusing a bare string, ``predict_proba`` refusing NaN images and
``encode(..., strict=True)`` refusing unbalanced brackets are tested in test_fold.py,
test_model.py and test_encode.py.)
"""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("keras")

from mirnamap.cli import main
from mirnamap.encode import load_encoding
from mirnamap.fold import fold

REPO = Path(__file__).resolve().parent.parent

LET7 = "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA"
MIR21 = "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA"
GOOD = (LET7, MIR21)

# TensorFlow's C++ start-up lines that must not reach the terminal.
TF_NOISE = (
    "oneDNN",
    "cpu_feature_guard",
    "All log messages before absl::InitializeLog",
    "This TensorFlow binary is optimized",
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    from mirnamap.model import build_model, save_model

    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_model(filters=(4, 4, 4), dense_units=8, seed=0), path)
    return path


@pytest.fixture(scope="module")
def structures() -> dict[str, str]:
    """The MFE structure of each good hairpin."""
    return {f.sequence: f.structure for f in fold(list(GOOD), workers=1)}


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fasta") / "good.fa"
    path.write_text(f">let7\n{LET7}\n>mir21\n{MIR21}\n")
    return path


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, fasta) -> Path:
    """An archive written by ``mirnamap encode``."""
    path = tmp_path_factory.mktemp("npz") / "good.npz"
    assert main(["encode", str(fasta), "-o", str(path), "--workers", "1"]) == 0
    return path


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line in-process: (exit status, stdout, stderr)."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _write_fasta(path: Path, records: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{i}\n{s}\n" for i, s in records), encoding="utf-8")
    return path


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def _folds_table(path: Path, rows: list[tuple[str, ...]]) -> Path:
    lines = ["id\tsequence\tstructure\tmfe\tstatus\treason"]
    lines += ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------- 1, 2: bad rows of a folds table


@pytest.fixture
def bad_folds(tmp_path, structures) -> Path:
    """A folds table: two good rows, one with unbalanced brackets, one with an ``N``."""
    let7 = structures[LET7]
    unbalanced = let7[: let7.rindex(")")] + "." + let7[let7.rindex(")") + 1 :]
    with_n = "N" + MIR21[1:]
    return _folds_table(
        tmp_path / "folds.tsv",
        [
            ("let7", LET7, let7, "-30.00", "ok", ""),
            ("unbalanced", LET7, unbalanced, "-30.00", "ok", ""),
            ("with_n", with_n, structures[MIR21], "-30.00", "ok", ""),
            ("mir21", MIR21, structures[MIR21], "-30.00", "ok", ""),
        ],
    )


def test_explain_folds_table_with_unbalanced_row_explains_the_others(
    bad_folds, tiny_model, tmp_path, capsys
):
    out = tmp_path / "explain"
    argv = ["explain", str(bad_folds), "--model", str(tiny_model), "--method", "gradient"]
    code, stdout, err = _run([*argv, "--out", str(out)], capsys)
    assert code == 0
    failed = {r["id"]: r["reason"] for r in _rows(out / "failed.tsv")}
    assert set(failed) == {"unbalanced", "with_n"}
    assert "never closed" in failed["unbalanced"] and "line 3" in failed["unbalanced"]
    assert [r["id"] for r in _rows(out / "summary.tsv")] == ["let7", "mir21"]
    pictures = {r["id"]: r["folder"] for r in _rows(out / "pictures.tsv")}
    assert set(pictures) == {"let7", "mir21"}
    for folder in pictures.values():
        assert (out / folder / "track.png").is_file()
    assert "unbalanced" in err and "explained 2 of 4 records" in stdout


@pytest.mark.parametrize("command", ["predict", "encode"])
def test_bad_rows_of_a_folds_table_fail_at_the_first_stage(
    command, bad_folds, tiny_model, tmp_path, capsys
):
    if command == "predict":
        out = tmp_path / "p.tsv"
        code, _, _ = _run(
            ["predict", str(bad_folds), "--model", str(tiny_model), "-o", str(out)], capsys
        )
        rows = _rows(out)
        assert [r["id"] for r in rows] == ["let7", "unbalanced", "with_n", "mir21"]
        reasons = {r["id"]: r["reason"] for r in rows if r["status"] == "error"}
    else:
        out = tmp_path / "e.npz"
        code, _, _ = _run(["encode", str(bad_folds), "-o", str(out)], capsys)
        encoding = load_encoding(out)
        assert encoding.ids == ("let7", "mir21")
        reasons = {f.id: f.reason for f in encoding.failures}
    assert code == 0
    assert set(reasons) == {"unbalanced", "with_n"}
    assert "never closed" in reasons["unbalanced"]
    assert "'N'" in reasons["with_n"]


def test_an_n_is_refused_alike_in_fasta_and_in_a_folds_table(
    bad_folds, tiny_model, tmp_path, capsys
):
    """One validator: the reason for the TSV row holds the reason given for the FASTA."""
    fa = _write_fasta(tmp_path / "n.fa", [("with_n", "N" + MIR21[1:])])
    for source, out in ((fa, "fa.tsv"), (bad_folds, "tsv.tsv")):
        _run(
            ["predict", str(source), "--model", str(tiny_model), "-o", str(tmp_path / out)], capsys
        )
    from_fasta = {r["id"]: r for r in _rows(tmp_path / "fa.tsv")}["with_n"]
    from_table = {r["id"]: r for r in _rows(tmp_path / "tsv.tsv")}["with_n"]
    assert from_fasta["status"] == from_table["status"] == "error"
    rule = "invalid character 'N' at position 1 (only A, C, G, U or T allowed)"
    assert rule in from_fasta["reason"] and rule in from_table["reason"]
    assert "line 4" in from_table["reason"]


def test_a_bad_mfe_fails_only_its_row(tmp_path, tiny_model, structures, capsys):
    table = _folds_table(
        tmp_path / "folds.tsv",
        [
            ("let7", LET7, structures[LET7], "-30.00", "ok", ""),
            ("bad_mfe", MIR21, structures[MIR21], "abc", "ok", ""),
        ],
    )
    out = tmp_path / "p.tsv"
    code, _, _ = _run(["predict", str(table), "--model", str(tiny_model), "-o", str(out)], capsys)
    assert code == 0
    rows = {r["id"]: r for r in _rows(out)}
    assert rows["let7"]["status"] == "ok"
    assert rows["bad_mfe"]["status"] == "error" and "mfe" in rows["bad_mfe"]["reason"]


# ---------------------------------------------------------- 3: output paths


def _bad_path(tmp_path: Path, case: str, suffix: str) -> Path:
    """An output path that cannot be used: one under a file, or, for a file output
    (``suffix`` given), an existing folder, and for a folder output an existing file."""
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    if case == "under a file":
        return a_file / "x" / f"out{suffix}"
    if not suffix:
        return a_file
    taken = tmp_path / f"taken{suffix}"
    taken.mkdir()
    return taken


def _train_npz(path: Path) -> Path:
    labels = np.array([0, 1] * 5, dtype=np.int8)
    images = np.random.default_rng(0).integers(0, 256, (10, 25, 100, 3), dtype=np.uint8)
    np.savez(path, images=images, labels=labels)
    return path


# option -> (argv from the bad path and the helper paths, suffix of a file output or ""
# for a folder output)
_OUTPUTS = {
    "fold -o": (lambda p, h: ["fold", str(h["fa"]), "-o", str(p)], ".tsv"),
    "encode -o": (lambda p, h: ["encode", str(h["fa"]), "-o", str(p)], ".npz"),
    "encode --png": (
        lambda p, h: ["encode", str(h["fa"]), "-o", str(h["ok"] / "e.npz"), "--png", str(p)],
        "",
    ),
    "predict -o": (
        lambda p, h: ["predict", str(h["fa"]), "--model", str(h["model"]), "-o", str(p)],
        ".tsv",
    ),
    "explain --out": (
        lambda p, h: ["explain", str(h["fa"]), "--model", str(h["model"]), "--out", str(p)],
        "",
    ),
    "train -o": (
        lambda p, h: ["train", "--images", str(h["npz"]), "--epochs", "1", "-o", str(p)],
        ".keras",
    ),
    "train --metrics": (
        lambda p, h: [
            "train",
            "--images",
            str(h["npz"]),
            "--epochs",
            "1",
            "-o",
            str(h["ok"] / "m.keras"),
            "--metrics",
            str(p),
        ],
        ".json",
    ),
    "train --curve": (
        lambda p, h: [
            "train",
            "--images",
            str(h["npz"]),
            "--epochs",
            "1",
            "-o",
            str(h["ok"] / "m.keras"),
            "--curve",
            str(p),
        ],
        ".png",
    ),
    "benchmark -o": (
        lambda p, h: [
            "benchmark",
            "-o",
            str(p),
            "--pairs",
            "4",
            "--epochs",
            "1",
            "--filters",
            "4,4,4",
            "--dense-units",
            "8",
            "--explain",
            "1",
            "--sanity",
            "0",
            "--faithfulness",
            "0",
            "--backends",
            "gradient",
            "--workers",
            "1",
        ],
        "",
    ),
}


@pytest.fixture
def helpers(tmp_path, fasta, tiny_model) -> dict[str, Path]:
    ok = tmp_path / "ok"
    return {"fa": fasta, "model": tiny_model, "npz": _train_npz(tmp_path / "t.npz"), "ok": ok}


def _assert_refused(argv: list[str], bad: Path, tmp_path: Path, capsys) -> None:
    before = _files(tmp_path)
    code, _, err = _run(argv, capsys)
    assert code == 2
    assert str(bad) in err and "error:" in err
    assert _files(tmp_path) == before  # nothing written, not even the other outputs


@pytest.mark.parametrize("case", ["under a file", "exists"])
@pytest.mark.parametrize("option", list(_OUTPUTS))
def test_unusable_output_path_is_refused_before_the_work(option, case, helpers, tmp_path, capsys):
    build, suffix = _OUTPUTS[option]
    bad = _bad_path(tmp_path, case, suffix)
    _assert_refused(build(bad, helpers), bad, tmp_path, capsys)


@pytest.mark.parametrize("suffix", [".metrics.json", ".learning_curve.png"])
def test_train_checks_its_default_report_paths_before_training(suffix, helpers, tmp_path, capsys):
    """``-o m.keras`` writes m.metrics.json and m.learning_curve.png: checked up front too."""
    (tmp_path / "ok").mkdir()
    blocked = tmp_path / "ok" / f"m{suffix}"
    blocked.mkdir()
    argv = ["train", "--images", str(helpers["npz"]), "--epochs", "1"]
    _assert_refused([*argv, "-o", str(tmp_path / "ok" / "m.keras")], blocked, tmp_path, capsys)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
@pytest.mark.parametrize("option", ["fold -o", "encode --png", "predict -o", "explain --out"])
def test_unwritable_folder_is_refused_before_the_work(option, helpers, tmp_path, capsys):
    build, _ = _OUTPUTS[option]
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        bad = locked / "out"
        _assert_refused(build(bad, helpers), bad, tmp_path, capsys)
    finally:
        locked.chmod(0o700)


def test_encode_writes_the_file_it_names(fasta, tmp_path, capsys):
    """numpy adds ``.npz`` to a name without it; the file written is the one given."""
    out = tmp_path / "images.data"
    code, stdout, _ = _run(["encode", str(fasta), "-o", str(out)], capsys)
    assert code == 0 and out.is_file() and str(out) in stdout
    assert load_encoding(out).ids == ("let7", "mir21")


# ------------------------------------------------------------- 4: picture names


COLLIDING_IDS = ["a", "a", "mir-α", "mir-β", "A", "x" * 300, "α" * 200]


def test_explain_pictures_one_folder_per_record_even_for_colliding_ids(
    tmp_path, tiny_model, capsys
):
    records = [(i, GOOD[k % 2]) for k, i in enumerate(COLLIDING_IDS)]
    fa = _write_fasta(tmp_path / "ids.fa", records)
    out = tmp_path / "explain"
    argv = ["explain", str(fa), "--model", str(tiny_model), "--method", "gradient"]
    code, _, err = _run([*argv, "--out", str(out)], capsys)
    assert code == 0
    assert "warning:" in err and "duplicate record ids" in err and "'a'" in err
    rows = _rows(out / "pictures.tsv")
    assert [r["id"] for r in rows] == COLLIDING_IDS
    folders = [r["folder"] for r in rows]
    assert len({f.casefold() for f in folders}) == len(records)
    for folder in folders:
        assert len(folder.encode()) <= 255 and (out / folder / "track.png").is_file()
    assert len([p for p in out.iterdir() if p.is_dir()]) == len(records)
    assert _rows(out / "failed.tsv") == []


def test_encode_png_one_file_per_record_even_for_colliding_ids(tmp_path, capsys):
    records = [(i, GOOD[k % 2]) for k, i in enumerate(COLLIDING_IDS)]
    fa = _write_fasta(tmp_path / "ids.fa", records)
    png = tmp_path / "png"
    argv = ["encode", str(fa), "-o", str(tmp_path / "e.npz"), "--png", str(png)]
    code, _, err = _run(argv, capsys)
    assert code == 0 and "duplicate record ids" in err
    rows = _rows(png / "index.tsv")
    assert [r["id"] for r in rows] == COLLIDING_IDS
    files = [r["file"] for r in rows]
    assert len({f.casefold() for f in files}) == len(records)
    assert all(len(f.encode()) <= 255 and (png / f).is_file() for f in files)
    assert len(list(png.glob("*.png"))) == len(records)


def test_explain_ids_named_like_its_tables_do_not_clobber_them(tmp_path, tiny_model, capsys):
    """A record called ``failed.tsv`` must not become a folder where failed.tsv goes."""
    names = ["failed.tsv", "pictures.tsv", "summary.tsv", "SALIENCY.TSV"]
    fa = _write_fasta(tmp_path / "ids.fa", [(n, LET7) for n in names])
    out = tmp_path / "explain"
    argv = ["explain", str(fa), "--model", str(tiny_model), "--method", "gradient"]
    code, _, _ = _run([*argv, "--out", str(out)], capsys)
    assert code == 0
    for table in ("failed.tsv", "pictures.tsv", "summary.tsv", "saliency.tsv"):
        assert (out / table).is_file()
    assert _rows(out / "failed.tsv") == []
    rows = _rows(out / "pictures.tsv")
    assert [r["id"] for r in rows] == names
    assert all((out / r["folder"] / "track.png").is_file() for r in rows)


# ------------------------------------------------------------ 5: damaged .npz


@pytest.mark.parametrize("command", ["predict", "explain", "encode"])
def test_truncated_npz_exits_2_naming_the_file(command, encoded, tiny_model, tmp_path, capsys):
    data = encoded.read_bytes()
    broken = tmp_path / "broken.npz"
    broken.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    argv = {
        "predict": ["predict", str(broken), "--model", str(tiny_model), "-o", str(out)],
        "explain": ["explain", str(broken), "--model", str(tiny_model), "--out", str(out)],
        "encode": ["encode", str(broken), "-o", str(out)],
    }[command]
    code, _, err = _run(argv, capsys)
    assert code == 2 and str(broken) in err and "BadZipFile" not in err
    assert not out.exists()


def test_npz_with_unexpected_arrays_exits_2(tmp_path, tiny_model, capsys):
    archive = tmp_path / "odd.npz"
    np.savez(archive, pictures=np.zeros((2, 25, 100, 3), np.uint8))
    out = tmp_path / "p.tsv"
    code, _, err = _run(
        ["predict", str(archive), "--model", str(tiny_model), "-o", str(out)], capsys
    )
    assert code == 2 and str(archive) in err and "'images'" in err


# --------------------------------------------------------- 6: counts of zero


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("predict", "--batch-size"),
        ("explain", "--batch-size"),
        ("train", "--batch-size"),
        ("fold", "--workers"),
        ("encode", "--workers"),
        ("predict", "--workers"),
        ("explain", "--workers"),
        ("encode", "--png-scale"),
        ("benchmark", "--workers"),
    ],
)
@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_counts_below_one_are_refused_by_argparse(command, option, value, tmp_path, capsys):
    argv = {
        "fold": ["fold", "x.fa", "-o", "o.tsv"],
        "encode": ["encode", "x.fa", "-o", "o.npz"],
        "predict": ["predict", "x.fa", "-o", "o.tsv"],
        "explain": ["explain", "x.fa", "--out", "o"],
        "train": ["train", "--images", "x.npz", "-o", "m.keras"],
        "benchmark": ["benchmark", "-o", "o"],
    }[command]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and ">= 1" in err and "Traceback" not in err


# ------------------------------------------- 7: encodings, gzip and empty files


@pytest.mark.parametrize(
    ("kind", "command"),
    [("fasta", c) for c in ("fold", "encode", "predict", "explain")]
    + [("folds", c) for c in ("encode", "predict", "explain")],  # fold reads FASTA only
)
def test_undecodable_bytes_name_the_file(kind, command, tmp_path, tiny_model, capsys):
    path = tmp_path / ("latin1.fa" if kind == "fasta" else "latin1.tsv")
    if kind == "fasta":
        path.write_bytes(b">caf\xe9\nGGGGAAACCCC\n")
    else:
        path.write_bytes(b"id\tsequence\tstructure\ncaf\xe9\tGGGGAAACCCC\t((((...))))\n")
    code, _, err = _run(_argv(command, path, tiny_model, tmp_path), capsys)
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
def test_gzip_fasta_is_read(command, tmp_path, tiny_model, capsys):
    path = tmp_path / "in.fa.gz"
    path.write_bytes(gzip.compress(f">let7\n{LET7}\n>flat\n{'A' * 20}\n".encode()))
    code, _, _ = _run(_argv(command, path, tiny_model, tmp_path), capsys)
    assert code == 0
    if command == "fold":
        assert [r["id"] for r in _rows(tmp_path / "o.tsv")] == ["let7", "flat"]
    elif command == "predict":
        assert [r["status"] for r in _rows(tmp_path / "o.tsv")] == ["ok", "error"]
    elif command == "explain":
        assert [r["id"] for r in _rows(tmp_path / "o" / "failed.tsv")] == ["flat"]


def test_gzip_folds_table_is_read(tmp_path, tiny_model, structures, capsys):
    plain = _folds_table(tmp_path / "f.tsv", [("let7", LET7, structures[LET7], "-1", "ok", "")])
    path = tmp_path / "f.tsv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    out = tmp_path / "p.tsv"
    code, _, _ = _run(["predict", str(path), "--model", str(tiny_model), "-o", str(out)], capsys)
    assert code == 0 and [r["status"] for r in _rows(out)] == ["ok"]


@pytest.mark.parametrize("command", ["fold", "encode", "predict", "explain"])
def test_damaged_gzip_is_a_clear_error(command, tmp_path, tiny_model, capsys):
    path = tmp_path / "in.fa.gz"
    data = gzip.compress(f">let7\n{LET7}\n".encode() * 20)
    path.write_bytes(data[: len(data) // 2])
    code, _, err = _run(_argv(command, path, tiny_model, tmp_path), capsys)
    assert code == 2 and str(path) in err and "damaged gzip" in err


@pytest.mark.parametrize("content", [b"", b"\n  \n", gzip.compress(b"")])
@pytest.mark.parametrize("command", ["fold", "encode", "predict", "explain"])
def test_empty_file_is_called_empty(command, content, tmp_path, tiny_model, capsys):
    path = tmp_path / "empty.fa"
    path.write_bytes(content)
    code, _, err = _run(_argv(command, path, tiny_model, tmp_path), capsys)
    assert code == 2 and str(path) in err and "empty" in err


# ------------------------------------------------- 8: image archives without labels


@pytest.mark.parametrize("labelled", [False, True])
def test_predict_image_archive_with_or_without_labels(labelled, tmp_path, tiny_model, capsys):
    arrays = {"images": np.random.default_rng(0).integers(0, 256, (4, 25, 100, 3), np.uint8)}
    if labelled:
        arrays["labels"] = np.array([0, 1, 1, 0], dtype=np.int8)
    archive = tmp_path / "images.npz"
    np.savez(archive, **arrays)
    out = tmp_path / "p.tsv"
    code, stdout, _ = _run(
        ["predict", str(archive), "--model", str(tiny_model), "-o", str(out)], capsys
    )
    assert code == 0
    rows = _rows(out)
    assert [r["id"] for r in rows] == ["0", "1", "2", "3"]
    assert all(r["status"] == "ok" for r in rows)
    assert ("label" in rows[0]) is labelled and ("auroc" in stdout) is labelled
    if labelled:
        assert [r["label"] for r in rows] == ["0", "1", "1", "0"]


def test_predict_encode_archive_keeps_the_failed_records(tmp_path, tiny_model, capsys):
    fa = _write_fasta(tmp_path / "in.fa", [("let7", LET7), ("flat", "A" * 20), ("n", "ACGN")])
    archive = tmp_path / "e.npz"
    _run(["encode", str(fa), "-o", str(archive), "--workers", "1"], capsys)
    out = tmp_path / "p.tsv"
    code, _, _ = _run(["predict", str(archive), "--model", str(tiny_model), "-o", str(out)], capsys)
    rows = _rows(out)
    assert code == 0 and [r["id"] for r in rows] == ["let7", "flat", "n"]
    assert [r["status"] for r in rows] == ["ok", "error", "error"]
    assert all(r["reason"] for r in rows[1:]) and "label" not in rows[0]


# ---------------------------------------------- 10: TensorFlow's start-up lines


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mirnamap.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_predict_keeps_tensorflow_start_up_lines_off_stderr(fasta, tiny_model, tmp_path):
    argv = ["predict", str(fasta), "--model", str(tiny_model), "--workers", "1"]
    quiet = _cli([*argv, "-o", str(tmp_path / "q.tsv")], tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in TF_NOISE if line in quiet.stderr], quiet.stderr
    assert len(_rows(tmp_path / "q.tsv")) == 2
    verbose = _cli([*argv, "-o", str(tmp_path / "v.tsv"), "--verbose"], tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    assert "Traceback" not in verbose.stderr and len(_rows(tmp_path / "v.tsv")) == 2


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
def test_predict_one_row_per_record_in_input_order(kinds, tmp_path, tiny_model, capsys):
    records = [(f"r{k}_{kind}", _MIX[kind]) for k, kind in enumerate(kinds)]
    fa = _write_fasta(tmp_path / "mix.fa", records)
    out = tmp_path / "mix.tsv"
    code, _, err = _run(["predict", str(fa), "--model", str(tiny_model), "-o", str(out)], capsys)
    rows = _rows(out)
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
def test_explain_every_record_explained_or_failed(kinds, tmp_path, tiny_model, capsys):
    records = [(f"r{k}_{kind}", _MIX[kind]) for k, kind in enumerate(kinds)]
    fa = _write_fasta(tmp_path / "mix.fa", records)
    out = tmp_path / "mix"
    argv = ["explain", str(fa), "--model", str(tiny_model), "--method", "gradient"]
    code, _, _ = _run([*argv, "--no-pictures", "--out", str(out)], capsys)
    explained = [r["id"] for r in _rows(out / "summary.tsv")]
    failed = [r["id"] for r in _rows(out / "failed.tsv")]
    ids = [i for i, _ in records]
    assert sorted(explained + failed) == sorted(ids)
    assert explained == [i for i in ids if i in explained]
    assert all(r["reason"] for r in _rows(out / "failed.tsv"))
    assert code == (0 if explained else 1)
