"""The precision a backend runs in (:func:`at_precision`): one reduced-precision copy of
the model serves every backend, and :data:`VALIDATED_PRECISIONS` says where its maps were
checked against float32.
"""

from __future__ import annotations

import logging
import warnings

import keras

from mirnamap.precision import (
    PrecisionWarning,
    check_precision,
    effective_precision,
    precision_model,
)
from mirnamap.saliency._registry import backend_info, registered

__all__ = [
    "VALIDATED_PRECISIONS",
    "at_precision",
    "offered_precisions",
    "precision_backends",
]

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
    return sorted(name for name in registered() if precision in offered_precisions(name))


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
