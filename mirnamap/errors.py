"""The errors, warnings and the failure record every stage may raise or return.

At the bottom of the package: any stage names these without importing a later one.

* :class:`Failure`: a record without a result, and why (returned, never raised);
* :class:`InputError`: input that cannot be used at all (a ``ValueError``);
* :class:`OutputError`: a file that could not be written (an ``OSError`` naming the path);
* :class:`WorkerError`: a worker process that could not start or died;
* :class:`MirnamapWarning`: the base of every warning the library issues, so that a caller
  (the command line among them) can filter on it, and :class:`InputWarning` for input that
  is used but looks wrong.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Failure",
    "InputError",
    "InputWarning",
    "MirnamapWarning",
    "OutputError",
    "WorkerError",
    "failures_frame",
]


class Failure(NamedTuple):
    """A record without a result, and why: the one failure type of every stage.

    Attributes
    ----------
    index : int
        The record's position in the input.
    id : str
        The record's identifier.
    reason : str
        What is wrong with it, in words.
    stage : str
        Where it failed: ``"read"`` (a row of the input file), ``"fold"``, ``"encode"``
        (no image could be drawn) or ``"pictures"``. A failure of the machinery (a worker
        that died) is never a record's: it raises :class:`WorkerError`. Default is
        "encode".
    """

    index: int
    id: str
    reason: str
    stage: str = "encode"


def failures_frame(failures: Iterable[Failure]) -> pd.DataFrame:
    """One row per failed record: index, id, reason, stage (every result's table of
    failures, the same columns whatever the result)."""
    import pandas as pd

    return pd.DataFrame(list(failures), columns=list(Failure._fields))


class InputError(ValueError):
    """Input that cannot be used at all (the message names the file and what is wrong)."""


class OutputError(OSError):
    """A file that could not be written; the message names the path and the cause."""


class WorkerError(RuntimeError):
    """A worker process that could not start or died (the message says why)."""


class MirnamapWarning(UserWarning):
    """The base class of every warning mirnamap issues."""


class InputWarning(MirnamapWarning):
    """Input that is used, but looks wrong (duplicate ids, say)."""
