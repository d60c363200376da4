"""Guided backpropagation: ReLU gradients gated by the forward input and the backward signal.

Runs on a clone of the model whose ReLUs (fused activations and separate layers) pass a
gradient only where the ReLU's input and the incoming gradient are both positive.

Ref. Springenberg, Dosovitskiy, Brox & Riedmiller 2014, "Striving for simplicity: the all
convolutional net", arXiv:1412.6806.
"""

from __future__ import annotations

import keras
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._common import (
    BATCH_SIZE,
    as_images,
    input_gradients,
    reduce_channels,
    register,
    resolve_targets,
)

__all__ = ["guided_backprop"]


@register(
    "guided_backprop",
    family="modified gradient",
    passes="1",
    baseline="no",
    reference="Springenberg et al. 2014, arXiv:1412.6806",
)
def guided_backprop(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    reduce: str | None = "sum",
) -> Maps:
    """Guided-backpropagation map of the target logit.

    Follows :class:`mirnamap.saliency._common.Backend`; ``seed`` is unused.

    Parameters
    ----------
    reduce : {"sum", "mean", "max_abs", None}, optional
        Channel reduction; None keeps ``(N, H, W, C)``. Default is "sum".

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    x = as_images(model, images)
    targets = resolve_targets(model, x, target, batch_size)
    grads = input_gradients(model, x, targets, batch_size=batch_size, policy="guided")
    return reduce_channels(grads, reduce)
