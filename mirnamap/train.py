"""Train the DeepMir CNN: Adam, batch 128, validation data, early stopping, class weights.

One function, :func:`train`, over in-memory ``uint8`` images. It runs on the GPU when
TensorFlow sees one (and says so), on the CPU otherwise. With a seed, CPU runs are
repeatable: the same seed gives the same weights and the same loss curve.

The input pipeline keeps the images as ``uint8`` in a ``tf.data`` pipeline (shuffled with
the seed, batched, prefetched), so feeding costs a fraction of a training step; see
``benchmarks/train.py`` for the overhead against a bare ``model.fit``.

A run can be made resumable: with ``checkpoint``, :func:`train` writes its whole state
after every epoch (weights, the optimizer's moments, the dropout generators' state, the
early-stopping and learning-rate counters, the history), and with ``resume`` it continues
from there. On the CPU, a resumed run ends with the same weights, bit for bit, as one
that was never interrupted (the shuffling order of the epochs left is restored too).
``freeze="conv"`` trains the dense layers only (fine-tuning with fixed features).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from mirnamap.files import atomic_write
from mirnamap.model import build_model, check_images, check_model, copy_model

if TYPE_CHECKING:
    import keras

    from mirnamap._typing import Images, Labels

__all__ = [
    "FREEZE",
    "GINI_LAYERS",
    "TrainResult",
    "balanced_class_weight",
    "device_name",
    "epoch_orders",
    "gini_index",
    "gini_penalty",
    "mass_count",
    "read_checkpoint_state",
    "stratified_split",
    "train",
]

#: Layers the Gini penalty of :func:`train` can act on (names in :func:`build_model`).
GINI_LAYERS = ("logits", "dense")
#: What ``train(freeze=...)`` can keep fixed: ``"conv"``, every convolution (kernels and
#: biases), so that only the dense layers learn.
FREEZE = ("conv",)
_CHECKPOINT_FORMAT = "mirnamap-train-checkpoint"
#: Added to twice the mean |w| before dividing: the Gini index of an all-zero unit is 0,
#: and its gradient stays finite.
GINI_EPSILON = 1e-12


class TrainResult(NamedTuple):
    """What :func:`train` returns.

    Attributes
    ----------
    model : keras.Model
        The trained model (a new one; the ``model`` passed in is never changed). With early
        stopping, it holds the weights of the epoch with the lowest validation loss.
    history : dict of str to list of float
        Per epoch: ``loss``, ``accuracy``, ``val_loss`` and ``val_accuracy`` (with
        validation data) and ``seconds`` (wall time of the epoch).
    resumed_epochs : int
        Epochs read back from a checkpoint (``train(resume=True)``) rather than run by this
        call. Default is 0.
    """

    model: keras.Model
    history: dict[str, list[float]]
    resumed_epochs: int = 0


def device_name() -> str:
    """``"GPU (name)"`` when TensorFlow sees a GPU, else ``"CPU"``."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    return f"GPU ({', '.join(g.name for g in gpus)})"


def balanced_class_weight(labels: Labels) -> dict[int, float]:
    """Class weights ``n / (k * n_c)`` that give each class the same total weight.

    Parameters
    ----------
    labels : np.ndarray
        ``int (N,)`` class labels 0..k-1.

    Returns
    -------
    dict of int to float
        The weight of each class present.

    >>> balanced_class_weight(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    return {
        int(c): float(labels.size / (classes.size * n))
        for c, n in zip(classes, counts, strict=True)
    }


def stratified_split(labels: Labels, fraction: float, seed: int = 0) -> np.ndarray:
    """A seeded, stratified validation share: ``fraction`` of each class, drawn at random.

    Each class with at least two records gives ``max(1, round(fraction * n))`` of them
    (so both classes are validated even when one is rare); a class of one stays in
    training.

    Parameters
    ----------
    labels : np.ndarray
        ``int (N,)`` class labels.
    fraction : float
        Share held out, in (0, 1).
    seed : int, optional
        Seed of the draw. Default is 0.

    Returns
    -------
    np.ndarray
        ``bool (N,)``: True for the validation records.

    >>> mask = stratified_split(np.array([0] * 8 + [1] * 2), 0.25, seed=0)
    >>> int(mask[:8].sum()), int(mask[8:].sum())
    (2, 1)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(fraction * members.size)) if members.size > 1 else 0
        mask[rng.choice(members, size=take, replace=False)] = True
    return mask


