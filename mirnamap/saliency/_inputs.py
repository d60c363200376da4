"""How inputs and targets are checked (:func:`as_images`, :func:`resolve_targets`), and
the preamble every backend starts from (:func:`backend_inputs`).
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from mirnamap.saliency._batches import BATCH_SIZE, batches, check_batch_size
from mirnamap.saliency._gradients import logits_function
from mirnamap.saliency._models import input_shape, logits_model

__all__ = [
    "BackendInputs",
    "as_images",
    "as_targets",
    "backend_inputs",
    "resolve_targets",
]


def as_images(model: keras.Model, images: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Check ``images`` against ``model``'s input and return them as float32.

    Parameters
    ----------
    model : keras.Model
        The classifier.
    images : array_like, shape (N, H, W, C)
        Integer or float images.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W, C)

    Raises
    ------
    TypeError
        If the images are not numeric.
    ValueError
        If their shape does not match the model's input, or an image holds NaN or inf.
    """
    array = np.asarray(images)
    if array.dtype.kind not in "uif" and array.dtype != np.bool_:
        raise TypeError(f"images must be numeric arrays, got dtype {array.dtype}")
    expected = input_shape(model)
    if array.ndim != 4 or tuple(array.shape[1:]) != expected:
        raise ValueError(
            f"images have shape {array.shape}; model {model.name!r} needs (N, {expected[0]}, "
            f"{expected[1]}, {expected[2]})"
        )
    array = array.astype(np.float32, copy=False)
    if array.dtype.kind == "f":
        finite = np.isfinite(array).all(axis=(1, 2, 3))
        if not finite.all():
            raise ValueError(f"image {int(np.argmin(finite))} holds NaN or inf values")
    return array


def as_targets(target: int | npt.ArrayLike, n_images: int, n_classes: int) -> npt.NDArray[np.int32]:
    """Broadcast and check explicit targets.

    Parameters
    ----------
    target : int or array_like of int, shape (N,)
        Class index for every image, or one per image.
    n_images, n_classes : int
        Number of images and of logits.

    Returns
    -------
    numpy.ndarray of int32, shape (N,)
    """
    array = np.asarray(target)
    if array.dtype.kind not in "iu":
        raise TypeError(f"target must be an int or an array of ints, got dtype {array.dtype}")
    if array.ndim == 0:
        array = np.full(n_images, int(array))
    if array.shape != (n_images,):
        raise ValueError(
            f"target has shape {array.shape}; expected one class per image ({n_images},)"
        )
    bad = (array < 0) | (array >= n_classes)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"target {int(array[first])} of image {first} is not a class index in [0, {n_classes})"
        )
    return array.astype(np.int32)


def resolve_targets(
    model: keras.Model,
    images: npt.NDArray[np.float32],
    target: int | npt.ArrayLike | None,
    batch_size: int = BATCH_SIZE,
) -> npt.NDArray[np.int32]:
    """Targets for ``images``: the predicted class (largest logit) when ``target`` is None.

    Returns
    -------
    numpy.ndarray of int32, shape (N,)
    """
    n_classes = int(logits_model(model).outputs[0].shape[-1])
    if target is not None:
        return as_targets(target, len(images), n_classes)
    if len(images) == 0:
        return np.zeros(0, np.int32)
    function = logits_function(model)
    logits = np.concatenate(
        [function(tf.constant(batch)).numpy() for batch in batches(images, batch_size)]
    )
    return np.argmax(logits, axis=1).astype(np.int32)


class BackendInputs(NamedTuple):
    """What every backend starts from (:func:`backend_inputs`).

    Attributes
    ----------
    images : numpy.ndarray of float32, shape (N, H, W, C)
        The images, checked against the model's input.
    targets : numpy.ndarray of int32, shape (N,)
        The explained class of each image (its predicted class where none was given).
    batch_size : int
        Checked to be a positive int.
    """

    images: npt.NDArray[np.float32]
    targets: npt.NDArray[np.int32]
    batch_size: int


def backend_inputs(
    model: keras.Model, images: npt.ArrayLike, target: int | npt.ArrayLike | None, batch_size: int
) -> BackendInputs:
    """The preamble of every backend, written once: the images checked and as float32,
    the batch size checked, and the targets resolved (:func:`resolve_targets`).

    Raises
    ------
    TypeError, ValueError
        For images the model cannot read, a bad batch size or a bad target.
    """
    x = as_images(model, images)
    batch_size = check_batch_size(batch_size)
    return BackendInputs(x, resolve_targets(model, x, target, batch_size), batch_size)
