"""Mechanics shared by every saliency backend.

What is explained (the target class's logit, :func:`logits_model`), how inputs and targets
are checked (:func:`as_images`, :func:`resolve_targets`), how gradients are computed in
batches with one traced ``tf.function`` per model (:func:`input_gradients`), how ReLU
gradients are overridden on a *clone* of the model (:func:`override_relu`), and the
registry that maps backend names to functions (:func:`register`), and the precision a
backend runs in (:func:`at_precision`: one reduced-precision copy of the model serves every
backend, and :data:`VALIDATED_PRECISIONS` says where its maps were checked against float32).

The caller's model is never modified: the logit model is a new ``keras.Model`` over the
caller's layers (calling it changes nothing), and modified-gradient models are clones whose
weights are copied from the caller's model before every use, so a model trained after a
first explanation is explained with its new weights.
"""

from __future__ import annotations

import inspect
import logging
import math
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, Protocol

import keras
import numpy as np
import numpy.typing as npt
import tensorflow as tf

from mirnamap._typing import Maps
from mirnamap.precision import (
    PrecisionWarning,
    SyncedCopy,
    check_precision,
    effective_precision,
    precision_model,
)

__all__ = [
    "VALIDATED_PRECISIONS",
    "Backend",
    "BackendInfo",
    "BackendInputs",
    "as_images",
    "as_targets",
    "at_precision",
    "backend_info",
    "backend_inputs",
    "batches",
    "cached",
    "group_size",
    "input_gradients",
    "logits_function",
    "logits_model",
    "offered_precisions",
    "override_relu",
    "precision_backends",
    "reduce_channels",
    "register",
    "resolve_targets",
    "target_logits",
]

#: Default number of images (or noisy samples, path points, occluded copies) per forward
#: and backward pass.
BATCH_SIZE = 64
#: At most this many derived images (noisy copies, path points, occluded copies) are held in
#: memory at once by the multi-pass backends (4096 images of 25 x 100 x 3 float32: 123 MB).
MAX_DERIVED = 4096
#: Channel reductions a backend may apply to its per-channel map.
REDUCTIONS = ("sum", "mean", "max_abs")
#: Reduced precisions offered per backend: those whose maps matched float32 at a median
#: per-map Spearman >= 0.99 on a trained DeepMir network and 64 human test hairpins
#: (``benchmarks/precision.py``, which prints this table; measured on
#: ``deepmir_default.keras``, the ensemble members' architecture, on a CPU with
#: AVX512-BF16; README "Reduced precision"). :func:`at_precision` warns when a precision
#: not listed here is asked for. float16 needs a GPU and has not been measured.
VALIDATED_PRECISIONS: dict[str, tuple[str, ...]] = {
    name: ("bfloat16",)
    for name in (
        "deconvnet",
        "grad_cam",
        "grad_cam_plus_plus",
        "gradient",
        "gradient_x_input",
        "guided_backprop",
        "integrated_gradients",
        "occlusion",
        "shap",
        "smoothgrad",
        "smoothgrad_guided_backprop",
        "smoothgrad_squared",
        "vargrad",
    )
}

logger = logging.getLogger("mirnamap.saliency")


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


def share_samples(
    name: str, n_members: int, options: Mapping[str, Any]
) -> list[tuple[int, dict[str, Any], float]] | None:
    """Share a sampling backend's samples out among the ``n_members`` members of an ensemble.

    SmoothGrad, SmoothGrad² and SHAP (expected gradients) give the mean of independent
    per-sample maps. The ensemble's mean map is then a mean over (member, sample) pairs, and
    ``n`` samples dealt out among the members (member k gets ``n // K`` or one more, each
    member its own noise seed) estimate it without bias at the cost of *one* member's map:
    ``sum_k weight_k * map_k``. Only the members' spread is lost: each member's map then
    carries the noise of its few samples.

    Parameters
    ----------
    name : str
        A registered backend.
    n_members : int
        Members of the ensemble (>= 1).
    options : mapping
        The backend's options for this call (``seed``, and its cost option when given;
        otherwise the backend's default number of samples is shared).

    Returns
    -------
    list of (int, dict, float) or None
        Per member that gets at least one sample: its index, its options (its share of
        the samples, its seed) and its weight (share / n; the weights sum to 1). None for
        a backend whose map is not a mean over samples: the deterministic ones and
        VarGrad (a variance).

    Examples
    --------
    >>> [(k, o["n_samples"], w) for k, o, w in share_samples("smoothgrad", 3, {"n_samples": 5})]
    [(0, 2, 0.4), (1, 2, 0.4), (2, 1, 0.2)]
    >>> share_samples("gradient", 3, {}) is None
    True
    """
    info = backend_info(name)
    if n_members < 1:
        raise ValueError(f"n_members must be >= 1, got {n_members}")
    if not info.stochastic or info.cost_param is None:
        return None
    if name == "vargrad" or options.get("variant") == "vargrad":
        return None
    total = int(options.get(info.cost_param, info.cost_default))
    seed = int(options.get("seed", 0))
    shares = []
    for k in range(n_members):
        count = total // n_members + (k < total % n_members)
        if count:
            # Distinct, reproducible noise per member (the same seed would repeat draws).
            own = int(np.random.SeedSequence([seed, k]).generate_state(1)[0] >> 1)
            shares.append((k, {**options, info.cost_param: count, "seed": own}, count / total))
    return shares


