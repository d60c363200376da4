"""Reduced-precision copies of a model: bfloat16 or float16 arithmetic, float32 weights.

Prediction (:func:`mirnamap.model.predict_proba`) and saliency
(:func:`mirnamap.saliency.explain`) take ``precision="float32" | "bfloat16" | "float16"``.
A reduced precision runs on a *copy* of the caller's model rebuilt under Keras' mixed
policy (``"mixed_bfloat16"`` / ``"mixed_float16"``: float32 variables, reduced-precision
arithmetic), never by :func:`keras.mixed_precision.set_global_policy`, which is global
state, and never by :func:`keras.models.clone_model` alone, which keeps each layer's
float32 policy from its config. The copy is made once per model and precision, kept
while the model lives, and its weights are re-copied from the model on every use (a model
trained after a first call is used with its new weights).

Four parts of the network stay float32 in the copy (:func:`float32_layers`): the input;
the weightless preprocessing before the first layer with weights (DeepMir's
``Rescaling(1/255)``: the gradient reaches the 0..255 input in float32, not as a
reduced-precision number 255 times smaller); that first layer with weights (the input
gradient is its weights times the gradient of its output: rounding its weights and inputs
to bfloat16 doubled the relative error of raw input gradients on a tiny random DeepMir,
for about 3 % of DeepMir's multiply-adds); and the layer named ``"logits"`` with every
layer after it (a score and its differences, e.g. occlusion's logit drops, keep float32
resolution; the head is a tiny share of the work).

Which precision the hardware runs (:func:`hardware_supports`): float16 on a GPU of compute
capability >= 7.0; bfloat16 on a GPU of compute capability >= 8.0, or without a GPU on a
CPU with the AVX512-BF16 or AMX-BF16 instructions (Linux ``/proc/cpuinfo`` flags
``avx512_bf16`` / ``amx_bf16``). Elsewhere :func:`effective_precision` warns
(:class:`PrecisionWarning`) and falls back to float32.

>>> check_precision("bfloat16")
'bfloat16'
>>> POLICIES["float16"]
'mixed_float16'
"""

from __future__ import annotations

import functools
import logging
import warnings
import weakref
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mirnamap.errors import MirnamapWarning

if TYPE_CHECKING:
    import keras

__all__ = [
    "CPU_BF16_FLAGS",
    "MIN_COMPUTE_CAPABILITY",
    "POLICIES",
    "PRECISIONS",
    "PrecisionWarning",
    "SyncedCopy",
    "check_precision",
    "cpu_flags",
    "effective_precision",
    "float32_layers",
    "gpu_compute_capabilities",
    "hardware_supports",
    "precision_model",
    "unsupported_reason",
]

logger = logging.getLogger(__name__)

#: The precisions of prediction and saliency.
PRECISIONS = ("float32", "bfloat16", "float16")
#: The Keras dtype policy each precision runs under (float32 variables for all).
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
#: ``/proc/cpuinfo`` flags of the CPU instructions that run bfloat16 natively.
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
#: Least GPU compute capability for each reduced precision (float16 tensor cores: Volta;
#: bfloat16: Ampere).
MIN_COMPUTE_CAPABILITY = {"float16": (7, 0), "bfloat16": (8, 0)}
#: Name of the logits layer kept in float32 (as :data:`mirnamap.model.LOGITS`).
LOGITS = "logits"


class PrecisionWarning(MirnamapWarning):
    """A precision fell back to float32, or runs where it was not validated."""


def check_precision(precision: str) -> str:
    """Return ``precision`` if it is one of :data:`PRECISIONS`.

    Raises
    ------
    ValueError
        If it is not (the message lists the known ones).

    Examples
    --------
    >>> check_precision("float32")
    'float32'
    """
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; known: {', '.join(PRECISIONS)}")
    return precision


# --------------------------------------------------------------------------------------
# Hardware
# --------------------------------------------------------------------------------------


