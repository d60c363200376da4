"""The "unsure" flag: which calls the members' spread says not to trust.

An ensemble's members agree on most hairpins and disagree on the ones they were not
trained to tell apart: on the bundled ensemble's held-out errors the median standard
deviation of the members' P(pre-miRNA) was 0.11, on its true pre-miRNAs 0.02. A call is
flagged ``unsure`` when that spread is at least a cut; :func:`choose_flag_rule` picks the
cut on records the members never trained on (the calibration share of
:func:`mirnamap.members.train_ensemble`), and the ensemble stores it
(:attr:`mirnamap.ensemble.Ensemble.flag_sd`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

__all__ = ["LABEL", "FlagRule", "choose_flag_rule", "flag_calls"]

#: What a flagged call is marked with (the ``flag`` column of the predictions).
LABEL = "unsure"


class FlagRule(NamedTuple):
    """A cut on the members' spread and what it did on the records it was chosen on.

    Attributes
    ----------
    sd : float
        A call is flagged where the members' sd of P(pre-miRNA) is ``>= sd``.
    errors_caught, errors : int
        Wrong calls flagged, of all wrong calls.
    right_flagged, right : int
        Right calls flagged, of all right calls.
    """

    sd: float
    errors_caught: int
    errors: int
    right_flagged: int
    right: int

    def as_dict(self) -> dict[str, Any]:
        """The rule as plain numbers, with the two shares (for a card)."""
        return self._asdict() | {
            "share_of_errors_caught": self.errors_caught / self.errors if self.errors else None,
            "share_of_right_calls_flagged": self.right_flagged / self.right if self.right else None,
        }


def flag_calls(sd: np.ndarray, cut: float | None) -> np.ndarray:
    """``bool (N,)``: the calls whose spread ``sd`` (N,) is at least ``cut`` (none for None
    or a NaN spread).

    >>> flag_calls(np.array([0.01, 0.2, np.nan]), 0.1).tolist()
    [False, True, False]
    """
    sd = np.asarray(sd, dtype=np.float64)
    if cut is None:
        return np.zeros(sd.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(sd, nan=-np.inf) >= cut


def choose_flag_rule(
    labels: np.ndarray, probabilities: np.ndarray, sd: np.ndarray, threshold: float
) -> FlagRule | None:
    """The cut on the spread that best tells the wrong calls from the right ones.

    The calls are ``probabilities >= threshold``; the cut maximises the share of wrong
    calls flagged minus the share of right calls flagged (Youden's J of the spread as a
    detector of errors), the largest such cut on a tie.

    Parameters
    ----------
    labels : np.ndarray
        ``(N,)`` 0/1 true labels.
    probabilities : np.ndarray
        ``(N,)`` the ensemble's P(pre-miRNA).
    sd : np.ndarray
        ``(N,)`` the members' standard deviation of it.
    threshold : float
        The decision threshold of the calls.

    Returns
    -------
    FlagRule or None
        None where there is no wrong or no right call, or no cut flags more of the wrong
        calls than of the right ones (one member: no spread).

    Raises
    ------
    ValueError
        For arrays of other shapes than (N,), or NaN in them.

    >>> rule = choose_flag_rule(np.array([1, 1, 1, 0]), np.array([.9, .8, .3, .2]),
    ...                         np.array([.01, .02, .15, .01]), 0.5)
    >>> rule.sd, rule.errors_caught, rule.right_flagged
    (0.15, 1, 0)
    """
    y = np.asarray(labels).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    s = np.asarray(sd, dtype=np.float64)
    if not (y.ndim == 1 and p.shape == y.shape == s.shape):
        raise ValueError(f"labels, probabilities and sd must be (N,), got {y.shape}, "
                         f"{p.shape} and {s.shape}")  # fmt: skip
    if np.isnan(p).any() or np.isnan(s).any():
        raise ValueError("probabilities and sd must not be NaN")
    wrong = (p >= threshold).astype(np.int64) != y
    n_wrong, n_right = int(wrong.sum()), int((~wrong).sum())
    if n_wrong == 0 or n_right == 0:
        return None
    cuts = np.unique(s)[::-1]  # largest first, so a tie keeps the largest cut
    wrong_sd, right_sd = np.sort(s[wrong]), np.sort(s[~wrong])
    caught = n_wrong - np.searchsorted(wrong_sd, cuts, side="left")
    flagged = n_right - np.searchsorted(right_sd, cuts, side="left")
    # Youden's J times n_wrong * n_right, in integers: ties are exact, not rounded.
    j = caught * n_right - flagged * n_wrong
    best = int(np.argmax(j))
    if j[best] <= 0:
        return None
    return FlagRule(float(cuts[best]), int(caught[best]), n_wrong, int(flagged[best]), n_right)
