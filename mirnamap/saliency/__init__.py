"""Saliency maps for the hairpin classifier: one registry of batched, tested backends.

Every backend explains the target class's **logit** (never the softmax) with one signature
(:class:`~mirnamap.saliency.Backend`) and returns raw signed float32 maps of shape
``(N, H, W)`` at input resolution::

    from mirnamap.saliency import explain, list_backends
    maps = explain(model, images)                          # gradient x input
    maps = explain(model, images, "integrated_gradients", target=1, steps=64)

The caller's model is never modified (modified-gradient methods run on clones). TensorFlow
places the work on a GPU when one is present. ``precision="bfloat16"`` (or "float16" on a
GPU) runs every pass on a reduced-precision copy of the model and sums the maps in float32;
:func:`offered_precisions` says for which backends that was validated against float32.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import keras
import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from mirnamap._typing import Maps
from mirnamap.precision import PRECISIONS, PrecisionWarning
from mirnamap.saliency import (  # noqa: F401  (importing a backend registers it)
    grad_cam,
    gradient,
    gradient_x_input,
    integrated_gradients,
    occlusion,
    shap,
    smoothgrad,
)
from mirnamap.saliency._batches import BATCH_SIZE, check_batch_size
from mirnamap.saliency._gradients import input_gradients, reduce_channels
from mirnamap.saliency._inputs import as_images, resolve_targets
from mirnamap.saliency._models import logits_model, override_relu
from mirnamap.saliency._precision import (
    VALIDATED_PRECISIONS,
    at_precision,
    offered_precisions,
    precision_backends,
)
from mirnamap.saliency._registry import Backend, BackendInfo, backend_info, registered
from mirnamap.saliency._sharing import share_samples
from mirnamap.saliency.smoothgrad import noise_tunnel

__all__ = [
    "DEFAULT_METHOD",
    "IMAGES_PER_CHUNK",
    "PRECISIONS",
    "VALIDATED_PRECISIONS",
    "Backend",
    "BackendInfo",
    "PrecisionWarning",
    "backend_info",
    "check_batch_size",
    "cost_params",
    "explain",
    "get_backend",
    "input_gradients",
    "list_backends",
    "logits_model",
    "noise_tunnel",
    "offered_precisions",
    "override_relu",
    "precision_backends",
    "reduce_channels",
    "share_samples",
]

#: The default method: the one the measurements recommend for reading which nucleotides
#: push a hairpin towards or against the pre-miRNA call (benchmark, sanity, stability
#: across members, cost; ``experiments/results/choosing_a_method.md``).
DEFAULT_METHOD = "gradient_x_input"
#: Smallest number of images per chunk of :func:`explain` (one step of its progress bar).
IMAGES_PER_CHUNK = 64


def list_backends() -> list[str]:
    """Names of the registered backends, sorted.

    Examples
    --------
    >>> "smoothgrad_guided_backprop" in list_backends()
    True
    """
    return sorted(registered())


def get_backend(name: str) -> Backend:
    """The backend registered as ``name``.

    Raises
    ------
    ValueError
        If no backend has that name (the message lists the known ones).

    Examples
    --------
    >>> get_backend("gradient").__name__
    'gradient'
    """
    known = registered()
    if name not in known:
        raise ValueError(f"unknown saliency backend {name!r}; known: {', '.join(sorted(known))}")
    return known[name][0]


def cost_params(value: int, names: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """The option that sets the cost of every backend that has one, set to ``value``.

    For configs and benchmarks that run every backend with fewer (or more) noisy samples,
    path steps or SHAP samples than their defaults; the option's name comes from the
    registry (:attr:`BackendInfo.cost_param`).

    Parameters
    ----------
    value : int
        Passes per map, e.g. 8 for a quick run.
    names : iterable of str, optional
        Backends to include; those with a fixed cost are left out. Default is None: every
        registered backend.

    Returns
    -------
    dict of str to dict of str to int
        Backend name -> ``{cost_param: value}``, in the order of ``names`` (sorted names
        by default). Pass an entry as ``**options`` to :func:`explain`.

    Raises
    ------
    ValueError
        If ``value`` is not a positive int or a name is not a registered backend.

    Examples
    --------
    >>> cost_params(8)["integrated_gradients"]
    {'steps': 8}
    >>> cost_params(4, ["gradient", "smoothgrad", "shap"])
    {'smoothgrad': {'n_samples': 4}, 'shap': {'n_samples': 4}}
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"value must be a positive int, got {value!r}")
    chosen = list_backends() if names is None else list(names)
    out = {}
    for name in chosen:
        info = backend_info(name)
        if info.cost_param is not None:
            out[name] = {info.cost_param: int(value)}
    return out


