"""The registry of saliency backends: their one signature (:class:`Backend`), what is
said about each (:class:`BackendInfo`), and the decorator that registers them
(:func:`register`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import keras
import numpy.typing as npt

from mirnamap._typing import Maps

__all__ = [
    "Backend",
    "BackendInfo",
    "backend_info",
    "register",
    "registered",
]


class Backend(Protocol):
    """The one signature of every saliency backend.

    Parameters
    ----------
    model : keras.Model
        A classifier with one image input; its layer named ``"logits"`` (or, failing that,
        the input of a final softmax) gives the class logits. Never modified.
    images : array_like, shape (N, H, W, C)
        Images in the model's input range (``uint8`` or float; 0..255 for DeepMir).
    target : int, array_like of int, shape (N,), or None
        Class whose logit is explained, per image; None is the predicted class.
    batch_size : int
        Images (or derived images) per forward/backward pass. Never changes the result.
    seed : int
        Seed of every random draw (SmoothGrad noise, SHAP sampling); deterministic backends
        ignore it.
    **params
        Options of the backend.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
        Raw signed attributions at input resolution (no absolute value, clipping or
        normalisation). Gradient backends give ``(N, H, W, C)`` with ``reduce=None``.
    """

    def __call__(
        self,
        model: keras.Model,
        images: npt.ArrayLike,
        target: int | npt.ArrayLike | None = None,
        *,
        batch_size: int = ...,
        seed: int = ...,
        **params: Any,
    ) -> Maps: ...


class BackendInfo(NamedTuple):
    """What the registry (and the README's table) says about a backend.

    Attributes
    ----------
    name : str
        The registered snake_case name.
    family : str
        The method's family, e.g. "modified gradient".
    passes : str
        Forward/backward passes per map, e.g. "1" or "n_samples (default 50)".
    baseline : str
        Whether (and which) baseline the method needs.
    reference : str
        The paper.
    cost_param : str or None
        The option that sets the passes per map (``"n_samples"``, ``"steps"``), or None
        for a backend whose cost is fixed. Default is None.
    cost_default : int or None
        That option's default, read from the backend's signature. Default is None.
    stochastic : bool
        The ``seed`` changes the map (noise, sampling). Default is False.
    """

    name: str
    family: str
    passes: str
    baseline: str
    reference: str
    cost_param: str | None = None
    cost_default: int | None = None
    stochastic: bool = False


_REGISTRY: dict[str, tuple[Backend, BackendInfo]] = {}


def _signature_default(function: Callable[..., Any], parameter: str) -> int:
    """The int default of ``parameter`` in ``function``'s signature."""
    found = inspect.signature(function).parameters.get(parameter)
    default = None if found is None else found.default
    if isinstance(default, bool) or not isinstance(default, int):
        name = getattr(function, "__name__", function)
        raise ValueError(f"{name} has no int default for its cost parameter {parameter!r}")
    return default


def register(
    name: str,
    *,
    family: str,
    baseline: str,
    reference: str,
    passes: str | None = None,
    cost_param: str | None = None,
    stochastic: bool = False,
) -> Callable[[Backend], Backend]:
    """Register a backend under ``name`` (a decorator).

    Parameters
    ----------
    name : str
        The snake_case name used by :func:`mirnamap.saliency.explain`, the CLI and configs.
    family, baseline, reference : str
        The method's family, whether it needs a baseline, and the paper.
    passes : str, optional
        Forward/backward passes per map. Default is None: ``"{cost_param} (default
        {default})"`` with ``cost_param``, else "1".
    cost_param : str, optional
        The backend's option that sets its passes per map; its default is read from the
        backend's signature. Default is None: a fixed cost.
    stochastic : bool, optional
        The ``seed`` changes the map. Default is False.

    Raises
    ------
    ValueError
        If ``name`` is registered twice, or ``cost_param`` has no int default.
    """

    def decorate(function: Backend) -> Backend:
        if name in _REGISTRY:
            raise ValueError(f"saliency backend {name!r} is registered twice")
        default = None if cost_param is None else _signature_default(function, cost_param)
        if passes is not None:
            shown = passes
        elif cost_param is not None:
            shown = f"{cost_param} (default {default})"
        else:
            shown = "1"
        info = BackendInfo(
            name, family, shown, baseline, reference, cost_param, default, bool(stochastic)
        )
        _REGISTRY[name] = (function, info)
        return function

    return decorate


def registered() -> dict[str, tuple[Backend, BackendInfo]]:
    """The registry: name -> (backend, info)."""
    return _REGISTRY


def backend_info(name: str) -> BackendInfo:
    """Family, passes per map, baseline, reference, cost option and randomness of ``name``."""
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"unknown saliency backend {name!r}; known: {known}")
    return _REGISTRY[name][1]
