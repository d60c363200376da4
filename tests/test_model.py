"""The DeepMir network: architecture, save/load round trip, bad model files, predict_proba."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirnamap.model import (  # noqa: E402
    DEFAULT_MODEL,
    INPUT_SHAPE,
    LOGITS,
    PROBABILITIES,
    build_model,
    check_images,
    load_default_model,
    load_model,
    predict_proba,
    save_model,
)


def _tiny(seed: int = 0) -> keras.Model:
    return build_model(filters=(4, 4, 4), dense_units=8, seed=seed)


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *INPUT_SHAPE), dtype=np.uint8)


def test_published_architecture():
    model = build_model(seed=0)
    # The paper's network, counted by hand: 3x3 convs 3->48 (valid), 48->48, 48->60,
    # 60->60, 60->72, 72->72, then Dense 1728 -> 256 -> 2 (1728 = 2 x 12 x 72).
    convs = [(3, 48), (48, 48), (48, 60), (60, 60), (60, 72), (72, 72)]
    expected = sum(9 * a * b + b for a, b in convs) + 1728 * 256 + 256 + 256 * 2 + 2
    assert model.count_params() == expected
    assert model.get_layer("flatten").output.shape[1:] == (1728,)
    assert model.get_layer(LOGITS).output.shape[1:] == (2,)
    assert model.layers[-1].name == PROBABILITIES
    assert model.get_layer(LOGITS).activation.__name__ == "linear"


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = _tiny(3), _tiny(3), _tiny(4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))
    assert not all(
        np.array_equal(x, y) for x, y in zip(a.get_weights(), c.get_weights(), strict=True)
    )


def test_save_load_round_trip_gives_same_predictions(tmp_path):
    model = _tiny(1)
    images = _images(7)
    before = predict_proba(model, images)
    path = save_model(model, tmp_path / "sub" / "m.keras")
    loaded = load_model(path)
    np.testing.assert_array_equal(predict_proba(loaded, images), before)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_save_leaves_optimizer_out_and_model_untouched(tmp_path):
    model = _tiny(2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(_images(4), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    save_model(model, tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        stored = archive.getinfo("model.weights.h5").file_size
    # Optimizer state (two Adam moments) would triple the file; weights alone are ~4 bytes each.
    assert stored < 2 * 4 * model.count_params() + 50_000
    assert model.optimizer is not None  # still compiled
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights(), strict=True))
    assert getattr(load_model(tmp_path / "m.keras"), "optimizer", None) is None


def test_save_needs_keras_suffix(tmp_path):
    with pytest.raises(ValueError, match=r"\.keras"):
        save_model(_tiny(), tmp_path / "m.h5")


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such model file"):
        load_model(tmp_path / "absent.keras")


def test_garbage_model_file(tmp_path):
    path = tmp_path / "garbage.keras"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ValueError, match=r"garbage\.keras.*not a Keras model file"):
        load_model(path)


def test_truncated_model_file(tmp_path):
    save_model(_tiny(), tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.keras"):
        load_model(tmp_path / "cut.keras")


def test_zip_that_is_not_a_model(tmp_path):
    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"other\.keras.*not a readable Keras model"):
        load_model(path)


def test_model_of_another_architecture(tmp_path):
    inputs = keras.Input(shape=(10,))
    other = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs))
    other.save(tmp_path / "other.keras")
    with pytest.raises(ValueError, match=r"not a DeepMir model.*input"):
        load_model(tmp_path / "other.keras")


def test_model_without_logits_layer(tmp_path):
    inputs = keras.Input(shape=INPUT_SHAPE)
    x = keras.layers.Flatten()(inputs)
    other = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", name=PROBABILITIES)(x))
    other.save(tmp_path / "nologits.keras")
    with pytest.raises(ValueError, match="no layer named 'logits'"):
        load_model(tmp_path / "nologits.keras")


def test_predict_proba_is_class_one_softmax_and_batch_invariant():
    model = _tiny(5)
    images = _images(5, seed=1)
    expected = np.asarray(model(images.astype(np.float32), training=False))[:, 1]
    for batch_size in (1, 3, 5, 256):
        got = predict_proba(model, images, batch_size=batch_size)
        assert got.dtype == np.float32 and got.shape == (5,)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(predict_proba(model, images[:1]), expected[:1], rtol=1e-5, atol=1e-6)
    assert predict_proba(model, images[:0]).shape == (0,)


@pytest.mark.parametrize(
    ("images", "error"),
    [
        (np.zeros((25, 100, 3), np.uint8), ValueError),  # no batch axis
        (np.zeros((2, 25, 99, 3), np.uint8), ValueError),
        (np.zeros((2, 25, 100, 3), bool), TypeError),
    ],
)
def test_predict_proba_rejects_bad_images(images, error):
    with pytest.raises(error, match="images"):
        predict_proba(_tiny(), images)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_proba_rejects_non_finite_images_naming_the_first(bad):
    images = _images(4).astype(np.float32)
    images[2, 5, 7, 1] = bad
    images[3, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="image 2 is not finite"):
        predict_proba(_tiny(), images)
    with pytest.raises(ValueError, match="image 2 is not finite"):
        check_images(images)


def test_bundled_model_separates_example_hairpins():
    from mirnamap.datasets import load_fasta
    from mirnamap.encode import encode_folds
    from mirnamap.fold import fold

    assert DEFAULT_MODEL.is_file() and DEFAULT_MODEL.stat().st_size < 5_000_000
    model = load_default_model()
    assert model is not load_default_model()  # a fresh copy each call
    records = load_fasta(Path(__file__).resolve().parents[1] / "data" / "examples" / "hairpins.fa")
    encoding = encode_folds(fold(records.sequences, ids=records.ids, workers=1))
    assert encoding.failures  # the example file also holds records that cannot be drawn
    p = predict_proba(model, encoding.images)
    positive = np.array([i.startswith("human_pos") for i in encoding.ids])
    # Ten pre-miRNAs and ten pseudo-hairpins of the held-out human test split.
    assert positive.sum() == 10 and (~positive).sum() == 10
    assert p[positive].mean() > 0.5 > p[~positive].mean()
