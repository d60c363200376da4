"""Gradients and logits computed in batches, with one traced ``tf.function`` per model
(:func:`input_gradients`, :func:`target_logits`, :func:`layer_function`), and the channel
reductions of per-channel maps (:func:`reduce_channels`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from mirnamap.saliency._batches import BATCH_SIZE, batches, check_batch_size
from mirnamap.saliency._models import cached, input_shape, logits_model, override_relu

__all__ = [
    "REDUCTIONS",
    "input_gradients",
    "layer_function",
    "logits_function",
    "reduce_channels",
    "target_logits",
]


def _spec(model: keras.Model) -> tf.TensorSpec:
    return tf.TensorSpec((None, *input_shape(model)), tf.float32)


def logits_function(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """Traced ``images (B, H, W, C) float32 -> logits (B, n_classes)`` of ``model``."""

    def build() -> Callable[[tf.Tensor], tf.Tensor]:
        net = logits_model(model)

        @tf.function(input_signature=[_spec(model)])
        def logits(images: tf.Tensor) -> tf.Tensor:
            return tf.cast(net(images, training=False), tf.float32)

        return logits

    return cached(model, ("logits_function",), build)


def target_logits(
    model: keras.Model,
    images: npt.NDArray[np.float32],
    targets: npt.NDArray[np.int32],
    batch_size: int = BATCH_SIZE,
) -> npt.NDArray[np.float32]:
    """The target logit of every image, in batches.

    Returns
    -------
    numpy.ndarray of float32, shape (N,)
    """
    function = logits_function(model)
    out = [
        function(tf.constant(batch)).numpy()
        for batch in batches(images, check_batch_size(batch_size))
    ]
    if not out:
        return np.zeros(0, np.float32)
    logits = np.concatenate(out)
    return logits[np.arange(len(logits)), targets].astype(np.float32)


def _gradient_function(model: keras.Model, policy: str | None) -> Callable[..., tf.Tensor]:
    def build() -> Callable[..., tf.Tensor]:
        net = logits_model(model) if policy is None else override_relu(model, policy)

        @tf.function(input_signature=[_spec(model), tf.TensorSpec((None,), tf.int32)])
        def gradient(images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits = net(images, training=False)
                # Each image's score depends on that image only (inference mode), so the
                # gradient of the sum is the per-image gradient.
                score = tf.cast(tf.gather(logits, targets, axis=1, batch_dims=1), tf.float32)
            # float32 whatever the model's precision: maps are summed in float32.
            return tf.cast(tape.gradient(score, images), tf.float32)

        return gradient

    return cached(model, ("gradient", policy), build)


def input_gradients(
    model: keras.Model,
    images: npt.NDArray[np.float32],
    targets: npt.NDArray[np.int32],
    *,
    batch_size: int = BATCH_SIZE,
    policy: str | None = None,
) -> npt.NDArray[np.float32]:
    """Gradients of the target logits with respect to the input images, in batches.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier (never modified).
    images : numpy.ndarray of float32, shape (N, H, W, C)
        Checked images (see :func:`as_images`).
    targets : numpy.ndarray of int32, shape (N,)
        Class per image.
    batch_size : int, optional
        Images per pass. Default is 64.
    policy : {None, "guided", "deconvnet"}, optional
        ReLU backward rule; None is the true gradient. Default is None.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W, C)
    """
    batch_size = check_batch_size(batch_size)
    if policy is not None:
        override_relu(model, policy)  # re-copies the weights into the cached clone
    function = _gradient_function(model, policy)
    out = np.empty(images.shape, np.float32)
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        out[start:stop] = function(
            tf.constant(images[start:stop]), tf.constant(targets[start:stop])
        ).numpy()
    return out


def layer_function(
    model: keras.Model, layer: str | None, kind: str
) -> tuple[Callable[..., Any], str]:
    """Traced ``(images, targets) -> (activations, gradients)`` of a conv layer.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier.
    layer : str or None
        Name of the layer; None is the last layer with a 4-D output that is a convolution.
    kind : str
        Cache key (the caller's method).

    Returns
    -------
    function, str
        The traced function and the layer's name.
    """
    net = logits_model(model)
    if layer is None:
        convolutions = [
            candidate
            for candidate in net.layers
            if isinstance(candidate, keras.layers.Conv2D) and len(candidate.output.shape) == 4
        ]
        if not convolutions:
            raise ValueError(f"model {model.name!r} has no Conv2D layer; name one with layer=")
        layer = convolutions[-1].name
    names = [candidate.name for candidate in net.layers]
    if layer not in names:
        raise ValueError(f"model {model.name!r} has no layer {layer!r}; layers: {', '.join(names)}")
    if len(net.get_layer(layer).output.shape) != 4:
        raise ValueError(f"layer {layer!r} does not give (N, h, w, channels) feature maps")

    def build() -> Callable[..., Any]:
        two = keras.Model(net.inputs, [net.get_layer(layer).output, net.outputs[0]])

        @tf.function(input_signature=[_spec(model), tf.TensorSpec((None,), tf.int32)])
        def activations_and_gradients(images: tf.Tensor, targets: tf.Tensor) -> Any:
            with tf.GradientTape() as tape:
                activations, logits = two(images, training=False)
                score = tf.cast(tf.gather(logits, targets, axis=1, batch_dims=1), tf.float32)
            gradients = tape.gradient(score, activations)
            # float32 whatever the model's precision: the CAM weights are summed in float32.
            return tf.cast(activations, tf.float32), tf.cast(gradients, tf.float32)

        return activations_and_gradients

    return cached(model, ("layer", kind, layer), build), layer


#: Channel reductions a backend may apply to its per-channel map.
REDUCTIONS = ("sum", "mean", "max_abs")


def reduce_channels(maps: np.ndarray, reduce: str | None) -> np.ndarray:
    """Reduce per-channel maps ``(N, H, W, C)`` to ``(N, H, W)``.

    ``"sum"`` (default of every backend: keeps completeness, since a logit's first-order
    change is the sum over channels), ``"mean"``, ``"max_abs"`` (the signed value of largest
    magnitude), or None to keep the channels.
    """
    if reduce is None:
        return maps.astype(np.float32, copy=False)
    if reduce == "sum":
        return maps.sum(axis=-1, dtype=np.float32)
    if reduce == "mean":
        return maps.mean(axis=-1, dtype=np.float32)
    if reduce == "max_abs":
        index = np.abs(maps).argmax(axis=-1)[..., None]
        return np.take_along_axis(maps, index, axis=-1)[..., 0].astype(np.float32)
    raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)} or None, got {reduce!r}")
