"""The training data of :func:`~mirnamap.train.train`: balanced class weights, a seeded
stratified validation share, the labels' checks, and the ``tf.data`` pipelines that feed
the network ``uint8`` images: the validation batches, and the training stream whose
shuffling order is a function of the seed and the epoch alone (:func:`epoch_orders`), so
that a resumed run sees the orders an uninterrupted one would.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mirnamap._typing import Labels

__all__ = [
    "balanced_class_weight",
    "check_labels",
    "dataset",
    "epoch_orders",
    "stratified_split",
    "training_stream",
]


def balanced_class_weight(labels: Labels) -> dict[int, float]:
    """Class weights ``n / (k * n_c)`` that give each class the same total weight.

    Parameters
    ----------
    labels : np.ndarray
        ``int (N,)`` class labels 0..k-1.

    Returns
    -------
    dict of int to float
        The weight of each class present.

    >>> balanced_class_weight(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    return {
        int(c): float(labels.size / (classes.size * n))
        for c, n in zip(classes, counts, strict=True)
    }


def stratified_split(labels: Labels, fraction: float, seed: int = 0) -> np.ndarray:
    """A seeded, stratified validation share: ``fraction`` of each class, drawn at random.

    Each class with at least two records gives ``max(1, round(fraction * n))`` of them
    (so both classes are validated even when one is rare); a class of one stays in
    training.

    Parameters
    ----------
    labels : np.ndarray
        ``int (N,)`` class labels.
    fraction : float
        Share held out, in (0, 1).
    seed : int, optional
        Seed of the draw. Default is 0.

    Returns
    -------
    np.ndarray
        ``bool (N,)``: True for the validation records.

    >>> mask = stratified_split(np.array([0] * 8 + [1] * 2), 0.25, seed=0)
    >>> int(mask[:8].sum()), int(mask[8:].sum())
    (2, 1)
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(fraction * members.size)) if members.size > 1 else 0
        mask[rng.choice(members, size=take, replace=False)] = True
    return mask


def check_labels(labels: Labels, n_images: int, n_classes: int, what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n_images,):
        raise ValueError(f"{what}: {n_images} images but labels of shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{what}: labels must be integers, got {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{what}: labels must be in 0..{n_classes - 1}, got {np.unique(labels)}")
    return labels.astype(np.int32)


def dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    weights: np.ndarray | None = None,
):
    """An unshuffled tf.data pipeline of uint8 images (validation), prefetched."""
    import tensorflow as tf

    parts = (images, labels) if weights is None else (images, labels, weights)
    data = tf.data.Dataset.from_tensor_slices(parts)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def epoch_orders(n: int, seed: int, epochs: int, first_epoch: int = 0) -> np.ndarray:
    """The shuffling order of each epoch: epoch ``e`` is ``permutation(n)`` drawn with
    ``numpy.random.default_rng([seed, e])``, a function of the seed and the epoch only.

    So a resumed run (``first_epoch`` > 0) sees the orders an uninterrupted one would.

    Returns
    -------
    np.ndarray
        ``int64 (epochs - first_epoch, n)``.

    >>> epoch_orders(4, seed=0, epochs=3, first_epoch=1).tolist() == (
    ...     epoch_orders(4, seed=0, epochs=3)[1:].tolist())
    True
    """
    orders = [np.random.default_rng([seed, e]).permutation(n) for e in range(first_epoch, epochs)]
    return np.stack(orders) if orders else np.empty((0, n), dtype=np.int64)


def training_stream(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, epochs: int, first: int
):
    """The training batches of epochs ``first .. epochs - 1`` as one tf.data stream, and
    the number of batches an epoch.

    Fed to ``fit`` with ``steps_per_epoch``, Keras keeps one iterator over the stream, so
    each epoch gets its own order (:func:`epoch_orders`) whatever the number of iterators
    Keras opens; uint8 images are gathered per batch, prefetched.
    """
    import tensorflow as tf

    steps = math.ceil(images.shape[0] / batch_size)
    orders = epoch_orders(images.shape[0], seed, epochs, first).astype(np.int32)
    pool_images, pool_labels = tf.constant(images), tf.constant(labels)
    data = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size)
    )
    data = data.map(
        lambda index: (tf.gather(pool_images, index), tf.gather(pool_labels, index)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return data.prefetch(tf.data.AUTOTUNE), steps