def explain(
    model: keras.Model,
    images: npt.ArrayLike,
    method: str = DEFAULT_METHOD,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    progress: bool | None = None,
    chunk_size: int | None = None,
    precision: str = "float32",
    **params: Any,
) -> Maps:
    """Saliency maps of ``model``'s target logit for every image.

    Parameters
    ----------
    model : keras.Model
        A classifier (e.g. :func:`mirnamap.model.load_default_model`); never modified.
    images : array_like, shape (N, 25, 100, 3)
        Images as the encoder gives them (``uint8`` 0..255) or float in the same range.
    method : str, optional
        A name from :func:`list_backends`. Default is :data:`DEFAULT_METHOD`
        ("gradient_x_input").
    target : int, array_like of int, shape (N,), or None, optional
        Class whose logit is explained (1 = pre-miRNA). Default is None, each image's
        predicted class.
    batch_size : int, optional
        Images (or noisy copies, path points, occluded copies) per pass. Default is 64.
    seed : int, optional
        Seed of the random draws. Default is 0.
    progress : bool, optional
        Show a progress bar over chunks. Default is None: shown when there is more than
        one chunk.
    chunk_size : int, optional
        Images per chunk. Default is None: ``max(batch_size, 64)`` (with SmoothGrad's 50
        samples, 3,200 passes per step of the progress bar). Never changes the result.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the model's passes (:mod:`mirnamap.precision`): a reduced precision
        runs on a cached copy of the model (the target logit stays float32) and the
        gradients and maps are summed in float32. Where the hardware lacks the
        instructions (bfloat16: a GPU of compute capability >= 8.0 or a CPU with
        AVX512-BF16/AMX; float16: a GPU) it warns and runs float32; it also warns where
        the precision is not among :func:`offered_precisions` of ``method``. The
        precision run is logged (logger "mirnamap.saliency", level INFO). The targets
        (``target=None``) are always the float32 model's predicted classes. Default is
        "float32".
    **params
        Options of the backend (see its docstring, e.g. ``n_samples``, ``steps``).

    Returns
    -------
    numpy.ndarray of float32, shape (N, 25, 100)
        Raw signed maps, in pixel units of the input.

    Raises
    ------
    ValueError
        For an unknown method or precision, or images that do not fit the model.
    """
    backend = get_backend(method)
    batch_size = check_batch_size(batch_size)
    chunk_size = (
        max(batch_size, IMAGES_PER_CHUNK) if chunk_size is None else check_batch_size(chunk_size)
    )
    net, _ = at_precision(model, method, precision)
    x = as_images(model, images)
    # The predicted class of the float32 model: a precision never changes what is explained.
    targets = resolve_targets(model, x, target, batch_size)
    starts = range(0, len(x), chunk_size)
    show = len(starts) > 1 if progress is None else bool(progress)
    parts = [
        backend(
            net,
            x[start : start + chunk_size],
            targets[start : start + chunk_size],
            batch_size=batch_size,
            seed=seed,
            **params,
        )
        for start in tqdm(starts, desc=method, unit="chunk", disable=not show)
    ]
    if not parts:
        return np.zeros(x.shape[:3], np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