def _check_labels(labels: Labels, n_images: int, n_classes: int, what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n_images,):
        raise ValueError(f"{what}: {n_images} images but labels of shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{what}: labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{what}: labels must be in 0..{n_classes - 1}, got {np.unique(labels)}")
    return labels.astype(np.int32)


def _dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    weights: np.ndarray | None = None,
):
    """An unshuffled tf.data pipeline of uint8 images (validation), prefetched."""
    import tensorflow as tf

    parts = (images, labels) if weights is None else (images, labels, weights)
    data = tf.data.Dataset.from_tensor_slices(parts)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_orders(n: int, seed: int, epochs: int, first_epoch: int = 0) -> np.ndarray:
    """The shuffling order of each epoch: epoch ``e`` is ``permutation(n)`` drawn with
    ``numpy.random.default_rng([seed, e])``, a function of the seed and the epoch only.

    So a resumed run (``first_epoch`` > 0) sees the orders an uninterrupted one would.

    Returns
    -------
    np.ndarray
        ``int64 (epochs - first_epoch, n)``.

    >>> epoch_orders(4, seed=0, epochs=3, first_epoch=1).tolist() == (
    ...     epoch_orders(4, seed=0, epochs=3)[1:].tolist())
    True
    """
    orders = [np.random.default_rng([seed, e]).permutation(n) for e in range(first_epoch, epochs)]
    return np.stack(orders) if orders else np.empty((0, n), dtype=np.int64)