@functools.cache
def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU feature flags listed in ``path`` (empty where there is no such file).

    Parameters
    ----------
    path : str, optional
        Default is "/proc/cpuinfo" (Linux).

    Returns
    -------
    frozenset of str
        E.g. ``{"avx512f", "avx512_bf16", "amx_bf16", ...}``.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):  # x86, ARM
            flags.update(value.split())
    return frozenset(flags)


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """Compute capability of every GPU TensorFlow sees, in device order (empty: none)."""
    import tensorflow as tf

    out = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        capability = details.get("compute_capability") or (0, 0)
        out.append((int(capability[0]), int(capability[1])))
    return out


def unsupported_reason(precision: str) -> str | None:
    """Why this machine cannot run ``precision`` in hardware, or None if it can.

    Raises
    ------
    ValueError
        For an unknown precision.
    """
    if check_precision(precision) == "float32":
        return None
    gpus = gpu_compute_capabilities()
    needed = MIN_COMPUTE_CAPABILITY[precision]
    if gpus:  # TensorFlow places the work on the first GPU
        if tuple(gpus[0]) >= needed:
            return None
        major, minor = gpus[0]
        return (
            f"{precision} needs a GPU of compute capability >= {needed[0]}.{needed[1]}; "
            f"the first GPU has {major}.{minor}"
        )
    if precision == "float16":
        return "float16 is for GPUs, and TensorFlow sees none"
    if any(flag in cpu_flags() for flag in CPU_BF16_FLAGS):
        return None
    return (
        "bfloat16 needs a GPU of compute capability >= 8.0 or a CPU with the AVX512-BF16 or "
        f"AMX instructions ({' or '.join(CPU_BF16_FLAGS)} in /proc/cpuinfo); this machine "
        "has neither"
    )


def hardware_supports(precision: str) -> bool:
    """Whether this machine runs ``precision`` in hardware (float32: always).

    Raises
    ------
    ValueError
        For an unknown precision.
    """
    return unsupported_reason(precision) is None


def effective_precision(precision: str, *, warn: bool = True) -> str:
    """The precision that will run when ``precision`` is asked for.

    ``precision`` itself where the hardware runs it (:func:`hardware_supports`), else
    "float32", with a :class:`PrecisionWarning` that says why.

    Parameters
    ----------
    precision : {"float32", "bfloat16", "float16"}
    warn : bool, optional
        Warn on a fall-back. Default is True.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown precision.
    """
    reason = unsupported_reason(precision)
    if reason is None:
        return precision
    if warn:
        warnings.warn(f"{reason}: running float32", PrecisionWarning, stacklevel=2)
    logger.info("precision %s unsupported here (%s): float32", precision, reason)
    return "float32"


# --------------------------------------------------------------------------------------
# The reduced-precision copy
# --------------------------------------------------------------------------------------


def float32_layers(model: keras.Model, *, first_layer: bool = True) -> frozenset[str]:
    """Names of the layers that stay float32 in a reduced-precision copy of ``model``.

    Input layers; the layers before the first layer with weights (input scaling such as
    ``Rescaling``); with ``first_layer`` that first layer with weights; the layer named
    "logits" and every layer after it, or where there is none the last layer.

    Parameters
    ----------
    model : keras.Model
    first_layer : bool, optional
        Keep the first layer with weights float32. Default is True.

    Returns
    -------
    frozenset of str
    """
    import keras

    layers = list(model.layers)
    keep = {layer.name for layer in layers if isinstance(layer, keras.layers.InputLayer)}
    for layer in layers:
        if layer.weights:
            if first_layer:
                keep.add(layer.name)
            break
        keep.add(layer.name)
    names = [layer.name for layer in layers]
    first_head = names.index(LOGITS) if LOGITS in names else len(names) - 1
    keep.update(names[first_head:])
    return frozenset(keep)


