"""`mirnamap predict` and `mirnamap train` end to end on tiny inputs."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("keras")

from mirnamap.cli import main
from mirnamap.encode import encode_folds
from mirnamap.fold import fold
from mirnamap.model import build_model, load_model, predict_proba, save_model

RECORDS = [
    (
        "hsa-let-7a-1",
        "UGGGAUGAGGUAGUAGGUUGUAUAGUUUUAGGGUCACACCCACCACUGGGAGAUAACUAUACAAUCUACUGUCUUUCCUA",
    ),
    ("bad", "ACGUNACGU"),
    ("stemless", "AAAAAAAAAA"),
    ("hsa-mir-21", "UGUCGGGUAGCUUAUCAGACUGAUGUUGACUGUUGAAUCUCAUGGCAACACCAGUCGAUGGGCUGUCUGACA"),
]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    save_model(build_model(filters=(4, 4, 4), dense_units=8, seed=0), path)
    return path


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "in.fa"
    path.write_text("".join(f">{i}\n{s}\n" for i, s in RECORDS))
    return path


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_predict_fasta_every_record_in_order(fasta, tiny_model, tmp_path, capsys):
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(fasta), "--model", str(tiny_model), "-o", str(out)]) == 0
    rows = _read(out)
    assert [r["id"] for r in rows] == [i for i, _ in RECORDS]
    assert list(rows[0]) == ["id", "probability", "predicted", "threshold", "status", "reason"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["bad"]["status"] == "error" and "invalid character 'N'" in by_id["bad"]["reason"]
    assert by_id["stemless"]["status"] == "error" and by_id["stemless"]["probability"] == ""
    assert "2 of 4 records could not be predicted" in capsys.readouterr().err
    # The probabilities are those of the model on the encoder's images.
    good = [RECORDS[0], RECORDS[3]]
    encoding = encode_folds(fold([s for _, s in good], ids=[i for i, _ in good], workers=1))
    expected = predict_proba(load_model(tiny_model), encoding.images)
    got = np.array([float(by_id[i]["probability"]) for i, _ in good])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [by_id[i]["predicted"] for i, _ in good] == [str(int(p >= 0.5)) for p in expected]


def test_predict_labelled_npz_adds_label_column(tiny_model, tmp_path, capsys):
    rng = np.random.default_rng(0)
    archive = tmp_path / "set.npz"
    np.savez(
        archive,
        images=rng.integers(0, 256, (6, 25, 100, 3), dtype=np.uint8),
        labels=np.array([0, 1, 0, 1, 1, 0], dtype=np.int8),
        names=np.array(list("abcdef")),
    )
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(archive), "--model", str(tiny_model), "-o", str(out)]) == 0
    rows = _read(out)
    assert [r["id"] for r in rows] == list("abcdef")
    assert [r["label"] for r in rows] == ["0", "1", "0", "1", "1", "0"]
    assert "auroc" in capsys.readouterr().out


def test_predict_with_bundled_model(fasta, tmp_path):
    out = tmp_path / "pred.tsv"
    assert main(["predict", str(fasta), "-o", str(out)]) == 0
    assert len(_read(out)) == len(RECORDS)


@pytest.mark.parametrize("content", [b"not a model at all", b"PK\x03\x04broken zip"])
def test_predict_bad_model_file_exits_2(fasta, tmp_path, content, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(content)
    assert main(["predict", str(fasta), "--model", str(bad), "-o", str(tmp_path / "p.tsv")]) == 2
    err = capsys.readouterr().err
    assert "bad.keras" in err and "not a" in err
    assert not (tmp_path / "p.tsv").exists()


def test_predict_missing_model_and_input(fasta, tmp_path, capsys):
    assert (
        main(
            [
                "predict",
                str(fasta),
                "--model",
                str(tmp_path / "no.keras"),
                "-o",
                str(tmp_path / "p.tsv"),
            ]
        )
        == 2
    )
    assert "no such model file" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "no.fa"), "-o", str(tmp_path / "p.tsv")]) == 2


def test_train_npz_writes_model_metrics_and_curve(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.array([0, 1] * 10, dtype=np.int8)
    images = np.full((20, 25, 100, 3), 255, dtype=np.uint8)
    images[labels == 1, 10:14, 5:95] = (255, 0, 0)
    images[labels == 0, 10:14, 5:95] = rng.integers(0, 256, 3, dtype=np.uint8)
    archive = tmp_path / "train.npz"
    np.savez(archive, images=images, labels=labels)
    model_path = tmp_path / "out" / "m.keras"
    assert (
        main(
            [
                "train",
                "--images",
                str(archive),
                "-o",
                str(model_path),
                "--epochs",
                "2",
                "--validation-fraction",
                "0.2",
                "--reduce-lr",
                "1",
            ]
        )
        == 0
    )
    assert load_model(model_path).count_params() == build_model().count_params()
    report = json.loads((tmp_path / "out" / "m.metrics.json").read_text())
    assert report["n_train"] == 16 and report["n_validation"] == 4
    assert report["metrics"]["validation"]["n"] == 4 and report["epochs_run"] == 2
    assert len(report["history"]["learning_rate"]) == 2  # the schedule is on and reported
    assert (tmp_path / "out" / "m.learning_curve.png").stat().st_size > 1000


def test_train_needs_both_fasta_files(tmp_path, capsys):
    fa = tmp_path / "p.fa"
    fa.write_text(">a\nGGGGAAACCCC\n")
    assert main(["train", "--positive", str(fa), "-o", str(tmp_path / "m.keras")]) == 2
    assert "--negative" in capsys.readouterr().err
