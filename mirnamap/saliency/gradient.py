"""Vanilla gradient: the derivative of the target logit with respect to every input pixel.

Ref. Simonyan, Vedaldi & Zisserman 2013, "Deep inside convolutional networks",
arXiv:1312.6034.
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

__all__ = ["gradient"]


@register(
    "gradient",
    family="gradient",
    passes="1",
    baseline="no",
    reference="Simonyan et al. 2013, arXiv:1312.6034",
)
def gradient(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    reduce: str | None = "sum",
) -> Maps:
    """Gradient of the target logit with respect to the image (0..255 scale).

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
    return reduce_channels(input_gradients(model, x, targets, batch_size=batch_size), reduce)
