"""Metrics against hand-computed confusion matrices; curves written as PNG."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from mirnamap.evaluate import (
    confusion,
    metrics,
    save_learning_curve,
    save_pr_curve,
    save_roc_curve,
)


def test_metrics_of_a_hand_computed_confusion_matrix():
    # 3 positives, 5 negatives: TP 2, FN 1, FP 1, TN 4 at threshold 0.5.
    labels = [1, 1, 1, 0, 0, 0, 0, 0]
    probabilities = [0.9, 0.6, 0.2, 0.7, 0.1, 0.3, 0.4, 0.05]
    m = metrics(labels, probabilities)
    assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (2, 1, 1, 4)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(4 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert m["mcc"] == pytest.approx((2 * 4 - 1 * 1) / math.sqrt(3 * 3 * 5 * 5))
    # AUROC: of the 15 (positive, negative) pairs the positive ranks higher in 5 + 4 + 2
    # (0.9 beats all five negatives, 0.6 four, 0.2 two).
    assert m["auroc"] == pytest.approx(11 / 15)
    assert (m["n"], m["n_positive"]) == (8, 3)


def test_ranking_metrics_by_hand():
    # Ranked: 0.8 (pos), 0.4 (neg), 0.35 (pos), 0.1 (neg).
    m = metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m["auroc"] == pytest.approx(0.75)
    # Average precision: recall 0.5 at precision 1, recall 1 at precision 2/3.
    assert m["auprc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_perfect_and_inverted_rankings():
    y = [0, 0, 1, 1]
    assert metrics(y, [0.1, 0.2, 0.8, 0.9])["auroc"] == 1.0
    assert metrics(y, [0.9, 0.8, 0.2, 0.1])["auroc"] == 0.0
    perfect = metrics(y, [0.1, 0.2, 0.8, 0.9])
    assert perfect["mcc"] == pytest.approx(1.0) and perfect["f1"] == 1.0


def test_threshold_is_inclusive_and_moves_the_call():
    assert metrics([1, 0], [0.5, 0.49])["tp"] == 1
    assert metrics([1, 0], [0.5, 0.49], threshold=0.6)["tp"] == 0
    assert metrics([1, 0], [0.5, 0.49], threshold=0.4)["fp"] == 1


def test_undefined_ratios_are_nan():
    m = metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert math.isnan(m["sensitivity"]) and math.isnan(m["auroc"]) and math.isnan(m["mcc"])
    assert m["specificity"] == 1.0


def test_confusion_counts():
    assert confusion([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]) == {"tn": 1, "fp": 1, "fn": 1, "tp": 2}


@pytest.mark.parametrize(
    ("labels", "probabilities", "match"),
    [
        ([0, 1], [0.5], "shape"),
        ([0, 2], [0.5, 0.5], "0 or 1"),
        ([0, 1], [0.5, float("nan")], "NaN"),
    ],
)
def test_bad_inputs(labels, probabilities, match):
    with pytest.raises(ValueError, match=match):
        metrics(labels, probabilities)


def test_curves_are_written_as_png(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 50)
    p = np.clip(y * 0.5 + rng.random(50) * 0.6, 0, 1)
    paths = [
        save_roc_curve((y, p), tmp_path / "roc.png"),
        save_pr_curve({"a": (y, p), "b": (y, 1 - p)}, tmp_path / "deep" / "pr.png"),
        save_learning_curve(
            {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [0.9, 0.6]},
            tmp_path / "curve.png",
        ),
    ]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 300
    with pytest.raises(ValueError, match="loss"):
        save_learning_curve({}, tmp_path / "empty.png")


def test_threshold_and_sensitivity_at_a_specificity_by_hand():
    from mirnamap.evaluate import sensitivity_at_specificity, threshold_for_specificity

    # 10 negatives 0.0 .. 0.9, positives 0.55, 0.85, 0.95.
    negatives = [k / 10 for k in range(10)]
    labels = [0] * 10 + [1, 1, 1]
    p = [*negatives, 0.55, 0.85, 0.95]
    # Specificity 0.9 allows one false positive (0.9): the threshold lies just above 0.8.
    t = threshold_for_specificity(labels, p, 0.9)
    assert 0.8 < t < 0.8 + 1e-12
    assert sensitivity_at_specificity(labels, p, 0.9) == pytest.approx(2 / 3)
    # 0.95 of 10 negatives allows none: just above 0.9, one positive left.
    assert sensitivity_at_specificity(labels, p, 0.95) == pytest.approx(1 / 3)
    # The largest sensitivity over every threshold meeting the specificity (brute force).
    y, q = np.array(labels), np.array(p)
    for s in (0.5, 0.7, 0.9):
        best = max(np.mean(q[y == 1] >= c) for c in np.r_[q, 1.1] if np.mean(q[y == 0] < c) >= s)
        assert sensitivity_at_specificity(labels, p, s) == pytest.approx(best)
    # Ties: every negative at one value stays uncalled.
    assert threshold_for_specificity([0, 0, 0, 1], [0.3, 0.3, 0.3, 0.9], 0.5) > 0.3
    assert math.isnan(sensitivity_at_specificity([0, 0], [0.1, 0.2], 0.9))
    with pytest.raises(ValueError, match="needs negatives"):
        threshold_for_specificity([1, 1], [0.1, 0.2], 0.9)
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        threshold_for_specificity(labels, p, 1.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.3, ("probability", 0.3)),
        ("0.7", ("probability", 0.7)),
        (1, ("probability", 1.0)),
        ("specificity:0.95", ("specificity", 0.95)),
        (" Specificity: 0.9 ", ("specificity", 0.9)),
    ],
)
def test_parse_threshold(value, expected):
    from mirnamap.evaluate import parse_threshold

    assert parse_threshold(value) == expected


@pytest.mark.parametrize(
    "value", [1.2, -0.1, "sensitivity:0.9", "specificity:1", "specificity:", "x", True, None]
)
def test_parse_threshold_refuses_what_is_neither_form(value):
    from mirnamap.evaluate import parse_threshold

    with pytest.raises(ValueError, match="specificity:S"):
        parse_threshold(value)


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """A network saved as .keras and a calibrated ensemble of two, in memory."""
    pytest.importorskip("keras")
    from mirnamap.ensemble import Ensemble
    from mirnamap.model import build_model, save_model

    folder = tmp_path_factory.mktemp("models")
    nets = [build_model(filters=(4, 4, 4), dense_units=8, seed=s) for s in (1, 2)]
    path = save_model(nets[0], folder / "one.keras")
    return {"one": path, "pair": Ensemble(nets, temperature=2.0, bias=-0.5, threshold=0.4)}


def _labelled_images(n: int = 30):
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (n, 25, 100, 3), dtype=np.uint8), np.arange(n) % 3 == 0


def test_evaluate_models_scores_each_model_as_metrics_does(two_models, tmp_path):
    from mirnamap.ensemble import calibrate, resolve_ensemble
    from mirnamap.evaluate import evaluate_models, sensitivity_at_specificity

    images, labels = _labelled_images()
    labels = labels.astype(int)
    result = evaluate_models(two_models, images, labels, ids=[f"r{k}" for k in range(30)])
    frame = result.to_frame()
    assert frame["model"].tolist() == ["one", "pair"]
    assert result.thresholds == (0.5, 0.4)  # each model's own threshold
    for k, model in enumerate(two_models.values()):
        prediction = resolve_ensemble(model).predict(images)
        expected = metrics(labels, prediction.probability, result.thresholds[k])
        row = frame.iloc[k]
        for key in ("accuracy", "sensitivity", "specificity", "mcc", "auroc", "auprc", "tp"):
            assert row[key] == pytest.approx(expected[key], nan_ok=True)
        assert row["sensitivity_at_specificity_0.95"] == pytest.approx(
            sensitivity_at_specificity(labels, prediction.probability, 0.95), nan_ok=True
        )
    np.testing.assert_allclose(
        result.calibrated[1],
        calibrate(resolve_ensemble(two_models["pair"]).predict(images).logits, 2.0, -0.5),
    )
    assert set(frame.columns) >= {
        "ece", "ece_uncalibrated", "sensitivity_at_specificity_0.90",
        "sensitivity_at_specificity_0.99", "n", "n_positive",
    }  # fmt: skip
    at_half = evaluate_models(two_models, images, labels, threshold=0.5)
    assert at_half.thresholds == (0.5, 0.5)

    written = result.save(tmp_path / "eval")
    names = sorted(p.name for p in written)
    assert names == [
        "metrics.json",
        "metrics.tsv",
        "pr.png",
        "predictions.tsv",
        "reliability.png",
        "roc.png",
    ]
    for path in written:
        if path.suffix == ".png":
            with Image.open(path) as image:
                assert image.format == "PNG"
    import json

    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert [m["model"] for m in report["models"]] == ["one", "pair"]
    table = (tmp_path / "eval" / "metrics.tsv").read_text().splitlines()
    assert table[0].split("\t")[0] == "model" and len(table) == 3
    predictions = result.predictions_frame()
    assert predictions.columns.tolist() == [
        "id",
        "label",
        "one",
        "one:calibrated",
        "pair",
        "pair:calibrated",
    ]
    assert result.failures_frame().empty


def test_evaluate_models_lists_failures_and_skips_curves_of_one_class(two_models, tmp_path):
    from mirnamap.errors import Failure
    from mirnamap.evaluate import evaluate_models

    images, _ = _labelled_images(6)
    failed = (Failure(6, "x", "no hairpin", "encode"),)
    result = evaluate_models({"one": two_models["one"]}, images, np.zeros(6, int), failures=failed)
    assert result.failures_frame()["id"].tolist() == ["x"]
    names = sorted(p.name for p in result.save(tmp_path / "e"))
    assert "roc.png" not in names and "failures.tsv" in names and "reliability.png" in names
    assert math.isnan(result.scores[0]["auroc"]) and result.scores[0]["specificity"] >= 0


@pytest.mark.parametrize(
    ("models", "labels", "match"),
    [
        ({}, None, "non-empty mapping"),
        (["one"], None, "non-empty mapping"),
        ({"gone": "missing.keras"}, None, "model 'gone'"),
        (None, np.array([0, 1, 2, 0, 1, 0]), "0 or 1"),
        (None, np.array([0, 1]), "labels of shape"),
    ],
)
def test_evaluate_models_bad_input(two_models, tmp_path, models, labels, match):
    from mirnamap.evaluate import evaluate_models

    images, _ = _labelled_images(6)
    models = two_models if models is None else models
    labels = np.array([0, 1, 0, 1, 0, 1]) if labels is None else labels
    with pytest.raises(ValueError, match=match):
        evaluate_models(models, images, labels)
