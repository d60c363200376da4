"""The models a backend differentiates: what is explained (the target class's logit,
:func:`logits_model`), ReLU gradients overridden on a *clone* of the model
(:func:`override_relu`), and the per-model cache of clones and traced functions
(:func:`cached`).

The caller's model is never modified: the logit model is a new ``keras.Model`` over the
caller's layers (calling it changes nothing), and modified-gradient models are clones whose
weights are copied from the caller's model before every use, so a model trained after a
first explanation is explained with its new weights.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from mirnamap.precision import SyncedCopy

__all__ = [
    "cached",
    "input_shape",
    "logits_model",
    "override_relu",
]


def input_shape(model: keras.Model) -> tuple[int, ...]:
    """Shape of one input image of ``model`` (without the batch axis)."""
    if len(model.inputs) != 1:
        raise TypeError(f"model {model.name!r} has {len(model.inputs)} inputs; saliency needs one")
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3 or any(dim is None for dim in shape):
        raise TypeError(
            f"model {model.name!r} takes inputs of shape {shape}; saliency needs fixed "
            "(height, width, channels) images"
        )
    return shape  # type: ignore[return-value]


# One entry per caller's model: traced functions and clones, so that repeated calls (and
# the chunks of explain) neither rebuild nor retrace. Weak keys: a model that is no longer
# used is not kept alive by the cache.
_CACHE: weakref.WeakKeyDictionary[keras.Model, dict[Any, Any]] = weakref.WeakKeyDictionary()


def cached(model: keras.Model, key: Any, factory: Callable[[], Any]) -> Any:
    """``factory()``, built once per (model, key) and kept while the model lives."""
    entry = _CACHE.setdefault(model, {})
    if key not in entry:
        entry[key] = factory()
    return entry[key]


def _is_softmax(activation: Any) -> bool:
    return activation is keras.activations.softmax or activation is tf.nn.softmax


def _is_relu(activation: Any) -> bool:
    return activation in (keras.activations.relu, tf.nn.relu, keras.ops.relu)


def logits_model(model: keras.Model, logit_layer: str = "logits") -> keras.Model:
    """The model cut at its logits: a new ``keras.Model`` over the caller's layers.

    The layer named ``logit_layer`` if there is one; else the input of a final ``Softmax``
    layer or ``Activation("softmax")``; else a clone whose final fused softmax is linear;
    else the model's own output (taken to be logits already).

    Returns
    -------
    keras.Model
        Input as ``model``'s; output ``(N, n_classes)`` logits.
    """

    def build() -> keras.Model:
        input_shape(model)
        names = {layer.name for layer in model.layers}
        if logit_layer in names:
            output = model.get_layer(logit_layer).output
            return keras.Model(model.inputs, output, name=f"{model.name}_logits")
        last = model.layers[-1]
        if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)
        ):
            return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
        if _is_softmax(getattr(last, "activation", None)):
            return _clone(model, lambda layer: layer is last, "linear")
        return model

    built = cached(model, ("logits", logit_layer), build)
    if isinstance(built, SyncedCopy):
        built.sync()
        return built.model
    return built


@tf.custom_gradient
def _positive_gradient(outputs: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """Identity forward; passes only the positive part of the gradient backward."""

    def grad(upstream: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(upstream)

    return tf.identity(outputs), grad


@tf.custom_gradient
def _deconvnet_relu(inputs: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """ReLU forward; backward the positive part of the gradient, whatever the input."""

    def grad(upstream: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(upstream)

    return tf.nn.relu(inputs), grad


def _guided_relu(inputs: tf.Tensor) -> tf.Tensor:
    """ReLU whose gradient is ``relu(upstream) * (inputs > 0)`` (Springenberg et al.).

    Written as the ordinary ReLU followed by a positive-gradient identity: the ReLU's own
    gradient supplies the forward gate, and the ReLU stays fusable with the convolution
    before it (a custom-gradient ReLU would break that fusion and run slower).
    """
    return _positive_gradient(tf.nn.relu(inputs))


def _make_relu(policy: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """A ReLU whose backward pass follows ``policy`` ("guided" or "deconvnet")."""
    if policy == "guided":
        return _guided_relu
    if policy == "deconvnet":
        # Zeiler & Fergus: the ReLU acts on the backward signal only.
        return _deconvnet_relu
    raise ValueError(f"unknown ReLU policy {policy!r}; known: guided, deconvnet")


class _PolicyReLU(keras.layers.Layer):
    """Stands in for a ``ReLU`` or ``Activation("relu")`` layer in a clone."""

    def __init__(self, policy: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self._relu = _make_relu(policy)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._relu(inputs)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "policy": self.policy}


def _clone(
    model: keras.Model, select: Callable[[keras.layers.Layer], bool], policy: str
) -> SyncedCopy:
    """Clone ``model``, giving the selected layers a linear activation or a policy ReLU."""

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        if not select(layer):
            return layer.__class__.from_config(layer.get_config())
        if policy == "linear":
            new = layer.__class__.from_config(layer.get_config())
            new.activation = keras.activations.linear
            return new
        if isinstance(layer, keras.layers.ReLU):
            config = layer.get_config()
            if (
                config.get("max_value") is not None
                or config.get("negative_slope", 0)
                or config.get("threshold", 0)
            ):
                raise ValueError(
                    f"layer {layer.name!r} is a ReLU with max_value/negative_slope/threshold; "
                    "only plain ReLUs can be overridden"
                )
            # The layer's own dtype policy: a ReLU of a reduced-precision copy stays so.
            return _PolicyReLU(policy, name=layer.name, dtype=layer.dtype_policy)
        if isinstance(layer, keras.layers.Activation):
            return _PolicyReLU(policy, name=layer.name, dtype=layer.dtype_policy)
        new = layer.__class__.from_config(layer.get_config())
        new.activation = _make_relu(policy)
        return new

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise TypeError(
                f"model {model.name!r} nests the model {layer.name!r}; flatten it before "
                "explaining with modified gradients"
            )
    clone = keras.models.clone_model(model, clone_function=clone_layer)
    return SyncedCopy.of(model, clone, "cloning")


def _selects_relu(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return True
    return _is_relu(getattr(layer, "activation", None))


def override_relu(model: keras.Model, policy: str) -> keras.Model:
    """A clone of ``model``'s logit model whose every ReLU has the ``policy`` gradient.

    Fused ``activation="relu"`` (Conv2D, Dense, ...) and separate ``ReLU`` and
    ``Activation("relu")`` layers are all replaced; the forward pass is unchanged. The clone
    is cached and its weights re-copied from ``model`` on every call.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier (never modified).
    policy : {"guided", "deconvnet"}
        Guided backpropagation (Springenberg et al. 2014) or deconvnet (Zeiler & Fergus
        2014) gradients.

    Returns
    -------
    keras.Model
        Same inputs; output the logits.
    """
    clone = cached(
        model, ("override", policy), lambda: _clone(logits_model(model), _selects_relu, policy)
    )
    clone.sync()
    return clone.model