class SyncedCopy(NamedTuple):
    """A rebuilt copy of a model and its (source, copy) variable pairs.

    ``sync()`` copies the source model's current weights in, so a model trained further
    is used with its new weights; used for the reduced-precision copies here and for the
    ReLU-swapped clones of :mod:`mirnamap.saliency`.
    """

    model: keras.Model
    pairs: list[tuple[Any, Any]]

    @classmethod
    def of(cls, source: keras.Model, copy: keras.Model, how: str) -> SyncedCopy:
        """Pair ``source``'s weights with ``copy``'s (same order and shapes), synced now.

        Raises RuntimeError naming the weight where ``how`` (e.g. "cloning") changed one.
        """
        pairs = list(zip(source.weights, copy.weights, strict=True))
        for original, twin in pairs:
            if tuple(original.shape) != tuple(twin.shape):
                raise RuntimeError(f"{how} {source.name!r} changed the weight {original.path}")
        result = cls(copy, pairs)
        result.sync()
        return result

    def sync(self) -> None:
        """Copy the source model's current weights into the copy."""
        for source, copy in self.pairs:
            copy.assign(source)


# Per caller's model, its reduced-precision copies. Weak keys: the cache does not keep a
# model alive.
_COPIES: weakref.WeakKeyDictionary[keras.Model, dict[Any, SyncedCopy]] = weakref.WeakKeyDictionary()


def _build(model: keras.Model, policy: str, keep: frozenset[str]) -> SyncedCopy:
    import keras

    def clone_layer(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.Model):
            raise TypeError(
                f"model {model.name!r} nests the model {layer.name!r}; flatten it before "
                "running it in reduced precision"
            )
        config = layer.get_config()
        if layer.name not in keep:
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    try:
        copy = keras.models.clone_model(model, clone_function=clone_layer)
    except ValueError as error:  # a subclassed model: no config to rebuild it from
        raise TypeError(
            f"model {model.name!r} cannot be rebuilt in reduced precision ({error}); use a "
            "functional or Sequential model"
        ) from None
    return SyncedCopy.of(model, copy, "rebuilding")


def precision_model(
    model: keras.Model, precision: str, *, keep_float32: Collection[str] | None = None
) -> keras.Model:
    """``model`` running in ``precision``: the model itself for float32, else a copy.

    The copy is rebuilt layer by layer under the mixed policy of ``precision``
    (:data:`POLICIES`; float32 variables) with the layers ``keep_float32`` in float32,
    built once per (model, precision, ``keep_float32``) and cached while the model lives;
    the model's current weights are copied into it on every call. Neither ``model`` nor the
    global Keras policy is changed. The hardware is not checked here (see
    :func:`effective_precision`).

    Parameters
    ----------
    model : keras.Model
        A functional or Sequential model.
    precision : {"float32", "bfloat16", "float16"}
    keep_float32 : collection of str, optional
        Names of the layers that stay float32 (input layers always do). Default is None:
        :func:`float32_layers`.

    Returns
    -------
    keras.Model
        Same inputs and outputs; float32 input.

    Raises
    ------
    ValueError
        For an unknown precision or layer name.
    TypeError
        If the model cannot be rebuilt from its config (subclassed, or nesting a model).
    """
    check_precision(precision)
    if precision == "float32":
        return model
    if keep_float32 is None:
        keep = float32_layers(model)
    else:
        keep = frozenset(keep_float32)
        unknown = keep - {layer.name for layer in model.layers}
        if unknown:
            raise ValueError(
                f"model {model.name!r} has no layer(s) {sorted(unknown)} to keep float32"
            )
    key = (precision, keep)
    entry = _COPIES.setdefault(model, {})
    if key not in entry:
        entry[key] = _build(model, POLICIES[precision], keep)
        logger.info("built a %s copy of %s", precision, model.name)
    copy = entry[key]
    copy.sync()
    return copy.model
