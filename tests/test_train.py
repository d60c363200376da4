"""Training: repeatable with a seed on the CPU, learns, never changes the caller's model."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from mirnamap.model import INPUT_SHAPE, build_model, predict_proba  # noqa: E402
from mirnamap.train import balanced_class_weight, train  # noqa: E402


def _tiny(seed: int = 0) -> keras.Model:
    return build_model(filters=(4, 4, 4), dense_units=8, seed=seed)


def _separable(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """White images; pre-miRNAs (label 1) carry a red bar, negatives a blue one."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    images = np.full((n, *INPUT_SHAPE), 255, dtype=np.uint8)
    for i, label in enumerate(labels):
        row = rng.integers(2, 22)
        images[i, row - 2 : row + 2, 10:90] = (255, 0, 0) if label else (0, 0, 255)
    return images, labels


def _same(a: keras.Model, b: keras.Model) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_same_seed_gives_same_model_and_losses_other_seed_or_weights_do_not():
    images, labels = _separable(24)
    runs = [
        train(
            images,
            labels,
            validation=(images[:6], labels[:6]),
            epochs=2,
            batch_size=8,
            seed=7,
            model=_tiny(),
            verbose=False,
        )
        for _ in range(2)
    ]
    assert _same(runs[0].model, runs[1].model)
    assert runs[0].history["loss"] == runs[1].history["loss"]
    other = train(images, labels, epochs=2, batch_size=8, seed=8, model=_tiny(), verbose=False)
    assert not _same(runs[0].model, other.model)
    weighted = train(
        images,
        labels,
        validation=(images[:6], labels[:6]),
        epochs=2,
        batch_size=8,
        seed=7,
        model=_tiny(),
        class_weight={0: 1.0, 1: 5.0},
        verbose=False,
    )
    assert not _same(runs[0].model, weighted.model)


def test_learns_a_separable_task_and_reports_history():
    images, labels = _separable(64)
    # Without dropout, so that a few epochs of a tiny network suffice.
    start = build_model(
        filters=(8, 8, 8), dense_units=16, conv_dropout=0.0, dense_dropout=0.0, seed=0
    )
    result = train(
        images,
        labels,
        validation=(images[:16], labels[:16]),
        epochs=10,
        batch_size=16,
        learning_rate=1e-2,
        seed=0,
        model=start,
        verbose=False,
    )
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert all(len(v) == 10 for v in result.history.values())
    assert result.history["loss"][-1] < result.history["loss"][0]
    p = predict_proba(result.model, images)
    assert ((p >= 0.5) == labels.astype(bool)).mean() >= 0.9


def test_callers_model_is_not_changed():
    images, labels = _separable(16)
    start = _tiny(1)
    before = [w.copy() for w in start.get_weights()]
    result = train(images, labels, epochs=1, batch_size=8, model=start, verbose=False)
    assert result.model is not start
    assert all(np.array_equal(a, b) for a, b in zip(before, start.get_weights(), strict=True))
    assert not _same(result.model, start)


def test_early_stopping_keeps_best_epoch():
    images, labels = _separable(32)
    result = train(
        images,
        labels,
        validation=(images[:8], labels[:8]),
        epochs=6,
        batch_size=8,
        learning_rate=5e-2,
        early_stopping=1,
        seed=0,
        model=_tiny(),
        verbose=False,
    )
    n = len(result.history["val_loss"])
    assert 2 <= n <= 6
    best = min(result.history["val_loss"])
    val_loss = keras.losses.SparseCategoricalCrossentropy()(
        labels[:8], result.model(images[:8].astype(np.float32), training=False)
    )
    assert float(val_loss) == pytest.approx(best, rel=1e-4)


def test_reduce_lr_halves_the_rate_only_after_a_plateau():
    images, labels = _separable(32)
    # Validating on the flipped labels: the better the model learns, the worse val_loss.
    flipped = (images[:8], 1 - labels[:8])
    kwargs = dict(epochs=6, batch_size=8, learning_rate=2e-2, seed=0, verbose=False)
    result = train(images, labels, validation=flipped, reduce_lr=1, model=_tiny(), **kwargs)
    rates = np.array(result.history["learning_rate"])
    val = np.array(result.history["val_loss"])
    assert np.all(np.diff(rates) <= 0) and rates[-1] < 2e-2 and rates.min() >= 2e-2 / 64
    # The rate only falls after an epoch that did not beat the best val_loss so far.
    for epoch in np.flatnonzero(np.diff(rates) < 0):
        assert val[epoch] >= val[: epoch + 1].min()
        assert rates[epoch + 1] == pytest.approx(rates[epoch] / 2)
    constant = train(images, labels, validation=flipped, model=_tiny(), **kwargs)
    assert set(np.round(constant.history.get("learning_rate", [2e-2]), 9)) == {0.02}