def offered_precisions(name: str) -> tuple[str, ...]:
    """The precisions offered for backend ``name``: "float32" and the validated ones.

    Examples
    --------
    >>> offered_precisions("gradient")[0]
    'float32'
    """
    backend_info(name)  # an unknown name raises, listing the known ones
    return ("float32", *VALIDATED_PRECISIONS.get(name, ()))


def precision_backends(precision: str) -> list[str]:
    """Names of the backends ``precision`` is offered for (every backend for float32).

    Examples
    --------
    >>> "gradient" in precision_backends("float32")
    True
    """
    check_precision(precision)
    return sorted(name for name in _REGISTRY if precision in offered_precisions(name))


def at_precision(model: keras.Model, method: str, precision: str) -> tuple[keras.Model, str]:
    """The model that backend ``method`` runs on in ``precision``, and the precision run.

    One mechanism for every backend: the backends take the model they are given, so a
    reduced-precision copy (:func:`mirnamap.precision.precision_model`, cached per model,
    its weights re-copied from ``model`` on every call) makes every pass of every backend
    run in that precision; the gradients and maps come back and are summed in float32.
    Warns (:class:`~mirnamap.precision.PrecisionWarning`) and runs float32 where the
    hardware lacks the instructions, and warns where ``precision`` is not among
    :func:`offered_precisions` of ``method``.

    Returns
    -------
    keras.Model, str
        ``model`` itself for float32, else its copy; and the precision that runs.

    Raises
    ------
    ValueError
        For an unknown backend or precision.
    """
    backend_info(method)
    ran = effective_precision(precision)
    if ran != "float32" and ran not in offered_precisions(method):
        warnings.warn(
            f"{ran} maps of {method!r} have not been validated against float32 (median "
            "Spearman >= 0.99 on the bundled model, benchmarks/precision.py); offered: "
            f"{', '.join(offered_precisions(method))}",
            PrecisionWarning,
            stacklevel=3,
        )
    logger.info("%s runs in %s (asked: %s)", method, ran, precision)
    return precision_model(model, ran), ran


# --------------------------------------------------------------------------------------
# Inputs and targets
# --------------------------------------------------------------------------------------


def input_shape(model: keras.Model) -> tuple[int, ...]:
    """Shape of one input image of ``model`` (without the batch axis)."""
    if len(model.inputs) != 1:
        raise TypeError(f"model {model.name!r} has {len(model.inputs)} inputs; saliency needs one")
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3 or any(dim is None for dim in shape):
        raise TypeError(
            f"model {model.name!r} takes inputs of shape {shape}; saliency needs fixed "
            "(height, width, channels) images"
        )
    return shape  # type: ignore[return-value]


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


def check_batch_size(batch_size: int) -> int:
    """Return ``batch_size`` as an int, or raise ValueError if it is not positive."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return int(batch_size)


def batches(array: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive slices of ``array`` along axis 0, at most ``batch_size`` long."""
    for start in range(0, len(array), batch_size):
        yield array[start : start + batch_size]


