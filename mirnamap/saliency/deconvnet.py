"""Deconvnet: the ReLU applied to the backward signal only.

Runs on a clone of the model whose ReLUs pass the positive part of the incoming gradient,
whatever the sign of their forward input (guided backpropagation also gates on the input).

Ref. Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks",
arXiv:1311.2901.
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

__all__ = ["deconvnet"]


@register(
    "deconvnet",
    family="modified gradient",
    passes="1",
    baseline="no",
    reference="Zeiler & Fergus 2014, arXiv:1311.2901",
)
def deconvnet(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    reduce: str | None = "sum",
) -> Maps:
    """Deconvnet map of the target logit.

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
    grads = input_gradients(model, x, targets, batch_size=batch_size, policy="deconvnet")
    return reduce_channels(grads, reduce)
