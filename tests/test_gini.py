"""The Gini bottleneck: the index, its penalty and gradient, and the training option."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from mirnamap.model import INPUT_SHAPE, build_model  # noqa: E402
from mirnamap.train import gini_index, gini_penalty, mass_count, train  # noqa: E402

#: Two units: |w| = (1, 2, 3, 4) has Gini 0.25 and (0, 0, 0, 2) has Gini 0.75, by hand:
#: sum_ij |x_i - x_j| = 20 and 12, so MD = 20/16 and 12/16, mean 2.5 and 0.5.
KERNEL = np.array([[1.0, 0.0], [2.0, 0.0], [-3.0, 0.0], [4.0, -2.0]], dtype=np.float32)


def _pairwise_gini(w: np.ndarray) -> float:
    """The definition itself: mean absolute difference / (2 mean)."""
    w = np.abs(w)
    return float(np.abs(w[:, None] - w[None, :]).mean() / (2 * w.mean()))


def test_gini_index_matches_hand_values_and_the_pairwise_definition():
    np.testing.assert_allclose(gini_index(KERNEL), [0.25, 0.75])
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(37, 5))
    expected = [_pairwise_gini(kernel[:, j]) for j in range(5)]
    np.testing.assert_allclose(gini_index(kernel), expected, rtol=1e-10)
    assert gini_index(np.ones(8)) == pytest.approx(0.0)
    assert gini_index(np.eye(8)[0]) == pytest.approx(1 - 1 / 8)


def test_penalty_equals_hand_computed_value():
    # lam * ((1 - 0.25) + (1 - 0.75)) = 2 * 1.0
    assert float(gini_penalty(KERNEL, 2.0)) == pytest.approx(2.0, rel=1e-6)
    assert float(gini_penalty(KERNEL, 0.0)) == 0.0


@pytest.mark.parametrize(
    "kernel",
    [
        np.full((6, 3), 0.5, np.float32),  # every weight equal
        np.array([[0.0, 1.0], [0.0, 0.0], [2.0, 0.0]], np.float32),  # some exactly 0
        np.zeros((4, 2), np.float32),  # all zero
    ],
    ids=["equal", "some_zero", "all_zero"],
)
def test_gradient_is_finite(kernel):
    variable = tf.Variable(kernel)
    with tf.GradientTape() as tape:
        value = gini_penalty(variable, 1.0)
    gradient = tape.gradient(value, variable).numpy()
    assert np.isfinite(float(value))
    assert np.isfinite(gradient).all()


def test_mass_count():
    assert mass_count(np.array([[5.0], [4.0], [0.5], [0.5]]), 0.9).tolist() == [2]
    assert mass_count(np.ones((10, 2)), 0.9).tolist() == [9, 9]
    assert mass_count(np.ones((10, 1)), 1.0).tolist() == [10]
    with pytest.raises(ValueError, match="share"):
        mass_count(np.ones(3), 0.0)


def _data(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = np.full((n, *INPUT_SHAPE), 255, dtype=np.uint8)
    for i, label in enumerate(labels):
        row = rng.integers(2, 22)
        images[i, row - 2 : row + 2, 10:90] = (255, 0, 0) if label else (0, 0, 255)
    return images, labels


def _tiny() -> keras.Model:
    return build_model(filters=(4, 4, 4), dense_units=16, seed=0)


def _fit(**options) -> object:
    images, labels = _data()
    return train(
        images, labels, epochs=2, batch_size=8, seed=3, model=_tiny(), verbose=False, **options
    )


def test_lam_zero_gives_the_same_weights_as_no_option():
    plain, zero = _fit(), _fit(gini=0.0)
    for a, b in zip(plain.model.get_weights(), zero.model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert plain.history["loss"] == zero.history["loss"]
    assert len(zero.history["gini"]) == 2 and "gini" not in plain.history


@pytest.mark.parametrize("layer", ["logits", "dense"])
def test_a_large_lam_raises_the_gini_index_of_the_layer(layer):
    images, labels = _data()
    options = dict(epochs=4, batch_size=8, learning_rate=1e-2, seed=3, verbose=False)
    plain = train(images, labels, model=_tiny(), **options)
    sparse = train(images, labels, model=_tiny(), gini=5.0, gini_layer=layer, **options)
    before = gini_index(plain.model.get_layer(layer).get_weights()[0]).mean()
    after = gini_index(sparse.model.get_layer(layer).get_weights()[0]).mean()
    assert after > before + 0.05
    assert sparse.history["gini"][-1] == pytest.approx(after, rel=1e-5)
    # The returned model carries no regularizer: it saves without custom objects.
    assert sparse.model.get_layer(layer).kernel.regularizer is None


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"gini": -1.0}, ValueError, "gini must be"),
        ({"gini": float("nan")}, ValueError, "gini must be"),
        ({"gini": "a"}, TypeError, "gini must be"),
        ({"gini": 1.0, "gini_layer": "conv1a"}, ValueError, "gini_layer"),
    ],
)
def test_bad_gini_options(options, error, match):
    images, labels = _data(4)
    with pytest.raises(error, match=match):
        train(images, labels, model=_tiny(), verbose=False, **options)


def test_cli_train_records_lam_and_layer(tmp_path, capsys):
    import json

    from mirnamap.cli import main

    images, labels = _data(20)
    archive = tmp_path / "train.npz"
    np.savez(archive, images=images, labels=labels.astype(np.int8))
    base = ["train", "--images", str(archive), "--epochs", "1", "--validation-fraction", "0.2"]
    out = tmp_path / "m.keras"
    assert main([*base, "-o", str(out), "--gini", "0.5", "--gini-layer", "dense"]) == 0
    report = json.loads((tmp_path / "m.metrics.json").read_text())
    assert report["gini"]["lam"] == 0.5 and report["gini"]["layer"] == "dense"
    assert len(report["gini"]["gini_index"]) == len(report["gini"]["mass_90"]) == 256
    assert len(report["history"]["gini"]) == 1
    plain = tmp_path / "p.keras"
    assert main([*base, "-o", str(plain)]) == 0
    assert json.loads((tmp_path / "p.metrics.json").read_text())["gini"] is None
    assert main([*base, "-o", str(tmp_path / "n.keras"), "--gini", "-1"]) == 2
    assert "gini must be" in capsys.readouterr().err