def _training_stream(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epochs: int, first: int
):
    """The training batches of epochs ``first .. epochs - 1`` as one tf.data stream, and
    the number of batches an epoch.

    Fed to ``fit`` with ``steps_per_epoch``, Keras keeps one iterator over the stream, so
    each epoch gets its own order (:func:`epoch_orders`) whatever the number of iterators
    Keras opens; uint8 images are gathered per batch, prefetched.
    """
    import tensorflow as tf

    steps = math.ceil(images.shape[0] / batch_size)
    orders = epoch_orders(images.shape[0], seed, epochs, first).astype(np.int32)
    pool_images, pool_labels = tf.constant(images), tf.constant(labels)
    data = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    )
    data = data.map(
        lambda index: (tf.gather(pool_images, index), tf.gather(pool_labels, index)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return data.prefetch(tf.data.AUTOTUNE), steps


def _epoch_bar(epochs: int, enabled: bool, initial: int = 0):
    """A Keras callback showing one tqdm bar over epochs, with loss and validation loss."""
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = tqdm(
                total=epochs, initial=initial, unit="epoch", desc="training", disable=not enabled
            )

        def on_epoch_end(self, epoch, logs=None):
            shown = {k: f"{v:.4f}" for k, v in (logs or {}).items() if "loss" in k or "acc" in k}
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        restored: tuple[float, ...] = ()

        def on_train_begin(self, logs=None):
            self.seconds: list[float] = list(self.restored)

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def _unit_magnitudes(kernel: np.ndarray) -> tuple[np.ndarray, bool]:
    """``|kernel|`` as ``float64 (n_inputs, n_units)``, and whether it was one unit."""
    w = np.abs(np.asarray(kernel, dtype=np.float64))
    vector = w.ndim == 1
    w = w[:, None] if vector else w
    if w.ndim != 2 or w.shape[0] == 0:
        raise ValueError(f"kernel must have shape (n_inputs, n_units), got {np.shape(kernel)}")
    return w, vector


def gini_index(kernel: np.ndarray) -> np.ndarray:
    """The Gini index of ``|w|`` of each output unit of a dense kernel.

    Gini = mean absolute difference / (2 * mean), over the unit's input weights: 0 when
    every weight has the same magnitude, ``1 - 1/n`` when one of the ``n`` carries it all
    (Henderson, Clevert & Montanari 2021, arXiv:2105.04854; arXiv:2010.04535).

    Parameters
    ----------
    kernel : np.ndarray
        ``float (n_inputs, n_units)``: a Dense layer's kernel (inputs x outputs); a vector
        ``(n_inputs,)`` is one unit.

    Returns
    -------
    np.ndarray
        ``float64 (n_units,)`` (a float for a vector).

    >>> float(gini_index(np.array([1.0, 1.0, 1.0, 1.0])))
    0.0
    >>> round(float(gini_index(np.array([0.0, 0.0, 0.0, 2.0]))), 9)
    0.75
    """
    w, vector = _unit_magnitudes(kernel)
    n = w.shape[0]
    x = np.sort(w, axis=0)
    rank = 2 * np.arange(1, n + 1) - n - 1
    mean_difference = 2 * (rank[:, None] * x).sum(axis=0) / n**2
    out = mean_difference / (2 * x.mean(axis=0) + GINI_EPSILON)
    return out[0] if vector else out


def mass_count(kernel: np.ndarray, share: float = 0.9) -> np.ndarray:
    """How many input weights of each output unit carry ``share`` of its ``sum |w|``.

    For the ``logits`` layer: how many dense units carry 90 % of each logit's |w|.

    Parameters
    ----------
    kernel : np.ndarray
        ``float (n_inputs, n_units)`` (or one unit ``(n_inputs,)``).
    share : float, optional
        In (0, 1]. Default is 0.9.

    Returns
    -------
    np.ndarray
        ``int64 (n_units,)``: the fewest largest weights whose |w| sum reaches ``share``.

    >>> mass_count(np.array([[5.0], [4.0], [0.5], [0.5]]), 0.9).tolist()
    [2]
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    w, vector = _unit_magnitudes(kernel)
    cumulative = np.cumsum(-np.sort(-w, axis=0), axis=0)
    # A small relative tolerance: a share reached exactly is not missed by rounding.
    reached = cumulative >= share * cumulative[-1] * (1 - 1e-12)
    out = reached.argmax(axis=0).astype(np.int64) + 1
    return out[0] if vector else out


def gini_penalty(kernel, lam: float):
    """The Gini-bottleneck penalty ``lam * sum_units (1 - Gini(|w_unit|))`` (a tensor).

    Differentiable (the Gini index is written over the sorted |w|, so it costs
    ``O(n log n)`` per unit, not the ``n^2`` pairwise differences), with a finite gradient
    when every weight is equal or zero (:data:`GINI_EPSILON`). Minimising it makes each
    unit's input weights unequal (sparse). Ref. Henderson et al. 2021, arXiv:2105.04854.

    Parameters
    ----------
    kernel : tensor
        ``float32 (n_inputs, n_units)``: a Dense kernel.
    lam : float
        The penalty's weight (>= 0).

    Returns
    -------
    tensor
        A float32 scalar.
    """
    from keras import ops

    w = ops.abs(ops.transpose(ops.convert_to_tensor(kernel, dtype="float32")))
    n = int(w.shape[-1])
    x = ops.sort(w, axis=-1)
    rank = ops.convert_to_tensor(2 * np.arange(1, n + 1) - n - 1, dtype="float32")
    mean_difference = 2.0 * ops.sum(rank * x, axis=-1) / float(n * n)
    gini = mean_difference / (2.0 * ops.mean(x, axis=-1) + GINI_EPSILON)
    return float(lam) * ops.sum(1.0 - gini)


def _gini_regularizer(lam: float):
    """A Keras regularizer applying :func:`gini_penalty` (built here: Keras loads lazily)."""
    import keras

    class GiniRegularizer(keras.regularizers.Regularizer):
        def __init__(self, lam: float) -> None:
            self.lam = float(lam)

        def __call__(self, x):
            return gini_penalty(x, self.lam)

        def get_config(self) -> dict[str, float]:
            return {"lam": self.lam}

    return GiniRegularizer(lam)


def _check_gini(gini: float | None, gini_layer: str) -> float | None:
    if gini_layer not in GINI_LAYERS:
        raise ValueError(f"gini_layer must be one of {', '.join(GINI_LAYERS)}, got {gini_layer!r}")
    if gini is None:
        return None
    if isinstance(gini, bool) or not isinstance(gini, (int, float, np.floating, np.integer)):
        raise TypeError(f"gini must be a number >= 0 or None, got {gini!r}")
    if not (math.isfinite(float(gini)) and float(gini) >= 0):
        raise ValueError(f"gini must be a finite number >= 0, got {gini}")
    return float(gini)


def _gini_tracker(layer):
    """A callback recording the mean Gini index of ``layer``'s kernel after each epoch."""
    import keras

    class GiniTracker(keras.callbacks.Callback):
        restored: tuple[float, ...] = ()

        def on_train_begin(self, logs=None):
            self.values: list[float] = list(self.restored)

        def on_epoch_end(self, epoch, logs=None):
            self.values.append(float(np.mean(gini_index(np.asarray(layer.kernel)))))

    return GiniTracker()


def _check_freeze(freeze: str | None) -> str | None:
    if freeze is None or freeze in FREEZE:
        return freeze
    raise ValueError(f"freeze must be one of {', '.join(FREEZE)} or None, got {freeze!r}")


def _conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def _fingerprint(
    images: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None,
    model: keras.Model,
    options: Mapping[str, Any],
) -> str:
    """A SHA-256 of everything that decides a run: data, starting weights and options."""
    digest = hashlib.sha256()
    arrays = [images, labels] + ([] if validation is None else list(validation))
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(array).cast("B"))
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    digest.update(json.dumps(model.get_config(), sort_keys=True, default=str).encode())
    digest.update(json.dumps(dict(options), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _resumable_callbacks(early_stopping: int | None, reduce_lr: int | None, learning_rate: float):
    """Keras' EarlyStopping and ReduceLROnPlateau, with their counters readable and
    restorable (Keras resets them when training begins)."""
    import keras

    class Restorable:
        fields: tuple[str, ...] = ()
        restored: dict[str, Any] | None = None

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            for key, value in (self.restored or {}).items():
                setattr(self, key, value)

        def state(self) -> dict[str, Any]:
            out = {}
            for key in self.fields:
                value = getattr(self, key)
                out[key] = float(value) if isinstance(value, (np.floating, float)) else value
            return out

    class Stopping(Restorable, keras.callbacks.EarlyStopping):
        fields = ("wait", "stopped_epoch", "best", "best_epoch")

    class Reducing(Restorable, keras.callbacks.ReduceLROnPlateau):
        fields = ("wait", "cooldown_counter", "best")

    stopping = reducing = None
    if early_stopping is not None:
        stopping = Stopping(
            monitor="val_loss", patience=int(early_stopping), restore_best_weights=True
        )
    if reduce_lr is not None:
        reducing = Reducing(
            monitor="val_loss", factor=0.5, patience=int(reduce_lr), min_lr=learning_rate / 64
        )
    return stopping, reducing


def _history_recorder(history: dict[str, list[float]]):
    """A callback appending each epoch's logs to ``history`` (carried over on a resume)."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                history.setdefault(key, []).append(float(value))

    return Recorder()


def _checkpointer(path: Path, fingerprint: str, parts: dict[str, Any]):
    """A callback writing the whole training state to ``path`` after every epoch."""
    import keras

    class Checkpointer(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            _write_checkpoint(path, fingerprint, epoch + 1, self.model, parts)

    return Checkpointer()


def _write_checkpoint(
    path: Path, fingerprint: str, epochs_done: int, model: keras.Model, parts: dict[str, Any]
) -> None:
    stopping, reducing = parts["stopping"], parts["reducing"]
    state = {
        "format": _CHECKPOINT_FORMAT,
        "version": 1,
        "fingerprint": fingerprint,
        "epochs_done": epochs_done,
        "stopped": bool(model.stop_training),
        "history": parts["history"],
        "seconds": list(parts["timer"].seconds),
        "gini": list(parts["tracker"].values) if parts["tracker"] is not None else None,
        "early_stopping": stopping.state() if stopping is not None else None,
        "reduce_lr": reducing.state() if reducing is not None else None,
    }
    arrays: dict[str, np.ndarray] = {"state": np.array(json.dumps(state))}
    # Every variable, the dropout generators' seed states included (get_weights leaves
    # them out), and every optimizer variable: iteration count, learning rate, moments.
    for k, variable in enumerate(model.variables):
        arrays[f"variable_{k}"] = np.asarray(variable)
    for k, variable in enumerate(model.optimizer.variables):
        arrays[f"optimizer_{k}"] = np.asarray(variable)
    best = stopping.best_weights if stopping is not None else None
    for k, weight in enumerate(best or ()):
        arrays[f"best_{k}"] = np.asarray(weight)
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **arrays)


def read_checkpoint_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The bookkeeping of a checkpoint :func:`train` wrote: epochs done, whether early
    stopping ended the run (``stopped``), the history so far and the counters.

    Raises
    ------
    ValueError
        If the file is not such a checkpoint.
    """
    state, _ = _read_checkpoint(Path(path))
    return state


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, list[np.ndarray]]]:
    try:
        with np.load(path, allow_pickle=False) as data:
            state = json.loads(str(data["state"]))
            groups: dict[str, list[np.ndarray]] = {"variable": [], "optimizer": [], "best": []}
            for group, values in groups.items():
                k = 0
                while f"{group}_{k}" in data:
                    values.append(data[f"{group}_{k}"])
                    k += 1
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path}: not a training checkpoint ({error})") from None
    if not isinstance(state, dict) or state.get("format") != _CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a training checkpoint of mirnamap")
    return state, groups


