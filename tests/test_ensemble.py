"""Ensembles: averaging, spread, calibration, members, files and their errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("keras")

from mirnamap.ensemble import (
    Ensemble,
    combine_logits,
    fit_temperature,
    load_ensemble,
    resolve_ensemble,
    save_ensemble,
    softmax,
)
from mirnamap.model import build_model, predict_proba, save_model

IMAGES = np.random.default_rng(0).integers(0, 256, (6, 25, 100, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def members():
    return [build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in range(3)]


def test_identical_members_equal_one_member_with_zero_spread(members):
    one = Ensemble([members[0]]).predict(IMAGES)
    three = Ensemble([members[0]] * 3, names=["a", "b", "c"]).predict(IMAGES)
    np.testing.assert_allclose(three.probability, one.probability, rtol=1e-6)
    np.testing.assert_array_equal(three.sd, np.zeros(len(IMAGES)))
    # An ensemble of one gives its member's own probabilities, bit for bit.
    np.testing.assert_array_equal(one.probability, predict_proba(members[0], IMAGES))


def test_the_mean_is_over_logits_and_the_spread_over_member_probabilities(members):
    ensemble = Ensemble(members)
    z = ensemble.member_logits(IMAGES)
    assert z.shape == (3, len(IMAGES), 2)
    prediction = ensemble.predict(IMAGES)
    np.testing.assert_allclose(prediction.probability, softmax(z.mean(axis=0))[:, 1], rtol=1e-6)
    members_p = np.stack([predict_proba(m, IMAGES) for m in members])
    np.testing.assert_allclose(prediction.members, members_p, atol=1e-6)
    np.testing.assert_allclose(prediction.sd, members_p.std(axis=0), atol=1e-6)
    assert (prediction.sd > 0).all()


def test_combine_logits_checks_its_shape():
    assert combine_logits(np.ones((2, 3, 2))).shape == (3, 2)
    with pytest.raises(ValueError, match=r"\(K, N, C\)"):
        combine_logits(np.ones((3, 2)))


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_a_known_temperature_is_recovered(true_t):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (40000, 2))
    labels = (rng.random(40000) < softmax(logits, true_t)[:, 1]).astype(int)
    assert fit_temperature(logits, labels) == pytest.approx(true_t, rel=0.05)


def test_temperature_scales_the_calibrated_probability(members):
    prediction = Ensemble(members, temperature=2.0).predict(IMAGES)
    np.testing.assert_allclose(prediction.calibrated, softmax(prediction.logits / 2.0)[:, 1])
    with pytest.raises(ValueError, match="temperature"):
        Ensemble(members, temperature=0.0)


def test_members_can_be_chosen(members):
    ensemble = Ensemble(members, names=["a", "b", "c"])
    assert ensemble.select(["c", 0]).names == ("c", "a")
    assert ensemble.select(["2", "1"]).names == ("c", "b")  # digits: indices (--members)
    np.testing.assert_allclose(
        ensemble.select([1]).predict(IMAGES).probability,
        predict_proba(members[1], IMAGES),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="no member 'z'"):
        ensemble.select(["z"])
    with pytest.raises(ValueError, match="out of range"):
        ensemble.select([3])
    with pytest.raises(ValueError, match="distinct"):
        ensemble.select([0, 0])


def test_save_and_load_give_the_same_predictions(members, tmp_path):
    ensemble = Ensemble(members, temperature=1.7, card={"what": "test"})
    path = save_ensemble(ensemble, tmp_path / "e.zip")
    loaded = load_ensemble(path)
    assert loaded.names == ensemble.names and loaded.temperature == 1.7
    assert loaded.card == {"what": "test"}
    np.testing.assert_allclose(
        loaded.predict(IMAGES).calibrated, ensemble.predict(IMAGES).calibrated
    )
    assert len(resolve_ensemble(path, members=[0, 2])) == 2


def test_the_same_seed_gives_the_same_ensemble_prediction():
    def make():
        return Ensemble([build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in (3, 4)])

    np.testing.assert_array_equal(
        make().predict(IMAGES).probability, make().predict(IMAGES).probability
    )


def test_bad_ensemble_files_are_clear_errors(members, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such ensemble file"):
        load_ensemble(tmp_path / "none.zip")
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip archive"):
        load_ensemble(tmp_path / "text.zip")
    with zipfile.ZipFile(tmp_path / "nojson.zip", "w") as archive:
        archive.writestr("x.txt", "x")
    with pytest.raises(ValueError, match=r"no ensemble\.json"):
        load_ensemble(tmp_path / "nojson.zip")
    meta = {"format": "mirnamap-ensemble", "version": 1, "members": ["m0.keras", "m1.keras"]}
    save_model(members[0], tmp_path / "m0.keras")
    with zipfile.ZipFile(tmp_path / "missing.zip", "w") as archive:
        archive.writestr("ensemble.json", json.dumps(meta))
        archive.write(tmp_path / "m0.keras", "m0.keras")
    with pytest.raises(ValueError, match=r"member file 'm1\.keras' is missing"):
        load_ensemble(tmp_path / "missing.zip")
    with zipfile.ZipFile(tmp_path / "broken.zip", "w") as archive:
        archive.writestr("ensemble.json", json.dumps(meta))
        archive.write(tmp_path / "m0.keras", "m0.keras")
        archive.writestr("m1.keras", "garbage")
    with pytest.raises(ValueError, match=r"member 'm1\.keras'"):
        load_ensemble(tmp_path / "broken.zip")
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])


@pytest.mark.parametrize(("true_t", "true_b"), [(1.0, -1.5), (2.0, 0.7)])
def test_a_known_temperature_and_bias_are_recovered(true_t, true_b):
    from mirnamap.ensemble import calibrate, fit_calibration

    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, (40000, 2))
    labels = (rng.random(40000) < calibrate(logits, true_t, true_b)).astype(int)
    t, b = fit_calibration(logits, labels)
    assert t == pytest.approx(true_t, rel=0.05) and b == pytest.approx(true_b, abs=0.05)


def test_the_bias_is_saved_and_used(members, tmp_path):
    from mirnamap.ensemble import calibrate

    ensemble = Ensemble(members, temperature=1.3, bias=-0.8)
    prediction = ensemble.predict(IMAGES)
    np.testing.assert_allclose(prediction.calibrated, calibrate(prediction.logits, 1.3, -0.8))
    loaded = load_ensemble(save_ensemble(ensemble, tmp_path / "b.zip"))
    assert (loaded.temperature, loaded.bias) == (1.3, -0.8)
    assert ensemble.select([0]).bias == -0.8


def test_the_threshold_is_stored_kept_by_select_and_read_as_0_5_from_older_files(members, tmp_path):
    from mirnamap.ensemble import read_ensemble_file

    ensemble = Ensemble(members, threshold=0.83, names=["a", "b", "c"])
    assert ensemble.select(["b"]).threshold == 0.83
    assert ensemble.with_members(members[::-1]).threshold == 0.83
    path = save_ensemble(ensemble, tmp_path / "t.zip", files={"manifest.tsv": "id\nx\n"})
    assert load_ensemble(path).threshold == 0.83
    assert resolve_ensemble(path).threshold == 0.83
    assert read_ensemble_file(path, "manifest.tsv") == b"id\nx\n"
    with pytest.raises(KeyError, match=r"no file 'none\.tsv'"):
        read_ensemble_file(path, "none.tsv")
    # A file written before thresholds were stored: 0.5.
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("ensemble.json"))
        keras_files = {n: archive.read(n) for n in meta["members"]}
    del meta["threshold"]
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        archive.writestr("ensemble.json", json.dumps(meta))
        for name, data in keras_files.items():
            archive.writestr(name, data)
    assert load_ensemble(tmp_path / "old.zip").threshold == 0.5
    assert Ensemble(members).threshold == 0.5


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "0.5", True])
def test_a_bad_threshold_is_refused(members, threshold):
    with pytest.raises(ValueError, match="threshold must be a probability"):
        Ensemble(members, threshold=threshold)


def test_the_unsure_cut_is_stored_kept_and_absent_from_older_files(members, tmp_path):
    ensemble = Ensemble(members, flag_sd=0.07, names=["a", "b", "c"])
    assert ensemble.select(["a", "c"]).flag_sd == 0.07
    assert ensemble.with_members(members[::-1]).flag_sd == 0.07
    path = save_ensemble(ensemble, tmp_path / "f.zip")
    assert load_ensemble(path).flag_sd == 0.07
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("ensemble.json"))
        keras_files = {n: archive.read(n) for n in meta["members"]}
    del meta["flag_sd"]  # a file written before the flag: nothing is flagged
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        archive.writestr("ensemble.json", json.dumps(meta))
        for name, data in keras_files.items():
            archive.writestr(name, data)
    assert load_ensemble(tmp_path / "old.zip").flag_sd is None
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="flag_sd must be"):
            Ensemble(members, flag_sd=bad)


def test_the_bundled_ensemble_holds_its_operating_point_and_unsure_cut():
    from mirnamap.ensemble import load_default_ensemble

    ensemble = load_default_ensemble()
    card = ensemble.card
    # Issue 24: trained by the public command, the threshold for 0.95 specificity on the
    # calibration share's negatives and the spread cut chosen there, both in the file.
    assert card["trained_by"] == "mirnamap.members.train_ensemble" and len(ensemble) == 5
    assert card["threshold"]["rule"] == "specificity:0.95"
    assert ensemble.threshold == card["threshold"]["value"]
    assert 0.0 < ensemble.threshold < 1.0
    assert ensemble.flag_sd is not None and ensemble.flag_sd == card["flag"]["sd"]
    flag = card["flag"]
    assert 0 < flag["errors_caught"] <= flag["errors"] and flag["right_flagged"] < flag["right"]
    calibration = card["figures"]["ensemble_calibration_share"]
    assert calibration["specificity"] >= 0.95


def test_saving_is_atomic_and_extra_files_may_not_shadow_members(members, tmp_path):
    path = save_ensemble(Ensemble(members), tmp_path / "e.zip")
    before = path.read_bytes()
    with pytest.raises(ValueError, match=r"may not be named ensemble\.json"):
        save_ensemble(Ensemble(members), path, files={"ensemble.json": "{}"})
    # A write that fails half-way leaves the old file as it was, and no temporary file.
    with pytest.raises(TypeError):
        save_ensemble(Ensemble(members), path, files={"x.txt": object()})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.zip"]
    with pytest.raises(ValueError, match="need 3 members"):
        Ensemble(members).with_members(members[:1])
