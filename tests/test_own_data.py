"""A user's own data set: an ensemble trained, fine-tuned, resumed, calibrated, checked.

Tiny networks (4 filters a module, 8 dense units) on 60 synthetic images, two epochs a
member: each training takes seconds on the CPU.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirnamap.ensemble import load_ensemble, resolve_ensemble  # noqa: E402
from mirnamap.errors import InputError, InputWarning  # noqa: E402
from mirnamap.evaluate import threshold_for_specificity  # noqa: E402
from mirnamap.members import CALIBRATION, load_manifest, train_ensemble  # noqa: E402
from mirnamap.model import INPUT_SHAPE, save_model  # noqa: E402

ARCHITECTURE = {"filters": (4, 4, 4), "dense_units": 8}
OPTIONS = dict(
    epochs=2,
    batch_size=16,
    learning_rate=1e-2,
    folds=3,
    calibration_fraction=0.2,
    early_stopping=1,
    reduce_lr=None,
    seed=0,
    verbose=False,
)
#: A hairpin to explain (28 nt, a 12-bp stem).
HAIRPIN = "GGACUGCAUCGAGAAAUCGAUGCAGUCC"


def _separable(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """White images; pre-miRNAs (label 1) carry a red bar, negatives a blue one.

    The bars keep off the two rows next to the midline, from which strands are read back:
    these images match one another by their bytes only (a bar across them would read as
    a run of G or C, the same in many images), and a grey pixel makes each one unique.
    """
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 2).astype(np.int8)
    images = np.full((n, *INPUT_SHAPE), 255, dtype=np.uint8)
    rows = [*range(2, 11), *range(16, 22)]
    for i, label in enumerate(labels):
        row = rng.choice(rows)
        images[i, row - 2 : row + 2, 10:90] = (255, 0, 0) if label else (0, 0, 255)
        images[i, 0, i % 100] = (128, 128, 128 - i // 100)  # no two images alike
    return images, labels


IMAGES, LABELS = _separable(60)
IDS = [f"rec{k}" for k in range(60)]


def _weights(model: keras.Model) -> list[np.ndarray]:
    return model.get_weights()


def _same_members(a, b) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(x, y) for x, y in zip(_weights(m), _weights(n), strict=True))
        for m, n in zip(a, b, strict=True)
    )


def _convolutions(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {
        layer.name: layer.get_weights()
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D)
    }


@pytest.fixture(scope="module")
def trained():
    """Three members from scratch, no checkpoints: the reference of the resume tests."""
    return train_ensemble(
        IMAGES, LABELS, members=3, architecture=ARCHITECTURE, threshold="specificity:0.8",
        record_ids=IDS, sources="synthetic", **OPTIONS,
    )  # fmt: skip


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory):
    return trained.save(tmp_path_factory.mktemp("own") / "mine.zip")


def test_three_members_differ_in_seed_and_fold_and_never_see_the_calibration_share(trained):
    assert [m.name for m in trained.members] == ["member_0", "member_1", "member_2"]
    assert [m.seed for m in trained.members] == [0, 1, 2]
    assert [m.fold for m in trained.members] == [0, 1, 2]
    calibration = trained.split == CALIBRATION
    assert calibration.sum() == 12 and LABELS[calibration].sum() == 6
    for m in trained.members:
        # Each member trains on two folds and validates on the third: the calibration share
        # is in neither.
        assert m.n_train + m.n_validation == (~calibration).sum()
        assert m.n_validation == (trained.split == m.fold).sum()
    weights = [_weights(m)[0] for m in trained.ensemble.members]
    assert not np.array_equal(weights[0], weights[1])
    frame = trained.to_frame()
    assert frame.shape[0] == 3 and {"validation_auroc", "calibration_auroc"} <= set(frame.columns)


def test_the_file_is_what_predict_and_explain_read(trained, saved):
    from mirnamap.pipeline import explain_hairpins, predict_hairpins

    path, card_path = saved
    assert path.suffix == ".zip" and card_path.name == "mine.md"
    loaded = resolve_ensemble(path)
    assert loaded.names == trained.ensemble.names and len(loaded) == 3
    assert (loaded.temperature, loaded.bias, loaded.threshold) == (
        trained.ensemble.temperature,
        trained.ensemble.bias,
        trained.ensemble.threshold,
    )
    np.testing.assert_array_equal(
        loaded.predict(IMAGES).probability, trained.ensemble.predict(IMAGES).probability
    )
    predictions = predict_hairpins(IMAGES[:5], model=path)
    np.testing.assert_allclose(
        predictions.probabilities, trained.ensemble.predict(IMAGES[:5]).probability
    )
    explanation = explain_hairpins({"hp": HAIRPIN}, methods="gradient", model=path, workers=1)
    assert len(explanation) == 1


def test_the_card_and_the_manifest_say_what_the_ensemble_is(trained, saved):
    import mirnamap

    card = load_ensemble(saved[0]).card
    assert card["data"]["sources"] == {"synthetic": {"images": 60, "positives": 30}}
    assert card["data"]["n_calibration"] == 12 and card["members"] == 3
    assert card["options"]["epochs"] == 2 and card["options"]["architecture"] == {
        "filters": [4, 4, 4],
        "dense_units": 8,
    }
    assert card["init"] is None and card["freeze"] is None
    assert [m["name"] for m in card["figures"]["members"]] == ["member_0", "member_1", "member_2"]
    assert "auroc" in card["figures"]["members"][0]["validation"]
    assert "sensitivity_at_specificity_0.95" in card["figures"]["ensemble_calibration_share"]
    assert card["versions"]["mirnamap"] == mirnamap.__version__
    assert card["threshold"]["rule"] == "specificity:0.8"
    manifest = load_manifest(saved[0])
    assert manifest["id"].tolist() == IDS
    assert (manifest["part"] == "calibration").sum() == 12
    assert set(manifest["part"]) == {"calibration", "fold_0", "fold_1", "fold_2"}
    assert manifest["label"].tolist() == LABELS.tolist()
    text = saved[1].read_text()
    assert "# Ensemble card" in text and "| synthetic | 60 | 30 |" in text


def test_the_threshold_for_a_specificity_is_chosen_on_the_calibration_share(trained):
    calibration = trained.split == CALIBRATION
    p = trained.ensemble.predict(IMAGES[calibration]).probability
    y = LABELS[calibration]
    assert trained.ensemble.threshold == threshold_for_specificity(y, p, 0.8)
    assert np.mean(p[y == 0] < trained.ensemble.threshold) >= 0.8


def test_the_unsure_rule_is_chosen_on_the_calibration_share_and_stored(trained, saved):
    from mirnamap.flags import choose_flag_rule

    calibration = trained.split == CALIBRATION
    prediction = trained.ensemble.predict(IMAGES[calibration])
    rule = choose_flag_rule(
        LABELS[calibration], prediction.probability, prediction.sd, trained.ensemble.threshold
    )
    assert trained.ensemble.flag_sd == (None if rule is None else rule.sd)
    card = trained.card["flag"]
    assert card == (None if rule is None else card | rule.as_dict())
    assert load_ensemble(saved[0]).flag_sd == trained.ensemble.flag_sd


def test_predictions_flag_the_calls_whose_spread_reaches_the_stored_cut(trained, tmp_path):
    import pandas as pd

    from mirnamap.ensemble import Ensemble, save_ensemble
    from mirnamap.pipeline import predict_hairpins

    sd = trained.ensemble.predict(IMAGES).sd
    cut = float(np.median(sd))
    path = save_ensemble(Ensemble(trained.ensemble.members, flag_sd=cut), tmp_path / "cut.zip")
    predictions = predict_hairpins(IMAGES, model=path)
    expected = sd >= cut
    assert 0 < expected.sum() < len(expected)
    assert predictions.flagged.tolist() == expected.tolist()
    frame = predictions.to_frame()
    assert list(frame.columns[:6]) == ["id", "probability", "sd", "calibrated", "predicted", "flag"]
    assert (frame["flag"] == "unsure").tolist() == expected.tolist()
    table = pd.read_csv(predictions.save(tmp_path / "p.tsv")[0], sep="\t", keep_default_na=False)
    assert (table["flag"] == "unsure").tolist() == expected.tolist()
    # One model has no spread: no flag column, nothing flagged.
    single = predict_hairpins(IMAGES[:4], model=trained.ensemble.members[0])
    assert "flag" not in single.to_frame() and not single.flagged.any()


def test_fine_tuning_from_the_file_with_frozen_convolutions(saved, tmp_path):
    path = saved[0]
    before = path.read_bytes()
    start = load_ensemble(path)
    tuned = train_ensemble(IMAGES, LABELS, members=3, init=path, freeze="conv", **OPTIONS)
    for k, member in enumerate(tuned.ensemble.members):
        # Member k from member k (the counts match), convolutions bit for bit.
        for name, weights in _convolutions(member).items():
            for now, was in zip(
                weights, start.members[k].get_layer(name).get_weights(), strict=True
            ):
                np.testing.assert_array_equal(now, was)
        assert not np.array_equal(
            member.get_layer("dense").get_weights()[0],
            start.members[k].get_layer("dense").get_weights()[0],
        )
        assert tuned.members[k].init == f"{path}:member_{k}"
    assert path.read_bytes() == before  # the starting file is never changed
    card = tuned.card
    assert card["freeze"] == "conv" and card["init"]["source"] == str(path)
    assert card["init"]["networks"] == ["member_0", "member_1", "member_2"]

    # From one network (a .keras file): every member starts from it (k mod 1), unfrozen.
    single = save_model(start.members[1], tmp_path / "one.keras")
    two = train_ensemble(IMAGES, LABELS, members=2, init=single, **OPTIONS)
    assert [m.init for m in two.members] == [f"{single}:one", f"{single}:one"]
    conv = start.members[1].get_layer("conv1a").get_weights()[0]
    assert not np.array_equal(two.ensemble.members[0].get_layer("conv1a").get_weights()[0], conv)


def test_a_run_of_one_member_resumed_with_three_gives_the_uninterrupted_members(trained, tmp_path):
    options = dict(architecture=ARCHITECTURE, threshold="specificity:0.8", **OPTIONS)
    first = train_ensemble(IMAGES, LABELS, members=1, checkpoint_dir=tmp_path / "run", **options)
    assert _same_members(first.ensemble.members, trained.ensemble.members[:1])
    resumed = train_ensemble(
        IMAGES, LABELS, members=3, checkpoint_dir=tmp_path / "run", resume=True, **options
    )
    # Bit for bit: the same seeds, folds, shuffling orders and starting weights, and
    # checkpointing changes nothing (the reference ran without).
    assert _same_members(resumed.ensemble.members, trained.ensemble.members)
    assert resumed.members[0].resumed_epochs == resumed.members[0].epochs_run
    assert resumed.ensemble.threshold == trained.ensemble.threshold
    assert resumed.ensemble.temperature == trained.ensemble.temperature


def test_a_run_killed_inside_a_member_resumes_from_its_last_epoch(trained, tmp_path, monkeypatch):
    import mirnamap.members as members_module

    made = members_module._bar_callback

    def killing(bar, label):
        callback = made(bar, label)
        if label == "2/3":
            callback.on_epoch_end = _kill  # after the checkpoint of the first epoch
        return callback

    def _kill(epoch, logs=None):
        raise KeyboardInterrupt

    options = dict(architecture=ARCHITECTURE, threshold="specificity:0.8", **OPTIONS)
    monkeypatch.setattr(members_module, "_bar_callback", killing)
    with pytest.raises(KeyboardInterrupt):
        train_ensemble(IMAGES, LABELS, members=3, checkpoint_dir=tmp_path / "run", **options)
    monkeypatch.undo()
    assert (tmp_path / "run" / "member_0.keras").is_file()
    assert (tmp_path / "run" / "member_1.checkpoint.npz").is_file()
    resumed = train_ensemble(
        IMAGES, LABELS, members=3, checkpoint_dir=tmp_path / "run", resume=True, **options
    )
    assert resumed.members[1].resumed_epochs == 1
    assert _same_members(resumed.ensemble.members, trained.ensemble.members)
    # The folder now holds a run: refused without resume, and for other options.
    with pytest.raises(ValueError, match="holds a run already"):
        train_ensemble(IMAGES, LABELS, members=3, checkpoint_dir=tmp_path / "run", **options)
    with pytest.raises(ValueError, match="holds another run"):
        train_ensemble(IMAGES, LABELS, members=3, checkpoint_dir=tmp_path / "run", resume=True,
                       **{**options, "learning_rate": 5e-3})  # fmt: skip


def test_test_records_in_the_training_data_are_refused_or_warned_about(capsys):
    options = dict(architecture=ARCHITECTURE, record_ids=IDS, **OPTIONS)
    with pytest.raises(InputError, match=r"3 of 60 training records are in the test set.*rec7"):
        train_ensemble(IMAGES, LABELS, members=1, test=IMAGES[[7, 8, 9]], **options)
    sequences = [f"ACGU{'A' * k}" for k in range(60)]
    with pytest.raises(InputError, match="allow_overlap"):
        train_ensemble(IMAGES, LABELS, members=1, sequences=sequences,
                       test=["UUUU", sequences[3].replace("U", "T")], **options)  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        allowed = train_ensemble(
            IMAGES, LABELS, members=1, test=IMAGES[[7]], test_labels=LABELS[[7]],
            allow_overlap=True, **{**options, "verbose": True},
        )  # fmt: skip
    assert any(issubclass(w.category, InputWarning) for w in caught)
    assert allowed.card["overlap"] == {
        "checked": True,
        "training_records_in_test": 1,
        "test_records_in_training": 1,
        "allowed": True,
    }
    assert allowed.card["figures"]["test"]["ensemble"]["n"] == 1
    # The progress bar names the member, the epoch and the loss.
    shown = capsys.readouterr().err
    assert "member=1/1" in shown and "loss=" in shown and "epoch" in shown
    clean = train_ensemble(IMAGES[:30], LABELS[:30], members=1, test=IMAGES[30:33],
                           **{**options, "record_ids": IDS[:30]})  # fmt: skip
    assert clean.overlap is not None and len(clean.overlap) == 0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"members": 0}, "members must be an integer >= 1"),
        ({"freeze": "conv"}, "freeze needs init"),
        ({"freeze": "all", "init": "bundled"}, "freeze must be one of"),
        ({"init": "bundled", "architecture": ARCHITECTURE}, "not both"),
        ({"init": "no/such.keras"}, "no such model"),
        ({"threshold": "specificity:1.5"}, "specificity:S"),
        ({"labels": np.zeros(60, np.int8)}, "both present"),
        ({"labels": np.arange(60) % 3}, "0 \\(negative\\) or 1"),
        ({"split": np.full(60, 7)}, "split values must be"),
        ({"resume": True}, "resume needs a checkpoint folder"),
        ({"test_labels": np.zeros(3, int)}, "test_labels need a test set"),
        ({"folds": 1}, "folds must be an integer >= 2"),
        ({"record_ids": ["a"]}, "60 images but 1 record ids"),
    ],
)
def test_bad_arguments_are_named(change, match):
    arguments = {"labels": LABELS, "members": 1, **OPTIONS, **change}
    labels = arguments.pop("labels")
    with pytest.raises(ValueError, match=match):
        train_ensemble(IMAGES, labels, **arguments)
