"""The Gini bottleneck of :func:`~mirnamap.train.train`: how evenly each unit of a dense
layer spreads its weights, measured and penalised. :func:`gini_index` and
:func:`mass_count` measure any kernel (Henderson, Clevert & Montanari 2021,
arXiv:2105.04854), :func:`gini_penalty` is the differentiable loss term, and the
regularizer, the option check and the per-epoch tracker are what ``train(gini=...)``
attaches to a layer of :data:`GINI_LAYERS`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "GINI_EPSILON",
    "GINI_LAYERS",
    "check_gini",
    "gini_index",
    "gini_penalty",
    "gini_regularizer",
    "gini_tracker",
    "mass_count",
]

#: Layers the Gini penalty of :func:`~mirnamap.train.train` can act on (names in
#: :func:`~mirnamap.model.build_model`).
GINI_LAYERS = ("logits", "dense")
#: Added to twice the mean |w| before dividing: the Gini index of an all-zero unit is 0,
#: and its gradient stays finite.
GINI_EPSILON = 1e-12


def _unit_magnitudes(kernel: np.ndarray) -> tuple[np.ndarray, bool]:
    """``|kernel|`` as ``float64 (n_inputs, n_units)``, and whether it was one unit."""
    w = np.abs(np.asarray(kernel, dtype=np.float64))
    vector = w.ndim == 1
    w = w[:, None] if vector else w
    if w.ndim != 2 or w.shape[0] == 0:
        raise ValueError(f"kernel must have shape (n_inputs, n_units), got {np.shape(kernel)}")
    return w, vector


def gini_index(kernel: np.ndarray) -> np.ndarray:
    """The Gini index of ``|w|`` of each output unit of a dense kernel.

    Gini = mean absolute difference / (2 * mean), over the unit's input weights: 0 when
    every weight has the same magnitude, ``1 - 1/n`` when one of the ``n`` carries it all
    (Henderson, Clevert & Montanari 2021, arXiv:2105.04854; arXiv:2010.04535).

    Parameters
    ----------
    kernel : np.ndarray
        ``float (n_inputs, n_units)``: a Dense layer's kernel (inputs x outputs); a vector
        ``(n_inputs,)`` is one unit.

    Returns
    -------
    np.ndarray
        ``float64 (n_units,)`` (a float for a vector).

    >>> float(gini_index(np.array([1.0, 1.0, 1.0, 1.0])))
    0.0
    >>> round(float(gini_index(np.array([0.0, 0.0, 0.0, 2.0]))), 9)
    0.75
    """
    w, vector = _unit_magnitudes(kernel)
    n = w.shape[0]
    x = np.sort(w, axis=0)
    rank = 2 * np.arange(1, n + 1) - n - 1
    mean_difference = 2 * (rank[:, None] * x).sum(axis=0) / n**2
    out = mean_difference / (2 * x.mean(axis=0) + GINI_EPSILON)
    return out[0] if vector else out


def mass_count(kernel: np.ndarray, share: float = 0.9) -> np.ndarray:
    """How many input weights of each output unit carry ``share`` of its ``sum |w|``.

    For the ``logits`` layer: how many dense units carry 90 % of each logit's |w|.

    Parameters
    ----------
    kernel : np.ndarray
        ``float (n_inputs, n_units)`` (or one unit ``(n_inputs,)``).
    share : float, optional
        In (0, 1]. Default is 0.9.

    Returns
    -------
    np.ndarray
        ``int64 (n_units,)``: the fewest largest weights whose |w| sum reaches ``share``.

    >>> mass_count(np.array([[5.0], [4.0], [0.5], [0.5]]), 0.9).tolist()
    [2]
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    w, vector = _unit_magnitudes(kernel)
    cumulative = np.cumsum(-np.sort(-w, axis=0), axis=0)
    # A small relative tolerance: a share reached exactly is not missed by rounding.
    reached = cumulative >= share * cumulative[-1] * (1 - 1e-12)
    out = reached.argmax(axis=0).astype(np.int64) + 1
    return out[0] if vector else out


def gini_penalty(kernel, lam: float):
    """The Gini-bottleneck penalty ``lam * sum_units (1 - Gini(|w_unit|))`` (a tensor).

    Differentiable (the Gini index is written over the sorted |w|, so it costs
    ``O(n log n)`` per unit, not the ``n^2`` pairwise differences), with a finite gradient
    when every weight is equal or zero (:data:`GINI_EPSILON`). Minimising it makes each
    unit's input weights unequal (sparse). Ref. Henderson et al. 2021, arXiv:2105.04854.

    Parameters
    ----------
    kernel : tensor
        ``float32 (n_inputs, n_units)``: a Dense kernel.
    lam : float
        The penalty's weight (>= 0).

    Returns
    -------
    tensor
        A float32 scalar.
    """
    from keras import ops

    w = ops.abs(ops.transpose(ops.convert_to_tensor(kernel, dtype="float32")))
    n = int(w.shape[-1])
    x = ops.sort(w, axis=-1)
    rank = ops.convert_to_tensor(2 * np.arange(1, n + 1) - n - 1, dtype="float32")
    mean_difference = 2.0 * ops.sum(rank * x, axis=-1) / float(n * n)
    gini = mean_difference / (2.0 * ops.mean(x, axis=-1) + GINI_EPSILON)
    return float(lam) * ops.sum(1.0 - gini)


def gini_regularizer(lam: float):
    """A Keras regularizer applying :func:`gini_penalty` (built here: Keras loads lazily)."""
    import keras

    class GiniRegularizer(keras.regularizers.Regularizer):
        def __init__(self, lam: float) -> None:
            self.lam = float(lam)

        def __call__(self, x):
            return gini_penalty(x, self.lam)

        def get_config(self) -> dict[str, float]:
            return {"lam": self.lam}

    return GiniRegularizer(lam)


def check_gini(gini: float | None, gini_layer: str) -> float | None:
    if gini_layer not in GINI_LAYERS:
        raise ValueError(f"gini_layer must be one of {', '.join(GINI_LAYERS)}, got {gini_layer!r}")
    if gini is None:
        return None
    if isinstance(gini, bool) or not isinstance(gini, (int, float, np.floating, np.integer)):
        raise TypeError(f"gini must be a number >= 0 or None, got {gini!r}")
    if not (math.isfinite(float(gini)) and float(gini) >= 0):
        raise ValueError(f"gini must be a finite number >= 0, got {gini}")
    return float(gini)


def gini_tracker(layer):
    """A callback recording the mean Gini index of ``layer``'s kernel after each epoch."""
    import keras

    class GiniTracker(keras.callbacks.Callback):
        restored: tuple[float, ...] = ()

        def on_train_begin(self, logs=None):
            self.values: list[float] = list(self.restored)

        def on_epoch_end(self, epoch, logs=None):
            self.values.append(float(np.mean(gini_index(np.asarray(layer.kernel)))))

    return GiniTracker()
