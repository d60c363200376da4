"""SmoothGrad: average a backend's maps over noisy copies of each image.

A wrapper over *any* registered backend (Captum's ``NoiseTunnel``), with the squared
(SmoothGrad²) and variance (VarGrad) variants. ``smoothgrad_guided_backprop`` is the
project's headline method.

Noise: the same ``n_samples`` standard-normal draws (from ``seed``) are used for every
image, scaled by ``noise_level * value_range``. A map therefore depends only on its image,
the seed and the parameters, never on the batch or chunk it was computed in.

Refs. Smilkov, Thorat, Kim, Viégas & Wattenberg 2017, "SmoothGrad: removing noise by
adding noise", arXiv:1706.03825; Adebayo et al. 2018, "Local explanation methods for deep
neural networks lack sensitivity to parameter values" (VarGrad), arXiv:1810.03307.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE, check_batch_size, group_size
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import Backend, register, registered

__all__ = ["VARIANTS", "noise_tunnel", "sample_noise", "smoothgrad"]

#: Aggregations over the noisy samples.
VARIANTS = ("mean", "squared", "vargrad")


def sample_noise(shape: tuple[int, ...], n_samples: int, seed: int) -> npt.NDArray[np.float32]:
    """The standard-normal draws SmoothGrad adds (before scaling).

    Parameters
    ----------
    shape : tuple of int
        Shape of one image (H, W, C).
    n_samples : int
        Number of noisy copies.
    seed : int
        Seed.

    Returns
    -------
    numpy.ndarray of float32, shape (n_samples, H, W, C)

    Examples
    --------
    >>> sample_noise((2, 3, 1), 4, seed=0).shape
    (4, 2, 3, 1)
    >>> bool((sample_noise((2, 3, 1), 4, 0) == sample_noise((2, 3, 1), 4, 0)).all())
    True
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_samples, *shape), dtype=np.float32)


def _resolve_inner(inner: str | Backend) -> Backend:
    if callable(inner):
        return inner
    known = registered()
    if inner not in known:
        raise ValueError(f"unknown inner backend {inner!r}; known: {', '.join(sorted(known))}")
    return known[inner][0]


def smoothgrad(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    inner: str | Backend = "gradient",
    n_samples: int = 50,
    noise_level: float = 0.15,
    value_range: float = 255.0,
    variant: str = "mean",
    **inner_params: Any,
) -> Maps:
    """SmoothGrad over the backend ``inner``.

    Follows :class:`mirnamap.saliency.Backend`. Every image becomes ``n_samples``
    noisy copies ``x + noise_level * value_range * z`` (z standard normal, see
    :func:`sample_noise`); ``inner`` explains the copies in batches of ``batch_size`` and
    the maps are aggregated per image.

    Parameters
    ----------
    inner : str or backend, optional
        The wrapped backend, by name or as a function. Default is "gradient".
    n_samples : int, optional
        Noisy copies per image. Default is 50 (Smilkov et al. saw little change beyond 50).
    noise_level : float, optional
        Noise standard deviation as a fraction of ``value_range`` (Smilkov et al.'s
        sigma / (x_max - x_min)). Default is 0.15; 0 gives ``inner``'s own map.
    value_range : float, optional
        The input's range. Default is 255 (DeepMir's 0..255 images).
    variant : {"mean", "squared", "vargrad"}, optional
        Mean of the maps (SmoothGrad), mean of their squares (SmoothGrad²), or their
        variance (VarGrad). Default is "mean".
    **inner_params
        Passed to ``inner`` (e.g. ``reduce=None`` for per-channel maps).

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
        Or whatever shape ``inner`` gives per image.
    """
    backend = _resolve_inner(inner)
    batch_size = check_batch_size(batch_size)
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    if not np.isfinite(noise_level) or noise_level < 0:
        raise ValueError(f"noise_level must be a finite number >= 0, got {noise_level!r}")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    noise = sample_noise(x.shape[1:], int(n_samples), seed) * np.float32(noise_level * value_range)
    group = group_size(int(n_samples), batch_size)
    out: list[np.ndarray] = []
    for start in range(0, len(x), group):
        chunk = x[start : start + group]
        noisy = (chunk[:, None] + noise[None]).reshape(-1, *x.shape[1:])
        maps = backend(
            model,
            noisy,
            np.repeat(targets[start : start + group], n_samples),
            batch_size=batch_size,
            seed=seed,
            **inner_params,
        )
        maps = maps.reshape(len(chunk), n_samples, *maps.shape[1:])
        if variant == "mean":
            out.append(maps.mean(axis=1, dtype=np.float32))
        elif variant == "squared":
            out.append(np.square(maps).mean(axis=1, dtype=np.float32))
        else:
            out.append(maps.var(axis=1, dtype=np.float32))
    if not out:
        return np.zeros((0, *x.shape[1:-1]), np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


# The signature of a wrapped backend: SmoothGrad's, less what noise_tunnel fixes.
_TUNNEL_SIGNATURE = inspect.signature(smoothgrad).replace(
    parameters=[
        parameter
        for name, parameter in inspect.signature(smoothgrad).parameters.items()
        if name not in ("inner", "variant")
    ]
)


def noise_tunnel(inner: str | Backend, variant: str = "mean") -> Backend:
    """Wrap a backend with SmoothGrad: ``noise_tunnel("guided_backprop")`` (Captum style).

    Returns
    -------
    backend
        A function with the backend signature that takes SmoothGrad's options
        (``n_samples``, ``noise_level``, ``value_range``) and the inner backend's.
    """

    def wrapped(
        model: keras.Model,
        images: npt.ArrayLike,
        target: int | npt.ArrayLike | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        seed: int = 0,
        **params: Any,
    ) -> Maps:
        return smoothgrad(
            model,
            images,
            target,
            batch_size=batch_size,
            seed=seed,
            inner=inner,
            variant=variant,
            **params,
        )

    name = inner if isinstance(inner, str) else getattr(inner, "__name__", "backend")
    # Show SmoothGrad's own options (and their defaults) in help() and to the registry.
    wrapped.__signature__ = _TUNNEL_SIGNATURE  # type: ignore[attr-defined]
    wrapped.__name__ = f"smoothgrad_{name}" if variant == "mean" else f"{variant}_{name}"
    wrapped.__doc__ = f"SmoothGrad ({variant}) over {name}; options as :func:`smoothgrad`."
    return wrapped


def _register(name: str, function: Callable[..., Maps], reference: str) -> None:
    register(
        name,
        family="noise average",
        cost_param="n_samples",
        stochastic=True,
        baseline="no",
        reference=reference,
    )(function)


_SMOOTH = "Smilkov et al. 2017, arXiv:1706.03825"
_register("smoothgrad", smoothgrad, _SMOOTH)
_register("smoothgrad_squared", noise_tunnel("gradient", "squared"), _SMOOTH)
_register("vargrad", noise_tunnel("gradient", "vargrad"), "Adebayo et al. 2018, arXiv:1810.03307")
_register(
    "smoothgrad_guided_backprop",
    noise_tunnel("guided_backprop", "mean"),
    "Smilkov et al. 2017 over Springenberg et al. 2014",
)
