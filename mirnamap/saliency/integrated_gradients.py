"""Integrated gradients: the gradient averaged along a straight path from a baseline.

Ref. Sundararajan, Taly & Yan 2017, "Axiomatic attribution for deep networks",
arXiv:1703.01365. Blurred baseline: Sturmfels, Lundberg & Lee 2020, "Visualizing the
impact of feature attribution baselines", Distill.
"""

from __future__ import annotations

import keras
import numpy as np
import numpy.typing as npt
from scipy.ndimage import gaussian_filter

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE, group_size
from mirnamap.saliency._gradients import input_gradients, reduce_channels
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import register

__all__ = ["METHODS", "integrated_gradients", "make_baseline", "path_points"]

#: Quadrature rules for the path integral.
METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def path_points(steps: int, quadrature: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Positions on the path (0 = baseline, 1 = image) and quadrature weights.

    Parameters
    ----------
    steps : int
        Number of points (gradient passes).
    quadrature : str, optional
        One of :data:`METHODS`. Default is "gausslegendre".

    Returns
    -------
    alphas, weights : numpy.ndarray of float64, shape (steps,)
        The weights sum to 1.

    Examples
    --------
    >>> alphas, weights = path_points(4, "riemann_middle")
    >>> alphas.tolist(), weights.tolist()
    ([0.125, 0.375, 0.625, 0.875], [0.25, 0.25, 0.25, 0.25])
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if quadrature == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(int(steps))
        return (nodes + 1.0) / 2.0, weights / 2.0
    uniform = np.full(steps, 1.0 / steps)
    if quadrature == "riemann_left":
        return np.arange(steps) / steps, uniform
    if quadrature == "riemann_right":
        return np.arange(1, steps + 1) / steps, uniform
    if quadrature == "riemann_middle":
        return (np.arange(steps) + 0.5) / steps, uniform
    if quadrature == "riemann_trapezoid":
        if steps < 2:
            raise ValueError("riemann_trapezoid needs steps >= 2")
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2.0
        return np.linspace(0.0, 1.0, steps), weights
    raise ValueError(f"unknown quadrature {quadrature!r}; known: {', '.join(METHODS)}")


def make_baseline(
    images: npt.NDArray[np.float32],
    baseline: str | float | npt.ArrayLike,
    *,
    blur_sigma: float = 5.0,
    white: float = 255.0,
) -> npt.NDArray[np.float32]:
    """The baseline of every image.

    Parameters
    ----------
    images : numpy.ndarray of float32, shape (N, H, W, C)
    baseline : {"white", "black", "blurred"}, float or array_like
        "white": the empty canvas (``white``, 255); "black": 0; "blurred": each image
        Gaussian-blurred over height and width; a number: a constant image; an array of
        shape (H, W, C) or (N, H, W, C).
    blur_sigma : float, optional
        Standard deviation (pixels) of the blur. Default is 5.
    white : float, optional
        Value of the white canvas. Default is 255.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W, C)
    """
    if isinstance(baseline, str):
        if baseline == "white":
            return np.full_like(images, white)
        if baseline == "black":
            return np.zeros_like(images)
        if baseline == "blurred":
            return gaussian_filter(images, sigma=(0, blur_sigma, blur_sigma, 0)).astype(np.float32)
        raise ValueError(
            f"unknown baseline {baseline!r}; known: white, black, blurred, or an array"
        )
    array = np.asarray(baseline, dtype=np.float32)
    try:
        return np.broadcast_to(array, images.shape).astype(np.float32)
    except ValueError:
        raise ValueError(
            f"baseline of shape {array.shape} does not broadcast to the images {images.shape}"
        ) from None


@register(
    "integrated_gradients",
    family="path integral",
    cost_param="steps",
    baseline="yes (white canvas, black, blurred, or given)",
    reference="Sundararajan et al. 2017, arXiv:1703.01365",
)
def integrated_gradients(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    steps: int = 50,
    baseline: str | float | npt.ArrayLike = "white",
    quadrature: str = "gausslegendre",
    blur_sigma: float = 5.0,
    reduce: str | None = "sum",
) -> Maps:
    """Integrated gradients of the target logit.

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused. The
    attributions of an image sum (over pixels and channels) to ``logit(x) -
    logit(baseline)`` up to the quadrature error (completeness).

    Parameters
    ----------
    steps : int, optional
        Points on the path. Default is 50.
    baseline : {"white", "black", "blurred"}, float or array_like, optional
        See :func:`make_baseline`. Default is "white", the empty canvas of a hairpin image.
    quadrature : str, optional
        One of :data:`METHODS`. Default is "gausslegendre" (as Captum's default).
    blur_sigma : float, optional
        Blur of the "blurred" baseline, in pixels. Default is 5.
    reduce : {"sum", "mean", "max_abs", None}, optional
        Channel reduction; None keeps ``(N, H, W, C)``. Default is "sum".

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    alphas, weights = path_points(steps, quadrature)
    alphas = alphas.astype(np.float32)[None, :, None, None, None]
    weights = weights.astype(np.float32)
    starts = make_baseline(x, baseline, blur_sigma=blur_sigma)
    group = group_size(len(weights), batch_size)
    out = np.empty(x.shape, np.float32)
    for start in range(0, len(x), group):
        image, base = x[start : start + group], starts[start : start + group]
        delta = image - base
        points = (base[:, None] + alphas * delta[:, None]).reshape(-1, *x.shape[1:])
        grads = input_gradients(
            model,
            points,
            np.repeat(targets[start : start + group], len(weights)),
            batch_size=batch_size,
        ).reshape(len(image), len(weights), *x.shape[1:])
        out[start : start + group] = np.tensordot(weights, grads, axes=([0], [1])) * delta
    return reduce_channels(out, reduce)