def _restore(
    path: Path, fingerprint: str, model: keras.Model, parts: dict[str, Any]
) -> dict[str, Any]:
    """Load a checkpoint into ``model`` (compiled), its optimizer and the callbacks."""
    state, groups = _read_checkpoint(path)
    if state["fingerprint"] != fingerprint:
        raise ValueError(
            f"{path}: the checkpoint is of another run (other data, starting model or "
            "options); resume with the same arguments, or remove it to start afresh"
        )
    model.optimizer.build(model.trainable_variables)
    for name, variables in (
        ("variable", model.variables),
        ("optimizer", model.optimizer.variables),
    ):
        saved = groups[name]
        if len(saved) != len(variables):
            raise ValueError(f"{path}: the checkpoint holds {len(saved)} {name} values, not "
                             f"{len(variables)}")  # fmt: skip
        for variable, value in zip(variables, saved, strict=True):
            variable.assign(value)
    for key in ("stopping", "reducing"):
        callback = parts[key]
        saved = state["early_stopping" if key == "stopping" else "reduce_lr"]
        if callback is not None and saved is not None:
            callback.restored = dict(saved)
            if key == "stopping":
                callback.restored["best_weights"] = groups["best"] or None
    parts["history"].update({k: list(v) for k, v in state["history"].items()})
    parts["timer"].restored = tuple(state["seconds"])
    if parts["tracker"] is not None:
        parts["tracker"].restored = tuple(state["gini"] or ())
    return state


