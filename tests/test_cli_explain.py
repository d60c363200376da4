"""`mirnamap explain`: pictures and a TSV per record, failures with reasons, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from mirnamap.cli import main
from mirnamap.export import read_tsv

_GOOD = {
    "let7": "GGGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCC",
    "hp/2": "CCUUGGAGUAAAGUAGCAGCACAUAAUGGUUUGUGGAUUUUGAAAAGGUGCAGGCCAUAUUGUGCUGCCUCAAAAAUACAAGG",
}
# Folds to no structure at all: no hairpin loop, so no image.
_BAD = {"flat": "AAAAAAAAAAAAAAAAAAAAAAAA"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    from mirnamap.model import build_model, save_model

    path = tmp_path_factory.mktemp("model") / "random.keras"
    save_model(build_model(seed=0), path)
    return path


@pytest.fixture(scope="module")
def fasta(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "in.fa"
    records = {**_GOOD, **_BAD}
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in records.items()))
    return path


@pytest.fixture(scope="module")
def explained(tmp_path_factory, fasta, model_path):
    out = tmp_path_factory.mktemp("out") / "explain"
    code = main(
        [
            "explain",
            str(fasta),
            "--model",
            str(model_path),
            "--method",
            "gradient,grad_cam",
            "--out",
            str(out),
            "--workers",
            "1",
        ]
    )
    return code, out


def test_every_good_record_gets_pictures(explained):
    from PIL import Image

    code, out = explained
    assert code == 0
    for folder in ("let7", "hp_2"):
        names = {p.name for p in (out / folder).iterdir()}
        assert {
            "track.png",
            "hairpin_gradient.png",
            "hairpin_grad_cam.png",
            "structure_gradient.png",
            "structure_grad_cam.png",
            "backends.png",
            "colours.txt",
        } <= names
        with Image.open(out / folder / "track.png") as picture:
            width, height = picture.size
        assert width > 600 and height > 150  # big enough to read
    assert not (out / "flat").exists()


def test_failed_records_are_listed_with_the_reason(explained, capsys):
    _, out = explained
    rows = [line.split("\t") for line in (out / "failed.tsv").read_text().splitlines()]
    assert rows[0] == ["id", "reason"]
    assert [r[0] for r in rows[1:]] == ["flat"]
    assert "hairpin loop" in rows[1][1]


def test_tsv_holds_the_projected_maps(explained, model_path):
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold
    from mirnamap.model import load_model
    from mirnamap.project import project
    from mirnamap.saliency import explain

    _, out = explained
    table = read_tsv(out / "saliency.tsv")
    assert table.ids == tuple(_GOOD)
    assert list(table.scores) == ["gradient", "grad_cam"]
    assert table.sequences == tuple(_GOOD.values())
    enc = encode_folds(fold(list(_GOOD.values()), ids=list(_GOOD), workers=1))
    assert table.structures == enc.structures
    maps = explain(load_model(model_path), enc.images, "gradient", 1)
    proj = project(maps, enc.layout, [len(s) for s in enc.sequences])
    for read, expected in zip(table.scores["gradient"], proj.scores, strict=True):
        np.testing.assert_allclose(read, expected, rtol=1e-5, atol=1e-12)
    summary = (out / "summary.tsv").read_text().splitlines()
    assert summary[0].startswith("id\tlength\tp_pre_mirna")
    assert [line.split("\t")[0] for line in summary[1:]] == list(_GOOD)


def test_encode_archive_and_id_selection(tmp_path, fasta, model_path):
    archive = tmp_path / "images.npz"
    assert main(["encode", str(fasta), "-o", str(archive), "--workers", "1"]) == 0
    out = tmp_path / "out"
    code = main(
        [
            "explain",
            str(archive),
            "--model",
            str(model_path),
            "--method",
            "gradient",
            "--ids",
            "hp/2",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert read_tsv(out / "saliency.tsv").ids == ("hp/2",)
    assert (out / "hp_2" / "structure_gradient.png").is_file()
    assert not (out / "hp_2" / "backends.png").exists()  # one method: no comparison


def test_plain_image_archive_says_sequences_are_needed(tmp_path, model_path, capsys):
    archive = tmp_path / "deepmir.npz"
    np.savez(archive, images=np.zeros((2, 25, 100, 3), np.uint8), labels=np.array([0, 1]))
    code = main(["explain", str(archive), "--model", str(model_path), "--out", str(tmp_path)])
    assert code == 2
    assert "nucleotide maps need the sequences" in capsys.readouterr().err


def test_unknown_method_and_missing_model(tmp_path, fasta, model_path, capsys):
    code = main(
        [
            "explain",
            str(fasta),
            "--model",
            str(model_path),
            "--method",
            "nope",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 2 and "unknown saliency backend" in capsys.readouterr().err
    code = main(
        [
            "explain",
            str(fasta),
            "--model",
            str(tmp_path / "none.keras"),
            "--method",
            "gradient",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
        ]
    )
    assert code == 2 and "none.keras" in capsys.readouterr().err
    code = main(
        [
            "explain",
            str(fasta),
            "--model",
            str(model_path),
            "--ids",
            "zzz",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
        ]
    )
    assert code == 2 and "zzz" in capsys.readouterr().err


def test_no_pictures_writes_only_the_tables(tmp_path, fasta, model_path):
    out = tmp_path / "out"
    code = main(
        [
            "explain",
            str(fasta),
            "--model",
            str(model_path),
            "--method",
            "gradient",
            "--no-pictures",
            "--out",
            str(out),
            "--workers",
            "1",
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["failed.tsv", "saliency.tsv", "summary.tsv"]
    assert read_tsv(out / "saliency.tsv").ids == tuple(_GOOD)


def test_html_report_is_written_beside_the_tsvs(tmp_path, fasta, model_path, capsys):
    report = tmp_path / "report.html"
    args = ["explain", str(fasta), "--model", str(model_path), "--method", "gradient"]
    assert main([*args, "--out", str(tmp_path / "o"), "--no-pictures", "--html", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "report-data" in text and "let7" in text
    assert f"report -> {report}" in capsys.readouterr().out
    (tmp_path / "file").write_text("x")
    bad = ["--out", str(tmp_path / "p"), "--html", str(tmp_path / "file" / "r.html")]
    assert main([*args, *bad]) == 2
    assert not (tmp_path / "p").exists()  # refused before the work
