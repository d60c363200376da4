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

Its parts live in modules of their own, and every name exported here still is: the data
(:mod:`mirnamap.train_data`), the callbacks (:mod:`mirnamap.train_callbacks`), the
checkpoint (:mod:`mirnamap.train_checkpoint`) and the Gini bottleneck
(:mod:`mirnamap.gini`).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np

from mirnamap.gini import (
    GINI_LAYERS,
    check_gini,
    gini_index,
    gini_penalty,
    gini_regularizer,
    gini_tracker,
    mass_count,
)
from mirnamap.model import build_model, check_images, check_model, copy_model
from mirnamap.train_callbacks import (
    epoch_bar,
    epoch_timer,
    history_recorder,
    resumable_callbacks,
)
from mirnamap.train_checkpoint import (
    checkpointer,
    read_checkpoint_state,
    restore,
    run_fingerprint,
)
from mirnamap.train_data import (
    balanced_class_weight,
    check_labels,
    dataset,
    epoch_orders,
    stratified_split,
    training_stream,
)

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

#: What ``train(freeze=...)`` can keep fixed: ``"conv"``, every convolution (kernels and
#: biases), so that only the dense layers learn.
FREEZE = ("conv",)


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


def _check_freeze(freeze: str | None) -> str | None:
    if freeze is None or freeze in FREEZE:
        return freeze
    raise ValueError(f"freeze must be one of {', '.join(FREEZE)} or None, got {freeze!r}")


def _conv_layers(model: keras.Model) -> list[keras.layers.Layer]:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


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

    gini = check_gini(gini, gini_layer)
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
    labels = check_labels(labels, images.shape[0], n_classes, "training set")
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
        val_labels = check_labels(val_labels, val_images.shape[0], n_classes, "validation set")
        checked_validation = (val_images, val_labels)
        # The validation loss is weighted like the training loss: with class weights, an
        # unweighted loss on an imbalanced set rises as the model learns to call the rare
        # class, and early stopping would keep the epochs that have not learnt it yet.
        val_weights = (
            None
            if class_weight is None
            else np.array([class_weight.get(int(y), 1.0) for y in val_labels], dtype=np.float32)
        )
        validation_data = dataset(val_images, val_labels, max(batch_size, 256), val_weights)

    fingerprint = ""
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        options = {
            "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
            "class_weight": class_weight, "early_stopping": early_stopping,
            "reduce_lr": reduce_lr, "seed": seed, "gini": gini, "gini_layer": gini_layer,
            "freeze": freeze,
        }  # fmt: skip
        fingerprint = run_fingerprint(images, labels, checked_validation, model, options)

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
    timer = epoch_timer()
    stopping, reducing = resumable_callbacks(early_stopping, reduce_lr, learning_rate)
    tracker = None
    penalised = None
    if gini is not None:
        penalised = model.get_layer(gini_layer)
        if not isinstance(penalised, keras.layers.Dense):
            raise ValueError(f"gini_layer {gini_layer!r} is not a Dense layer of the model")
        tracker = gini_tracker(penalised)
    history: dict[str, list[float]] = {}
    parts = {
        "timer": timer, "stopping": stopping, "reducing": reducing, "tracker": tracker,
        "history": history,
    }  # fmt: skip

    start = resumed = 0
    if resume and checkpoint is not None and checkpoint.is_file():
        state = restore(checkpoint, fingerprint, model, parts)
        resumed = int(state["epochs_done"])
        # A run that early stopping ended runs no more epochs; Keras' on_train_end still
        # puts back the best epoch's weights.
        start = epochs if state["stopped"] else min(resumed, epochs)
    bar = epoch_bar(epochs, show, initial=start)
    callbacks_: list[keras.callbacks.Callback] = [timer, bar]
    callbacks_ += [c for c in (stopping, reducing, tracker) if c is not None]
    # The recorder runs after ReduceLROnPlateau, which adds the epoch's learning rate to
    # the logs, and the checkpoint after every state it saves has been updated.
    callbacks_.append(history_recorder(history))
    if checkpoint is not None:
        callbacks_.append(checkpointer(checkpoint, fingerprint, parts))
    callbacks = [*callbacks_, *callbacks]

    data, steps = training_stream(images, labels, batch_size, seed, epochs, start)
    try:
        # The penalty is set on the variable, not in the layer's config: the returned
        # model's file holds no custom regularizer, and the penalty is removed after.
        # lam = 0 adds nothing, so it trains exactly as no option does.
        if penalised is not None and gini > 0:
            penalised.kernel.regularizer = gini_regularizer(gini)
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