def train(
    images: Images,
    labels: Labels,
    *,
    validation: tuple[Images, Labels] | None = None,
    epochs: int = 30,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | Literal["balanced"] | None = None,
    early_stopping: int | None = None,
    reduce_lr: int | None = None,
    seed: int = 0,
    model: keras.Model | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: bool | None = None,
    gini: float | None = None,
    gini_layer: str = "logits",
    freeze: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train a DeepMir classifier with Adam and sparse cross-entropy.

    Parameters
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)`` training images (encoder output, unscaled).
    labels : np.ndarray
        ``int (N,)``: 1 = pre-miRNA, 0 = negative.
    validation : tuple of (images, labels), optional
        Validation images ``uint8 (V, 25, 100, 3)`` and labels ``int (V,)``, evaluated
        after each epoch. Default is None. Needed for ``early_stopping``.
    epochs : int, optional
        Most epochs to train. Default is 30.
    batch_size : int, optional
        Default is 128, as published.
    learning_rate : float, optional
        Adam's learning rate. Default is 1e-3, as published.
    class_weight : dict or "balanced", optional
        Loss weight of each class; ``"balanced"`` weighs each class by ``n / (2 n_c)``
        (for sets like deepMiRGene human, 863 positives to 7,422 negatives). The validation
        loss is weighted the same way, so early stopping follows the loss being trained.
        Default is None: every image weighs the same.
    early_stopping : int, optional
        Stop when the validation loss has not improved for this many epochs and keep the
        best epoch's weights. Default is None: train all ``epochs``.
    reduce_lr : int, optional
        Halve the learning rate when the validation loss has not improved for this many
        epochs (Keras ``ReduceLROnPlateau``, down to 1/64 of ``learning_rate``); the rate
        of each epoch is in the history as ``learning_rate``. Default is None: constant.
    seed : int, optional
        Seeds weight initialisation, dropout and shuffling (and Python's, NumPy's and
        TensorFlow's global generators, which Keras uses). Default is 0. The same seed
        gives the same model on the CPU.
    model : keras.Model, optional
        A model to start from (fine-tuning); it is copied, never changed. Default is None:
        ``build_model(seed=seed)``.
    callbacks : sequence of keras.callbacks.Callback, optional
        More Keras callbacks (checkpoints, say), run after mirnamap's own. Default is none.
    verbose : bool, optional
        Say which device trains and show a progress bar over epochs. Default is None: on
        a terminal only.
    gini : float, optional
        The Gini bottleneck (Henderson, Clevert & Montanari 2021, arXiv:2105.04854): add
        ``gini * sum_units (1 - Gini(|w_unit|))`` (:func:`gini_penalty`) of
        ``gini_layer``'s kernel to the loss, which pushes each output unit's input weights
        to be unequal (sparse). The reported ``loss`` and ``val_loss`` include it, and the
        history gains ``gini``: the mean Gini index of the layer after each epoch. The
        returned model carries no regularizer (it saves and loads like any other). 0 gives
        the same weights as None. Default is None: no penalty.
    gini_layer : {"logits", "dense"}, optional
        The layer penalised: ``"logits"`` (each logit's weights over the dense units, the
        paper's choice) or ``"dense"`` (each dense unit's weights over the flattened
        features). Default is "logits".
    freeze : {"conv"}, optional
        Keep these layers fixed: ``"conv"``, every convolution, so that only the dense
        layers learn (fine-tuning a ``model`` on few images). Their weights come out bit
        for bit as they went in; the returned model is trainable again (it saves and
        fine-tunes like any other). Default is None: every layer learns.
    checkpoint : path, optional
        A file (``.npz``) to which the whole state is written, atomically, after every
        epoch: every model variable (the dropout generators' seeds included), the
        optimizer's variables (step, learning rate, moments), the epoch, the
        early-stopping and learning-rate counters with the best weights so far, and the
        history. Default is None: no checkpoint.
    resume : bool, optional
        With ``checkpoint``: where the file exists, continue the run it holds from its
        last completed epoch (and do nothing more where it had finished). The arguments
        must be those of the interrupted run (a fingerprint of the data, the starting
        weights and the options is checked; ``ValueError`` otherwise). On the CPU the
        result is bit for bit that of an uninterrupted run. Default is False: a run
        starts afresh (and overwrites the file).

    Returns
    -------
    TrainResult
        The trained model and the per-epoch history.
    """
    import keras

    gini = _check_gini(gini, gini_layer)
    freeze = _check_freeze(freeze)
    if resume and checkpoint is None:
        raise ValueError("resume needs a checkpoint file")
    images = check_images(images)
    if model is None:
        keras.utils.set_random_seed(seed)
        model = build_model(seed=seed)
    else:
        check_model(model)
        keras.utils.set_random_seed(seed)
        model = copy_model(model)
    n_classes = int(model.outputs[0].shape[-1])
    labels = _check_labels(labels, images.shape[0], n_classes, "training set")
    if images.shape[0] == 0:
        raise ValueError("training set: no images")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    for name, value in (("early_stopping", early_stopping), ("reduce_lr", reduce_lr)):
        if value is not None and validation is None:
            raise ValueError(f"{name} needs validation data")
        if value is not None and int(value) < 1:
            raise ValueError(f"{name} must be >= 1 epoch or None, got {value}")
    if class_weight == "balanced":
        class_weight = balanced_class_weight(labels)
    elif isinstance(class_weight, str):
        raise ValueError(f"class_weight must be a dict, 'balanced' or None, got {class_weight!r}")
    elif class_weight is not None:
        class_weight = {int(k): float(v) for k, v in class_weight.items()}

    validation_data = None
    checked_validation = None
    if validation is not None:
        val_images, val_labels = validation
        val_images = check_images(val_images, "validation images")
        val_labels = _check_labels(val_labels, val_images.shape[0], n_classes, "validation set")
        checked_validation = (val_images, val_labels)
        # The validation loss is weighted like the training loss: with class weights, an
        # unweighted loss on an imbalanced set rises as the model learns to call the rare
        # class, and early stopping would keep the epochs that have not learnt it yet.
        val_weights = (
            None
            if class_weight is None
            else np.array([class_weight.get(int(y), 1.0) for y in val_labels], dtype=np.float32)
        )
        validation_data = _dataset(val_images, val_labels, max(batch_size, 256), val_weights)

    fingerprint = ""
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        options = {
            "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
            "class_weight": class_weight, "early_stopping": early_stopping,
            "reduce_lr": reduce_lr, "seed": seed, "gini": gini, "gini_layer": gini_layer,
            "freeze": freeze,
        }  # fmt: skip
        fingerprint = _fingerprint(images, labels, checked_validation, model, options)

    show = sys.stderr.isatty() if verbose is None else bool(verbose)
    if show:
        print(
            f"training on {device_name()}: {images.shape[0]} images, "
            f"{math.ceil(images.shape[0] / batch_size)} batches of {batch_size} per epoch",
            file=sys.stderr,
        )
    frozen = _conv_layers(model) if freeze == "conv" else []
    for layer in frozen:
        layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    timer = _epoch_timer()
    stopping, reducing = _resumable_callbacks(early_stopping, reduce_lr, learning_rate)
    tracker = None
    penalised = None
    if gini is not None:
        penalised = model.get_layer(gini_layer)
        if not isinstance(penalised, keras.layers.Dense):
            raise ValueError(f"gini_layer {gini_layer!r} is not a Dense layer of the model")
        tracker = _gini_tracker(penalised)
    history: dict[str, list[float]] = {}
    parts = {
        "timer": timer, "stopping": stopping, "reducing": reducing, "tracker": tracker,
        "history": history,
    }  # fmt: skip

    start = resumed = 0
    if resume and checkpoint is not None and checkpoint.is_file():
        state = _restore(checkpoint, fingerprint, model, parts)
        resumed = int(state["epochs_done"])
        # A run that early stopping ended runs no more epochs; Keras' on_train_end still
        # puts back the best epoch's weights.
        start = epochs if state["stopped"] else min(resumed, epochs)
    bar = _epoch_bar(epochs, show, initial=start)
    callbacks_: list[keras.callbacks.Callback] = [timer, bar]
    callbacks_ += [c for c in (stopping, reducing, tracker) if c is not None]
    # The recorder runs after ReduceLROnPlateau, which adds the epoch's learning rate to
    # the logs, and the checkpoint after every state it saves has been updated.
    callbacks_.append(_history_recorder(history))
    if checkpoint is not None:
        callbacks_.append(_checkpointer(checkpoint, fingerprint, parts))
    callbacks = [*callbacks_, *callbacks]

    data, steps = _training_stream(images, labels, batch_size, seed, epochs, start)
    try:
        # The penalty is set on the variable, not in the layer's config: the returned
        # model's file holds no custom regularizer, and the penalty is removed after.
        # lam = 0 adds nothing, so it trains exactly as no option does.
        if penalised is not None and gini > 0:
            penalised.kernel.regularizer = _gini_regularizer(gini)
        model.fit(
            data,
            epochs=epochs,
            initial_epoch=start,
            steps_per_epoch=steps,
            validation_data=validation_data,
            class_weight=class_weight,
            callbacks=callbacks,
            shuffle=False,  # the stream is shuffled, with the seed (epoch_orders)
            verbose=0,
        )
    finally:
        if penalised is not None:
            penalised.kernel.regularizer = None
        for layer in frozen:
            layer.trainable = True
    history["seconds"] = list(timer.seconds)
    if tracker is not None:
        history["gini"] = list(tracker.values)
    return TrainResult(model, history, resumed)
