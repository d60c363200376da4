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