def group_size(per_image: int, batch_size: int, limit: int = MAX_DERIVED) -> int:
    """Images to expand at once when each becomes ``per_image`` derived images.

    Chosen so that the derived images fill whole batches where memory allows (a ragged last
    batch costs a full pass), and at most about ``limit`` derived images exist at a time.
    """
    common = math.lcm(per_image, batch_size)
    if common <= limit:
        return (common // per_image) * max(1, limit // common)
    return max(1, limit // per_image)


def reduce_channels(maps: np.ndarray, reduce: str | None) -> np.ndarray:
    """Reduce per-channel maps ``(N, H, W, C)`` to ``(N, H, W)``.

    ``"sum"`` (default of every backend: keeps completeness, since a logit's first-order
    change is the sum over channels), ``"mean"``, ``"max_abs"`` (the signed value of largest
    magnitude), or None to keep the channels.
    """
    if reduce is None:
        return maps.astype(np.float32, copy=False)
    if reduce == "sum":
        return maps.sum(axis=-1, dtype=np.float32)
    if reduce == "mean":
        return maps.mean(axis=-1, dtype=np.float32)
    if reduce == "max_abs":
        index = np.abs(maps).argmax(axis=-1)[..., None]
        return np.take_along_axis(maps, index, axis=-1)[..., 0].astype(np.float32)
    raise ValueError(f"reduce must be one of {', '.join(REDUCTIONS)} or None, got {reduce!r}")


# --------------------------------------------------------------------------------------
# The logit model, ReLU overrides and the cache of traced functions
# --------------------------------------------------------------------------------------

# One entry per caller's model: traced functions and clones, so that repeated calls (and
# the chunks of explain) neither rebuild nor retrace. Weak keys: a model that is no longer
# used is not kept alive by the cache.
_CACHE: weakref.WeakKeyDictionary[keras.Model, dict[Any, Any]] = weakref.WeakKeyDictionary()


def cached(model: keras.Model, key: Any, factory: Callable[[], Any]) -> Any:
    """``factory()``, built once per (model, key) and kept while the model lives."""
    entry = _CACHE.setdefault(model, {})
    if key not in entry:
        entry[key] = factory()
    return entry[key]


def _is_softmax(activation: Any) -> bool:
    return activation is keras.activations.softmax or activation is tf.nn.softmax


def _is_relu(activation: Any) -> bool:
    return activation in (keras.activations.relu, tf.nn.relu, keras.ops.relu)


def logits_model(model: keras.Model, logit_layer: str = "logits") -> keras.Model:
    """The model cut at its logits: a new ``keras.Model`` over the caller's layers.

    The layer named ``logit_layer`` if there is one; else the input of a final ``Softmax``
    layer or ``Activation("softmax")``; else a clone whose final fused softmax is linear;
    else the model's own output (taken to be logits already).

    Returns
    -------
    keras.Model
        Input as ``model``'s; output ``(N, n_classes)`` logits.
    """

    def build() -> keras.Model:
        input_shape(model)
        names = {layer.name for layer in model.layers}
        if logit_layer in names:
            output = model.get_layer(logit_layer).output
            return keras.Model(model.inputs, output, name=f"{model.name}_logits")
        last = model.layers[-1]
        if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and _is_softmax(last.activation)
        ):
            return keras.Model(model.inputs, last.input, name=f"{model.name}_logits")
        if _is_softmax(getattr(last, "activation", None)):
            return _clone(model, lambda layer: layer is last, "linear")
        return model

    built = cached(model, ("logits", logit_layer), build)
    if isinstance(built, SyncedCopy):
        built.sync()
        return built.model
    return built


@tf.custom_gradient
def _positive_gradient(outputs: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """Identity forward; passes only the positive part of the gradient backward."""

    def grad(upstream: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(upstream)

    return tf.identity(outputs), grad


@tf.custom_gradient
def _deconvnet_relu(inputs: tf.Tensor) -> tuple[tf.Tensor, Callable[[tf.Tensor], tf.Tensor]]:
    """ReLU forward; backward the positive part of the gradient, whatever the input."""

    def grad(upstream: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(upstream)

    return tf.nn.relu(inputs), grad


def _guided_relu(inputs: tf.Tensor) -> tf.Tensor:
    """ReLU whose gradient is ``relu(upstream) * (inputs > 0)`` (Springenberg et al.).

    Written as the ordinary ReLU followed by a positive-gradient identity: the ReLU's own
    gradient supplies the forward gate, and the ReLU stays fusable with the convolution
    before it (a custom-gradient ReLU would break that fusion and run slower).
    """
    return _positive_gradient(tf.nn.relu(inputs))


def _make_relu(policy: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """A ReLU whose backward pass follows ``policy`` ("guided" or "deconvnet")."""
    if policy == "guided":
        return _guided_relu
    if policy == "deconvnet":
        # Zeiler & Fergus: the ReLU acts on the backward signal only.
        return _deconvnet_relu
    raise ValueError(f"unknown ReLU policy {policy!r}; known: guided, deconvnet")


class _PolicyReLU(keras.layers.Layer):
    """Stands in for a ``ReLU`` or ``Activation("relu")`` layer in a clone."""

    def __init__(self, policy: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy
        self._relu = _make_relu(policy)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self._relu(inputs)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "policy": self.policy}


def _clone(
    model: keras.Model, select: Callable[[keras.layers.Layer], bool], policy: str
) -> SyncedCopy:
    """Clone ``model``, giving the selected layers a linear activation or a policy ReLU."""

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        if not select(layer):
            return layer.__class__.from_config(layer.get_config())
        if policy == "linear":
            new = layer.__class__.from_config(layer.get_config())
            new.activation = keras.activations.linear
            return new
        if isinstance(layer, keras.layers.ReLU):
            config = layer.get_config()
            if (
                config.get("max_value") is not None
                or config.get("negative_slope", 0)
                or config.get("threshold", 0)
            ):
                raise ValueError(
                    f"layer {layer.name!r} is a ReLU with max_value/negative_slope/threshold; "
                    "only plain ReLUs can be overridden"
                )
            # The layer's own dtype policy: a ReLU of a reduced-precision copy stays so.
            return _PolicyReLU(policy, name=layer.name, dtype=layer.dtype_policy)
        if isinstance(layer, keras.layers.Activation):
            return _PolicyReLU(policy, name=layer.name, dtype=layer.dtype_policy)
        new = layer.__class__.from_config(layer.get_config())
        new.activation = _make_relu(policy)
        return new

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise TypeError(
                f"model {model.name!r} nests the model {layer.name!r}; flatten it before "
                "explaining with modified gradients"
            )
    clone = keras.models.clone_model(model, clone_function=clone_layer)
    return SyncedCopy.of(model, clone, "cloning")


def _selects_relu(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return True
    return _is_relu(getattr(layer, "activation", None))


def override_relu(model: keras.Model, policy: str) -> keras.Model:
    """A clone of ``model``'s logit model whose every ReLU has the ``policy`` gradient.

    Fused ``activation="relu"`` (Conv2D, Dense, ...) and separate ``ReLU`` and
    ``Activation("relu")`` layers are all replaced; the forward pass is unchanged. The clone
    is cached and its weights re-copied from ``model`` on every call.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier (never modified).
    policy : {"guided", "deconvnet"}
        Guided backpropagation (Springenberg et al. 2014) or deconvnet (Zeiler & Fergus
        2014) gradients.

    Returns
    -------
    keras.Model
        Same inputs; output the logits.
    """
    clone = cached(
        model, ("override", policy), lambda: _clone(logits_model(model), _selects_relu, policy)
    )
    clone.sync()
    return clone.model


# --------------------------------------------------------------------------------------
# Traced functions
# --------------------------------------------------------------------------------------


def _spec(model: keras.Model) -> tf.TensorSpec:
    return tf.TensorSpec((None, *input_shape(model)), tf.float32)


def logits_function(model: keras.Model) -> Callable[[tf.Tensor], tf.Tensor]:
    """Traced ``images (B, H, W, C) float32 -> logits (B, n_classes)`` of ``model``."""

    def build() -> Callable[[tf.Tensor], tf.Tensor]:
        net = logits_model(model)

        @tf.function(input_signature=[_spec(model)])
        def logits(images: tf.Tensor) -> tf.Tensor:
            return tf.cast(net(images, training=False), tf.float32)

        return logits

    return cached(model, ("logits_function",), build)


def target_logits(
    model: keras.Model,
    images: npt.NDArray[np.float32],
    targets: npt.NDArray[np.int32],
    batch_size: int = BATCH_SIZE,
) -> npt.NDArray[np.float32]:
    """The target logit of every image, in batches.

    Returns
    -------
    numpy.ndarray of float32, shape (N,)
    """
    function = logits_function(model)
    out = [
        function(tf.constant(batch)).numpy()
        for batch in batches(images, check_batch_size(batch_size))
    ]
    if not out:
        return np.zeros(0, np.float32)
    logits = np.concatenate(out)
    return logits[np.arange(len(logits)), targets].astype(np.float32)


def _gradient_function(model: keras.Model, policy: str | None) -> Callable[..., tf.Tensor]:
    def build() -> Callable[..., tf.Tensor]:
        net = logits_model(model) if policy is None else override_relu(model, policy)

        @tf.function(input_signature=[_spec(model), tf.TensorSpec((None,), tf.int32)])
        def gradient(images: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(images)
                logits = net(images, training=False)
                # Each image's score depends on that image only (inference mode), so the
                # gradient of the sum is the per-image gradient.
                score = tf.cast(tf.gather(logits, targets, axis=1, batch_dims=1), tf.float32)
            # float32 whatever the model's precision: maps are summed in float32.
            return tf.cast(tape.gradient(score, images), tf.float32)

        return gradient

    return cached(model, ("gradient", policy), build)


def input_gradients(
    model: keras.Model,
    images: npt.NDArray[np.float32],
    targets: npt.NDArray[np.int32],
    *,
    batch_size: int = BATCH_SIZE,
    policy: str | None = None,
) -> npt.NDArray[np.float32]:
    """Gradients of the target logits with respect to the input images, in batches.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier (never modified).
    images : numpy.ndarray of float32, shape (N, H, W, C)
        Checked images (see :func:`as_images`).
    targets : numpy.ndarray of int32, shape (N,)
        Class per image.
    batch_size : int, optional
        Images per pass. Default is 64.
    policy : {None, "guided", "deconvnet"}, optional
        ReLU backward rule; None is the true gradient. Default is None.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W, C)
    """
    batch_size = check_batch_size(batch_size)
    if policy is not None:
        override_relu(model, policy)  # re-copies the weights into the cached clone
    function = _gradient_function(model, policy)
    out = np.empty(images.shape, np.float32)
    for start in range(0, len(images), batch_size):
        stop = start + batch_size
        out[start:stop] = function(
            tf.constant(images[start:stop]), tf.constant(targets[start:stop])
        ).numpy()
    return out


def layer_function(
    model: keras.Model, layer: str | None, kind: str
) -> tuple[Callable[..., Any], str]:
    """Traced ``(images, targets) -> (activations, gradients)`` of a conv layer.

    Parameters
    ----------
    model : keras.Model
        The caller's classifier.
    layer : str or None
        Name of the layer; None is the last layer with a 4-D output that is a convolution.
    kind : str
        Cache key (the caller's method).

    Returns
    -------
    function, str
        The traced function and the layer's name.
    """
    net = logits_model(model)
    if layer is None:
        convolutions = [
            candidate
            for candidate in net.layers
            if isinstance(candidate, keras.layers.Conv2D) and len(candidate.output.shape) == 4
        ]
        if not convolutions:
            raise ValueError(f"model {model.name!r} has no Conv2D layer; name one with layer=")
        layer = convolutions[-1].name
    names = [candidate.name for candidate in net.layers]
    if layer not in names:
        raise ValueError(f"model {model.name!r} has no layer {layer!r}; layers: {', '.join(names)}")
    if len(net.get_layer(layer).output.shape) != 4:
        raise ValueError(f"layer {layer!r} does not give (N, h, w, channels) feature maps")

    def build() -> Callable[..., Any]:
        two = keras.Model(net.inputs, [net.get_layer(layer).output, net.outputs[0]])

        @tf.function(input_signature=[_spec(model), tf.TensorSpec((None,), tf.int32)])
        def activations_and_gradients(images: tf.Tensor, targets: tf.Tensor) -> Any:
            with tf.GradientTape() as tape:
                activations, logits = two(images, training=False)
                score = tf.cast(tf.gather(logits, targets, axis=1, batch_dims=1), tf.float32)
            gradients = tape.gradient(score, activations)
            # float32 whatever the model's precision: the CAM weights are summed in float32.
            return tf.cast(activations, tf.float32), tf.cast(gradients, tf.float32)

        return activations_and_gradients

    return cached(model, ("layer", kind, layer), build), layer
