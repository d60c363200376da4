"""The command line's outputs: a path that cannot be written is refused before the work
(naming it, writing nothing), and every record's pictures get a folder of their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras")

from cli_helpers import GOOD, LET7, files, read_only_folder, run, tsv_rows, write_fasta

from mirnamap.encode import load_encoding

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
    "benchmark --out": (
        lambda p, h: [
            "benchmark",
            "--out",
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
def helpers(tmp_path, good_fasta, tiny_model_path) -> dict[str, Path]:
    ok = tmp_path / "ok"
    npz = _train_npz(tmp_path / "t.npz")
    return {"fa": good_fasta, "model": tiny_model_path, "npz": npz, "ok": ok}


def _assert_refused(argv: list[str], bad: Path, tmp_path: Path, capsys) -> None:
    before = files(tmp_path)
    code, _, err = run(argv, capsys)
    assert code == 2
    assert str(bad) in err and "error:" in err
    assert files(tmp_path) == before  # nothing written, not even the other outputs


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


@pytest.mark.parametrize("option", ["fold -o", "encode --png", "predict -o", "explain --out"])
def test_unwritable_folder_is_refused_before_the_work(option, helpers, tmp_path, capsys):
    build, _ = _OUTPUTS[option]
    with read_only_folder(tmp_path / "locked") as locked:
        bad = locked / "out"
        _assert_refused(build(bad, helpers), bad, tmp_path, capsys)


def test_encode_writes_the_file_it_names(good_fasta, tmp_path, capsys):
    """numpy adds ``.npz`` to a name without it; the file written is the one given."""
    out = tmp_path / "images.data"
    code, stdout, _ = run(["encode", str(good_fasta), "-o", str(out)], capsys)
    assert code == 0 and out.is_file() and str(out) in stdout
    assert load_encoding(out).ids == ("let7", "mir21")


# ------------------------------------------------------------- 4: picture names


COLLIDING_IDS = ["a", "a", "mir-α", "mir-β", "A", "x" * 300, "α" * 200]


def test_explain_pictures_one_folder_per_record_even_for_colliding_ids(
    tmp_path, tiny_model_path, capsys
):
    records = [(i, GOOD[k % 2]) for k, i in enumerate(COLLIDING_IDS)]
    fa = write_fasta(tmp_path / "ids.fa", records)
    out = tmp_path / "explain"
    argv = ["explain", str(fa), "--model", str(tiny_model_path), "--method", "gradient"]
    code, _, err = run([*argv, "--out", str(out)], capsys)
    assert code == 0
    assert "warning:" in err and "duplicate record ids" in err and "'a'" in err
    rows = tsv_rows(out / "pictures.tsv")
    assert [r["id"] for r in rows] == COLLIDING_IDS
    folders = [r["folder"] for r in rows]
    assert len({f.casefold() for f in folders}) == len(records)
    for folder in folders:
        assert len(folder.encode()) <= 255 and (out / folder / "track.png").is_file()
    assert len([p for p in out.iterdir() if p.is_dir()]) == len(records)
    assert tsv_rows(out / "failed.tsv") == []


def test_encode_png_one_file_per_record_even_for_colliding_ids(tmp_path, capsys):
    records = [(i, GOOD[k % 2]) for k, i in enumerate(COLLIDING_IDS)]
    fa = write_fasta(tmp_path / "ids.fa", records)
    png = tmp_path / "png"
    argv = ["encode", str(fa), "-o", str(tmp_path / "e.npz"), "--png", str(png)]
    code, _, err = run(argv, capsys)
    assert code == 0 and "duplicate record ids" in err
    rows = tsv_rows(png / "index.tsv")
    assert [r["id"] for r in rows] == COLLIDING_IDS
    files = [r["file"] for r in rows]
    assert len({f.casefold() for f in files}) == len(records)
    assert all(len(f.encode()) <= 255 and (png / f).is_file() for f in files)
    assert len(list(png.glob("*.png"))) == len(records)


def test_explain_ids_named_like_its_tables_do_not_clobber_them(tmp_path, tiny_model_path, capsys):
    """A record called ``failed.tsv`` must not become a folder where failed.tsv goes."""
    names = ["failed.tsv", "pictures.tsv", "summary.tsv", "SALIENCY.TSV"]
    fa = write_fasta(tmp_path / "ids.fa", [(n, LET7) for n in names])
    out = tmp_path / "explain"
    argv = ["explain", str(fa), "--model", str(tiny_model_path), "--method", "gradient"]
    code, _, _ = run([*argv, "--out", str(out)], capsys)
    assert code == 0
    for table in ("failed.tsv", "pictures.tsv", "summary.tsv", "saliency.tsv"):
        assert (out / table).is_file()
    assert tsv_rows(out / "failed.tsv") == []
    rows = tsv_rows(out / "pictures.tsv")
    assert [r["id"] for r in rows] == names
    assert all((out / r["folder"] / "track.png").is_file() for r in rows)
