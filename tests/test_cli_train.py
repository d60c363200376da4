"""The command line on a user's own data set: ``train -o NAME.zip`` (an ensemble, its
operating point, leakage refused), ``evaluate`` of several models side by side, and
``predict`` calling with the stored threshold."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("keras")

from cli_helpers import run, tsv_rows

PAIR = {"A": "U", "U": "A", "G": "C", "C": "G"}


def _hairpin(rng) -> str:
    arm = "".join(rng.choice(list("ACGU"), int(rng.integers(20, 28))))
    return arm + "".join(rng.choice(list("ACGU"), 8)) + "".join(PAIR[c] for c in reversed(arm))


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """Hairpins against random sequences: a training pair of FASTA files and a test pair."""
    folder = tmp_path_factory.mktemp("own")
    rng = np.random.default_rng(0)
    files = {}
    for name, n in (("pos", 50), ("neg", 50), ("test_pos", 12), ("test_neg", 12)):
        make = _hairpin if "pos" in name else (lambda r: "".join(r.choice(list("ACGU"), 60)))
        files[name] = folder / f"{name}.fa"
        files[name].write_text("".join(f">{name}{k}\n{make(rng)}\n" for k in range(n)))
    return files


@pytest.fixture(scope="module")
def ensemble(own_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble") / "mine.zip"
    code = _train(own_data, out, "--threshold", "0.4")
    assert code == 0
    return out


def _train(files, out, *extra, capsys=None):
    from mirnamap.cli import main

    argv = ["train", "--positive", str(files["pos"]), "--negative", str(files["neg"]),
            "-o", str(out), "--members", "2", "--epochs", "1", "--workers", "1",
            *extra]  # fmt: skip
    return main(argv) if capsys is None else run(argv, capsys)


def test_train_writes_an_ensemble_with_its_card_and_operating_point(ensemble):
    with zipfile.ZipFile(ensemble) as archive:
        names = archive.namelist()
        card = json.loads(archive.read("ensemble.json"))
    assert "manifest.tsv" in names and sum(n.endswith(".keras") for n in names) == 2
    assert ensemble.with_suffix(".md").is_file()
    from mirnamap.ensemble import load_ensemble

    loaded = load_ensemble(ensemble)
    assert len(loaded) == 2 and loaded.threshold == pytest.approx(0.4)
    assert card  # the card travels inside the file


def test_predict_calls_with_the_stored_threshold(ensemble, own_data, tmp_path, capsys):
    out = tmp_path / "p.tsv"
    argv = ["predict", str(own_data["test_pos"]), "--model", str(ensemble), "-o", str(out)]
    code, stdout, _ = run([*argv, "--workers", "1"], capsys)
    assert code == 0 and "the model's operating point" in stdout
    rows = tsv_rows(out)
    assert {r["threshold"] for r in rows} == {"0.400000"}
    assert all(r["predicted"] == str(int(float(r["probability"]) >= 0.4)) for r in rows)
    code, stdout, _ = run([*argv, "--workers", "1", "--threshold", "0.9", "-o", str(out)], capsys)
    assert {r["threshold"] for r in tsv_rows(out)} == {"0.900000"}


def test_evaluate_two_models_side_by_side(ensemble, own_data, tmp_path, capsys):
    out = tmp_path / "ev"
    argv = ["evaluate", str(ensemble), "bundled", "--positive", str(own_data["test_pos"]),
            "--negative", str(own_data["test_neg"]), "--out", str(out),
            "--workers", "1"]  # fmt: skip
    code, stdout, _ = run(argv, capsys)
    assert code == 0
    table = tsv_rows(out / "metrics.tsv")
    assert [r["model"] for r in table] == ["mine", "bundled"]
    assert all(0.0 <= float(r["auroc"]) <= 1.0 for r in table)
    for picture in ("roc.png", "pr.png", "reliability.png"):
        assert (out / picture).stat().st_size > 1000
    assert "mine" in stdout and "bundled" in stdout


def test_a_test_set_found_in_the_training_data_is_refused(own_data, tmp_path, capsys):
    out = tmp_path / "leaky.zip"
    leak = ["--test-positive", str(own_data["pos"]), "--test-negative", str(own_data["test_neg"])]
    code, _, err = _train(own_data, out, *leak, capsys=capsys)
    assert code == 2 and "overlap" in err.lower() and not out.exists()


def test_a_keras_output_with_members_trains_one_network_and_other_suffixes_are_refused(
    own_data, tmp_path, capsys
):
    code, _, err = _train(own_data, tmp_path / "m.h5", capsys=capsys)
    assert code == 2 and "NAME.keras" in err and "NAME.zip" in err
