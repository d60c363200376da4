"""Occlusion: how much the target logit drops when a patch of the image is covered.

Every patch position is a forward pass (batched); a pixel's attribution is the mean drop
over the patches that cover it. Patches always reach the last rows and columns (a last
patch is placed flush with the edge when the stride does not land there).

Ref. Zeiler & Fergus 2014, "Visualizing and understanding convolutional networks",
arXiv:1311.2901.
"""

from __future__ import annotations

import keras
import numpy as np
import numpy.typing as npt

from mirnamap._typing import Maps
from mirnamap.saliency._batches import BATCH_SIZE, group_size
from mirnamap.saliency._gradients import target_logits
from mirnamap.saliency._inputs import backend_inputs
from mirnamap.saliency._registry import register

__all__ = ["occlusion", "patch_origins"]


def _pair(value: int | tuple[int, int], label: str) -> tuple[int, int]:
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in pair
    ):
        raise ValueError(f"{label} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def patch_origins(length: int, size: int, stride: int) -> list[int]:
    """Start positions of the patches along one axis, the last one flush with the edge.

    Examples
    --------
    >>> patch_origins(10, 3, 3)
    [0, 3, 6, 7]
    >>> patch_origins(9, 3, 3)
    [0, 3, 6]
    """
    if size > length:
        raise ValueError(f"patch size {size} is larger than the image ({length})")
    origins = list(range(0, length - size + 1, stride))
    if origins[-1] != length - size:
        origins.append(length - size)
    return origins


@register(
    "occlusion",
    family="perturbation",
    passes="patches + 1 forward only (default 101)",
    baseline="yes (fill value, default the white canvas)",
    reference="Zeiler & Fergus 2014, arXiv:1311.2901",
)
def occlusion(
    model: keras.Model,
    images: npt.ArrayLike,
    target: int | npt.ArrayLike | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
    size: int | tuple[int, int] = 5,
    stride: int | tuple[int, int] = 5,
    fill: float = 255.0,
) -> Maps:
    """Occlusion map of the target logit: mean logit drop of the patches over each pixel.

    Follows :class:`mirnamap.saliency.Backend`; ``seed`` is unused.

    Parameters
    ----------
    size : int or (int, int), optional
        Patch height and width. Default is 5 (a 5 x 5 patch; 100 patches on 25 x 100).
    stride : int or (int, int), optional
        Step between patches. Default is 5.
    fill : float, optional
        Value of the covered pixels (all channels). Default is 255, the white canvas.

    Returns
    -------
    numpy.ndarray of float32, shape (N, H, W)
        Positive where covering the pixel lowers the target logit.
    """
    x, targets, batch_size = backend_inputs(model, images, target, batch_size)
    (height, width), (ph, pw) = x.shape[1:3], _pair(size, "size")
    sh, sw = _pair(stride, "stride")
    masks = np.array(
        [
            np.pad(np.ones((ph, pw), bool), ((r, height - ph - r), (c, width - pw - c)))
            for r in patch_origins(height, ph, sh)
            for c in patch_origins(width, pw, sw)
        ]
    )  # (P, H, W)
    cover = masks.sum(axis=0, dtype=np.float32)
    base = target_logits(model, x, targets, batch_size)
    group = group_size(len(masks), batch_size)
    out = np.empty(x.shape[:3], np.float32)
    for start in range(0, len(x), group):
        image = x[start : start + group]
        covered = np.where(masks[None, :, :, :, None], np.float32(fill), image[:, None])
        logits = target_logits(
            model,
            covered.reshape(-1, *x.shape[1:]),
            np.repeat(targets[start : start + group], len(masks)),
            batch_size,
        ).reshape(len(image), len(masks))
        drop = base[start : start + group, None] - logits  # (G, P)
        out[start : start + group] = np.tensordot(drop, masks.astype(np.float32), axes=1) / cover
    return out
