"""Gradient x input: the gradient scaled by the pixel values.

Ref. Shrikumar, Greenside, Shcherbina & Kundaje 2016, "Not just a black box",
arXiv:1605.01713.
"""

from __future__ import annotations

import keras
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE
from mirnamap.saliency._gradients import input_gradients, reduce_channels
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import register

__all__ = ["gradient_x_input"]


@register(
    "gradient_x_input",
    family="gradient",
    passes="1",
    baseline="no (implicitly 0 = black)",
    reference="Shrikumar et al. 2016, arXiv:1605.01713",
)
def gradient_x_input(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    reduce: str | None = "sum",
) -> Maps:
    """Gradient of the target logit times the image (both on the 0..255 scale).

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused. The implicit
    reference is 0 (black): on the white (255) canvas of a hairpin image, background pixels
    get the largest factors.

    Parameters
    ----------
    reduce : {"sum", "mean", "max_abs", None}, optional
        Channel reduction; None keeps ``(N, H, W, C)``. Default is "sum".

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    grads = input_gradients(model, x, targets, batch_size=batch_size)
    return reduce_channels(grads * x, reduce)
