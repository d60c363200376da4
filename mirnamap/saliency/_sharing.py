"""How the samples of a sampling backend are shared out among the members of an ensemble
(:func:`share_samples`): the ensemble's mean map at the cost of one member's map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mirnamap.saliency._registry import backend_info

__all__ = ["share_samples"]


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
