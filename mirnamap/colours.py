"""Colour scaling of signed scores, shared by :mod:`mirnamap.plot` and :mod:`mirnamap.export`.

Signed scores are drawn with a diverging colour map on symmetric limits ``[-m, m]``, so
that 0 is the neutral colour (blue negative, white 0, red positive). Pure numpy: the
colour map is named here, and only the modules that draw look it up in matplotlib.

>>> symmetric_limit([0.5, -2.0, float("nan")])
2.0
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["DIVERGING", "symmetric_limit"]

#: The diverging matplotlib colour map used for signed scores (negative blue, positive red).
DIVERGING = "RdBu_r"


def symmetric_limit(values: npt.ArrayLike) -> float:
    """The largest finite ``|value|``, or 1.0 if there is none or it is 0.

    Signed scores are drawn on ``[-limit, limit]`` so that 0 is the neutral colour.

    Parameters
    ----------
    values : array_like
        Scores of any shape; NaN and infinities are ignored.

    Returns
    -------
    float
        The limit, always > 0.

    Examples
    --------
    >>> symmetric_limit([0.0, float("nan")])
    1.0
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size else 0.0
    return limit if limit > 0 else 1.0
