"""Model-randomisation sanity check (Adebayo et al. 2018, arXiv:1810.03292).

The layers of a copy of the model are re-initialised one after the other from the top
(the logits) down, and after each step every backend's maps are compared with the maps of
the trained model by Spearman rank correlation of their magnitudes. A backend whose maps
barely change when the weights it should depend on are destroyed explains the input (or
the architecture), not the model. The caller's model is never touched: the cascade runs on
a clone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.benchmark.metrics import spearman

if TYPE_CHECKING:
    import keras

__all__ = ["SanityResult", "cascading_randomization", "randomizable_layers"]


class SanityResult(NamedTuple):
    """Rank correlations between trained and progressively randomised maps.

    Attributes
    ----------
    layers : tuple of str
        Layer names in cascade order (top first); step s has layers[: s + 1] randomised.
    correlations : np.ndarray
        ``float64 (S, N)``: Spearman correlation of ``|maps|`` per step and image (0 where
        the randomised map is constant).
    """

    layers: tuple[str, ...]
    correlations: np.ndarray

    @property
    def final(self) -> np.ndarray:
        """``float64 (N,)``: correlation once every layer is randomised."""
        return self.correlations[-1]


def randomizable_layers(model: keras.Model) -> list[str]:
    """Names of the layers with weights, top (output side) first."""
    return [layer.name for layer in reversed(model.layers) if layer.weights]


def _reinitialise(layer: keras.layers.Layer, rng: np.random.Generator) -> None:
    """New Glorot-uniform kernels and zero biases (the build-time scheme), seeded."""
    new = []
    for weight in layer.get_weights():
        if weight.ndim >= 2:
            fan_in = int(np.prod(weight.shape[:-1]))
            fan_out = int(weight.shape[-1]) * (
                int(np.prod(weight.shape[:-2])) if weight.ndim > 2 else 1
            )
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            new.append(rng.uniform(-limit, limit, size=weight.shape).astype(weight.dtype))
        else:
            new.append(np.zeros_like(weight))
    layer.set_weights(new)


def cascading_randomization(
    model: keras.Model,
    images: np.ndarray,
    method: str,
    target: int | np.ndarray = 1,
    *,
    reference: np.ndarray | None = None,
    seed: int = 0,
    batch_size: int = 64,
    **params: Any,
) -> SanityResult:
    """Correlate a backend's maps on the trained model with maps on randomised copies.

    Parameters
    ----------
    model : keras.Model
        The trained classifier; never modified (the cascade runs on a clone).
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    method : str
        A backend name from :func:`mirnamap.saliency.list_backends`.
    target : int or np.ndarray
        Class whose logit is explained, or ``int (N,)``. Default is 1.
    reference : np.ndarray, optional
        ``float32 (N, 25, 100)``: the trained model's maps, if already computed.
    seed : int, optional
        Seeds the new weights and the backend. Default is 0.
    batch_size : int, optional
        Passed to the backend. Default is 64.
    **params
        Backend options.

    Returns
    -------
    SanityResult
    """
    import keras

    from mirnamap.saliency import explain

    def maps_of(m: keras.Model) -> np.ndarray:
        return explain(
            m, images, method, target, batch_size=batch_size, seed=seed, progress=False, **params
        )

    if reference is None:
        reference = maps_of(model)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    rng = np.random.default_rng(seed)
    names = randomizable_layers(clone)
    steps = []
    for name in names:
        _reinitialise(clone.get_layer(name), rng)
        maps = maps_of(clone)
        rho = spearman(np.abs(reference), np.abs(maps))
        # A map made constant by the randomisation (Grad-CAM's ReLU zeroes it) has lost
        # every ranking of the trained map: no rank association, 0 rather than undefined.
        flat = np.ptp(np.abs(maps).reshape(len(maps), -1), axis=1) == 0
        steps.append(np.where(flat & np.isnan(rho), 0.0, rho))
    return SanityResult(tuple(names), np.asarray(steps, dtype=np.float64))