def test_balanced_class_weight_equalises_classes():
    labels = np.array([0] * 90 + [1] * 10)
    weights = balanced_class_weight(labels)
    assert weights[0] * 90 == pytest.approx(weights[1] * 10)
    assert weights[0] * 90 + weights[1] * 10 == pytest.approx(100)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"early_stopping": 2}, ValueError, "validation"),
        ({"reduce_lr": 2}, ValueError, "reduce_lr needs validation"),
        ({"labels": np.array([0, 1, 2, 0])}, ValueError, "labels must be in"),
        ({"labels": np.array([0, 1, 0])}, ValueError, "labels of shape"),
        ({"labels": np.array([0.0, 1.0, 0.0, 1.0])}, TypeError, "integers"),
        ({"class_weight": "equal"}, ValueError, "class_weight"),
        ({"epochs": 0}, ValueError, "epochs"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    images, labels = _separable(4)
    kwargs = {"labels": labels, **kwargs}
    with pytest.raises(error, match=match):
        train(images, model=_tiny(), verbose=False, **kwargs)


class _StopAfter(keras.callbacks.Callback):
    """Interrupts training (as a killed process would) at the end of an epoch."""

    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _resumable_run(tmp_path, name, **extra):
    images, labels = _separable(40)
    # Validating on flipped labels: the validation loss rises, so early stopping and the
    # learning-rate schedule both act, and their counters must survive the interruption.
    options = dict(
        validation=(images[:8], 1 - labels[:8]),
        epochs=5,
        batch_size=8,
        learning_rate=2e-2,
        early_stopping=2,
        reduce_lr=1,
        class_weight="balanced",
        seed=3,
        verbose=False,
        checkpoint=tmp_path / name,
    )
    options.update(extra)
    return train(images, labels, model=_tiny(), **options)


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    from mirnamap.train import read_checkpoint_state

    whole = _resumable_run(tmp_path, "whole.npz")
    assert 2 <= len(whole.history["loss"]) <= 5
    assert whole.history["learning_rate"][-1] < 2e-2  # the schedule acted
    with pytest.raises(KeyboardInterrupt):
        _resumable_run(tmp_path, "cut.npz", callbacks=[_StopAfter(1)])
    state = read_checkpoint_state(tmp_path / "cut.npz")
    assert state["epochs_done"] == 2 and len(state["history"]["loss"]) == 2
    resumed = _resumable_run(tmp_path, "cut.npz", resume=True)
    assert resumed.resumed_epochs == 2
    assert _same(whole.model, resumed.model)  # bit for bit
    for key in ("loss", "val_loss", "learning_rate"):
        assert resumed.history[key] == whole.history[key]
    assert len(resumed.history["seconds"]) == len(whole.history["seconds"])
    # A finished checkpoint resumes to the same model without training.
    again = _resumable_run(tmp_path, "cut.npz", resume=True)
    assert again.resumed_epochs == len(whole.history["loss"]) and _same(whole.model, again.model)


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    _resumable_run(tmp_path, "a.npz", epochs=1, early_stopping=None, reduce_lr=None)
    with pytest.raises(ValueError, match="another run"):
        _resumable_run(tmp_path, "a.npz", epochs=1, early_stopping=None, reduce_lr=None,
                       seed=4, resume=True)  # fmt: skip
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        _resumable_run(tmp_path, "junk.npz", resume=True)
    with pytest.raises(ValueError, match="resume needs a checkpoint"):
        _resumable_run(tmp_path, "x.npz", checkpoint=None, resume=True)


def test_freezing_the_convolutions_keeps_them_bit_identical_and_trains_the_rest():
    images, labels = _separable(24)
    start = _tiny(2)
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in start.layers}
    result = train(images, labels, epochs=2, batch_size=8, model=start, freeze="conv",
                   learning_rate=1e-2, verbose=False)  # fmt: skip
    convolutions = [
        layer for layer in result.model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert len(convolutions) == 6
    for layer in convolutions:
        for after, was in zip(layer.get_weights(), before[layer.name], strict=True):
            np.testing.assert_array_equal(after, was)
    for name in ("dense", "logits"):
        assert not np.array_equal(result.model.get_layer(name).get_weights()[0], before[name][0])
    # The returned model is trainable again (it saves and fine-tunes like any other), and
    # the caller's model is untouched.
    assert all(layer.trainable for layer in result.model.layers)
    for layer in start.layers:
        for now, was in zip(layer.get_weights(), before[layer.name], strict=True):
            np.testing.assert_array_equal(now, was)
    with pytest.raises(ValueError, match="freeze must be one of conv"):
        train(images, labels, epochs=1, model=start, freeze="dense", verbose=False)
