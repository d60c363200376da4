"""Grad-CAM and Grad-CAM++: a conv layer's feature maps weighted by the target's gradients.

Weights are computed per example (never averaged over the batch), the class activation map
is ``ReLU(sum_k w_k A_k)`` as in the papers, and it is upsampled bilinearly to exactly the
input's height x width.

Refs. Selvaraju et al. 2017, "Grad-CAM", arXiv:1610.02391; Chattopadhay, Sarkar, Howlader &
Balasubramanian 2018, "Grad-CAM++", arXiv:1710.11063.
"""

from __future__ import annotations

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE
from mirnamap.saliency._gradients import layer_function
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import register

__all__ = ["cam_weights", "grad_cam", "grad_cam_plus_plus"]


def cam_weights(
    activations: npt.ArrayLike, gradients: npt.ArrayLike, method: str = "grad_cam"
) -> npt.NDArray[np.float32]:
    """Channel weights of Grad-CAM or Grad-CAM++ from activations and gradients.

    Parameters
    ----------
    activations, gradients : array_like, shape (N, h, w, K)
        The layer's feature maps and the target logit's gradients with respect to them.
    method : {"grad_cam", "grad_cam_plus_plus"}, optional
        Default is "grad_cam".

    Returns
    -------
    numpy.ndarray of float32, shape (N, K)
        Grad-CAM: the spatial mean of the gradients. Grad-CAM++: ``sum_ij alpha_ij
        ReLU(g_ij)`` with ``alpha = g^2 / (2 g^2 + sum_ab A_ab g^3)`` (Chattopadhay et al.
        eq. 19, with the score's exponential, a positive factor per image, left out).

    Examples
    --------
    >>> a = np.ones((1, 2, 2, 1)); g = np.full((1, 2, 2, 1), 3.0)
    >>> cam_weights(a, g).tolist()
    [[3.0]]
    """
    a = tf.convert_to_tensor(activations, tf.float32)
    g = tf.convert_to_tensor(gradients, tf.float32)
    return _weights(a, g, method).numpy()


def _weights(a: tf.Tensor, g: tf.Tensor, method: str) -> tf.Tensor:
    if method == "grad_cam":
        return tf.reduce_mean(g, axis=(1, 2))
    if method == "grad_cam_plus_plus":
        g2 = tf.square(g)
        g3 = g2 * g
        total = tf.reduce_sum(a, axis=(1, 2), keepdims=True)
        denominator = 2.0 * g2 + total * g3
        alpha = g2 / tf.where(denominator != 0.0, denominator, tf.ones_like(denominator))
        return tf.reduce_sum(alpha * tf.nn.relu(g), axis=(1, 2))
    raise ValueError(f"unknown CAM method {method!r}; known: grad_cam, grad_cam_plus_plus")


def _cam(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None,
    batch_size: int,
    layer: str | None,
    relu: bool,
    method: str,
) -> Maps:
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    function, _ = layer_function(model, layer, method)
    height, width = x.shape[1:3]
    out = np.empty(x.shape[:3], np.float32)
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        activations, gradients = function(
            tf.constant(x[start:stop]), tf.constant(targets[start:stop])
        )
        weights = _weights(activations, gradients, method)
        cam = tf.reduce_sum(activations * weights[:, None, None, :], axis=-1)
        if relu:
            cam = tf.nn.relu(cam)
        cam = tf.image.resize(cam[..., None], (height, width), method="bilinear")[..., 0]
        out[start:stop] = cam.numpy()
    return out


@register(
    "grad_cam",
    family="activation x gradient (CAM)",
    passes="1",
    baseline="no",
    reference="Selvaraju et al. 2017, arXiv:1610.02391",
)
def grad_cam(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    layer: str | None = None,
    relu: bool = True,
) -> Maps:
    """Grad-CAM map of the target logit, upsampled to the input size.

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused.

    Parameters
    ----------
    layer : str, optional
        Name of the convolution layer. Default is the last ``Conv2D`` (``"conv3b"`` in
        DeepMir, 5 x 24 feature maps).
    relu : bool, optional
        Apply the paper's ReLU to the weighted sum. Default is True.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    return _cam(model, images, target, batch_size, layer, relu, "grad_cam")


@register(
    "grad_cam_plus_plus",
    family="activation x gradient (CAM)",
    passes="1",
    baseline="no",
    reference="Chattopadhay et al. 2018, arXiv:1710.11063",
)
def grad_cam_plus_plus(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    layer: str | None = None,
    relu: bool = True,
) -> Maps:
    """Grad-CAM++ map of the target logit, upsampled to the input size.

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused. Options as
    :func:`grad_cam`; weights as :func:`cam_weights`.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    return _cam(model, images, target, batch_size, layer, relu, "grad_cam_plus_plus")
