"""SHAP values through the ``shap`` library: expected gradients (GradientExplainer).

``shap.GradientExplainer`` (Erion et al.'s expected gradients: integrated gradients averaged
over baselines drawn from a background set at random path positions) runs correctly on
Keras 3; ``explainer="deep"`` uses ``shap.DeepExplainer`` (DeepLIFT rescale). Each image is
explained with the same random stream (``seed``), so a map depends only on its image.

Ref. Lundberg & Lee 2017, "A unified approach to interpreting model predictions",
arXiv:1705.07874.
"""

from __future__ import annotations

import hashlib

import keras
import numpy as np
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE
from mirnamap.saliency._gradients import reduce_channels
from mirnamap.saliency._inputs import as_images, backend_inputs
from mirnamap.saliency._models import cached, input_shape, logits_model
from mirnamap.saliency._registry import register

__all__ = ["shap_values"]


def _explainer(model: keras.Model, background: np.ndarray, kind: str, batch_size: int) -> object:
    import shap

    digest = hashlib.sha1(background.tobytes()).hexdigest()
    net = logits_model(model)

    def build() -> object:
        if kind == "gradient":
            return shap.GradientExplainer(net, background, batch_size=batch_size)
        if kind == "deep":
            return shap.DeepExplainer(net, background)
        raise ValueError(f"explainer must be 'gradient' or 'deep', got {kind!r}")

    return cached(model, ("shap", kind, digest, background.shape, batch_size), build)


@register(
    "shap",
    family="Shapley (expected gradients)",
    cost_param="n_samples",
    stochastic=True,
    baseline="yes (background set, default the white canvas)",
    reference="Lundberg & Lee 2017, arXiv:1705.07874",
)
def shap_values(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    background: npt.ArrayLike | None = None,
    n_samples: int = 200,
    explainer: str = "gradient",
    reduce: str | None = "sum",
) -> Maps:
    """SHAP values of the target logit, computed by the ``shap`` library.

    Follows :class:`mirnamap.saliency.Backend`. Slow on the CPU: ``n_samples``
    gradient passes per image.

    Parameters
    ----------
    background : array_like, shape (B, H, W, C), optional
        Background (reference) images; pick them from the data, e.g. a few negatives.
        Default is one white canvas (255), the empty hairpin image.
    n_samples : int, optional
        Samples per image (GradientExplainer). Default is 200 (shap's default).
    explainer : {"gradient", "deep"}, optional
        ``shap.GradientExplainer`` or ``shap.DeepExplainer``. Default is "gradient".
    reduce : {"sum", "mean", "max_abs", None}, optional
        Channel reduction; None keeps ``(N, H, W, C)``. Default is "sum".

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
    """
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    if background is None:
        reference = np.full((1, *input_shape(model)), 255.0, np.float32)
    else:
        reference = as_images(model, background)
        if len(reference) == 0:
            raise ValueError("background holds no images")
    engine = _explainer(model, np.ascontiguousarray(reference), explainer, batch_size)
    out = np.empty(x.shape, np.float32)
    # shap draws from NumPy's global generator; leave the caller's stream as it was.
    state = np.random.get_state()  # noqa: NPY002
    try:
        for index in range(len(x)):
            ranks = targets[index : index + 1, None]
            if explainer == "gradient":
                values, _ = engine.shap_values(  # type: ignore[attr-defined]
                    x[index : index + 1],
                    nsamples=int(n_samples),
                    ranked_outputs=ranks,
                    output_rank_order="custom",
                    rseed=int(seed),
                )
            else:
                # DeepExplainer ranks outputs only by value: explain all, keep the target.
                values = engine.shap_values(  # type: ignore[attr-defined]
                    x[index : index + 1], check_additivity=False
                )
                if isinstance(values, list):
                    values = np.stack(values, axis=-1)
                values = np.asarray(values)[..., int(targets[index])]
            out[index] = np.asarray(values, np.float32).reshape(x.shape[1:])
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return reduce_channels(out, reduce)
