"""The splits of an ensemble run (:func:`~mirnamap.members.train_ensemble`): a seeded,
stratified calibration share that no member trains or stops on, and the rest dealt into
folds, class by class (:func:`ensemble_splits`), or a split given by the caller, checked
(:func:`check_split`). Member ``k`` stops early on fold ``k mod folds`` and trains on the
others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.cards import CALIBRATION

if TYPE_CHECKING:
    from mirnamap._typing import Labels

__all__ = ["check_split", "ensemble_splits"]


def ensemble_splits(
    labels: Labels, *, folds: int = 5, calibration_fraction: float = 0.1, seed: int = 0
) -> np.ndarray:
    """The seeded, stratified splits of :func:`~mirnamap.members.train_ensemble`.

    A calibration share (:func:`mirnamap.train.stratified_split` of
    ``calibration_fraction``, seed ``seed``), then the rest dealt round-robin into
    ``folds`` folds, class by class, in a seeded random order; every fold gets about the
    same number of each class.

    Parameters
    ----------
    labels : np.ndarray
        ``int (N,)`` 0/1.
    folds : int, optional
        Default is 5.
    calibration_fraction : float, optional
        In [0, 1); 0 keeps no calibration share. Default is 0.1.
    seed : int, optional
        Default is 0.

    Returns
    -------
    np.ndarray
        ``int8 (N,)``: the fold 0..folds-1 of each record, or :data:`~mirnamap.cards.CALIBRATION`.

    >>> split = ensemble_splits(np.array([0] * 20 + [1] * 10), folds=2, seed=1)
    >>> int((split == CALIBRATION).sum()), np.bincount(split[split >= 0]).tolist()
    (3, [14, 13])
    """
    from mirnamap.train import stratified_split

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if not 0.0 <= calibration_fraction < 1.0:
        raise ValueError(f"calibration_fraction must be in [0, 1), got {calibration_fraction}")
    split = np.full(labels.shape[0], CALIBRATION, dtype=np.int8)
    calibration = (
        stratified_split(labels, calibration_fraction, seed)
        if calibration_fraction > 0
        else np.zeros(labels.shape[0], dtype=bool)
    )
    rest = np.flatnonzero(~calibration)
    rest = rest[np.random.default_rng([seed, 1]).permutation(rest.size)]
    for value in np.unique(labels):
        members = rest[labels[rest] == value]
        split[members] = np.arange(members.size) % folds
    return split


def check_split(split: Any, n: int, folds: int) -> np.ndarray:
    split = np.asarray(split)
    if split.shape != (n,) or not np.issubdtype(split.dtype, np.integer):
        raise ValueError(f"split must be integers of shape ({n},), got {split.dtype} {split.shape}")
    bad = ~np.isin(split, [CALIBRATION, *range(folds)])
    if bad.any():
        raise ValueError(
            f"split values must be {CALIBRATION} (calibration) or folds 0..{folds - 1}; record "
            f"{int(np.flatnonzero(bad)[0])} has {int(split[bad][0])}"
        )
    return split.astype(np.int8)
