"""Batching: the default batch size and its check, consecutive batches, and how many
images a multi-pass backend expands at once (:func:`group_size`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = [
    "BATCH_SIZE",
    "MAX_DERIVED",
    "batches",
    "check_batch_size",
    "group_size",
]

#: Default number of images (or noisy samples, path points, occluded copies) per forward
#: and backward pass.
BATCH_SIZE = 64
#: At most this many derived images (noisy copies, path points, occluded copies) are held in
#: memory at once by the multi-pass backends (4096 images of 25 x 100 x 3 float32: 123 MB).
MAX_DERIVED = 4096


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
