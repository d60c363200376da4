"""What :func:`~mirnamap.members.train_ensemble` returns, and its files: the record of each
member (:class:`MemberRecord`) and the :class:`TrainedEnsemble` (the ensemble, the
members' records, the splits and the training records), with its tables, its card as
Markdown and :meth:`TrainedEnsemble.save`, which writes the ensemble ``.zip`` with the
manifest of the training records inside and the card beside it; :func:`load_manifest`
reads the manifest back.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.cards import CALIBRATION, MANIFEST, card_markdown
from mirnamap.errors import Failure, failures_frame
from mirnamap.files import atomic_write, check_output_file
from mirnamap.overlap import Overlap

if TYPE_CHECKING:
    import pandas as pd

    from mirnamap.ensemble import Ensemble

__all__ = ["MemberRecord", "TrainedEnsemble", "load_manifest"]


class MemberRecord(NamedTuple):
    """How one member was trained, and how it does.

    Attributes
    ----------
    name : str
        ``member_k``.
    seed : int
        Its seed (weights, dropout, shuffling): ``seed + k``.
    fold : int
        The fold it stopped early on (not trained on).
    n_train, n_validation : int
        Images trained on, and in its validation fold.
    epochs_run : int
        Epochs trained (fewer than ``epochs`` where early stopping ended it).
    seconds : float
        Wall time of its epochs (those before an interruption included).
    init : str or None
        The network it started from (``"<source>:<member name>"``), None from scratch.
    validation : dict
        :func:`mirnamap.evaluate.score_probabilities` of its own probability on its
        validation fold, at 0.5.
    calibration : dict
        The same on the calibration share.
    history : dict of str to list of float
        Per-epoch losses and metrics (:func:`mirnamap.train.train`).
    resumed_epochs : int
        Epochs read back from its checkpoint rather than run in this call.
    """

    name: str
    seed: int
    fold: int
    n_train: int
    n_validation: int
    epochs_run: int
    seconds: float
    init: str | None
    validation: dict[str, Any]
    calibration: dict[str, Any]
    history: dict[str, list[float]]
    resumed_epochs: int = 0


@dataclass(frozen=True, eq=False)
class TrainedEnsemble:
    """What :func:`~mirnamap.members.train_ensemble` returns.

    Attributes
    ----------
    ensemble : Ensemble
        The K members, with the fitted temperature, bias and threshold, and the card.
    members : tuple of MemberRecord
        How each member was trained.
    split : np.ndarray
        ``int8 (N,)``: each training record's fold, or :data:`~mirnamap.cards.CALIBRATION`.
    labels : np.ndarray
        ``int8 (N,)``.
    ids : tuple of str
        The N records' ids.
    sequences : tuple of str
        The N records' sequences ("" where unknown).
    sources : tuple of str
        The N records' source names.
    overlap : Overlap or None
        The training records found in the test set (None without a test set).
    failures : tuple of Failure
        Records of the input left out before training (not folded or drawn).
    """

    ensemble: Ensemble
    members: tuple[MemberRecord, ...]
    split: np.ndarray
    labels: np.ndarray
    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    sources: tuple[str, ...]
    overlap: Overlap | None = None
    failures: tuple[Failure, ...] = field(default=())

    @property
    def card(self) -> dict[str, Any]:
        """The card saved with the ensemble (data, options, figures, versions)."""
        return self.ensemble.card

    def to_frame(self) -> pd.DataFrame:
        """One row per member: name, seed, fold, sizes, epochs, seconds, where it started,
        and its AUROC, AUPRC and MCC on its validation fold and on the calibration share."""
        import pandas as pd

        rows = []
        for m in self.members:
            row = {k: getattr(m, k) for k in ("name", "seed", "fold", "n_train", "n_validation")}
            row.update(epochs_run=m.epochs_run, seconds=m.seconds, init=m.init or "")
            for part, scores in (("validation", m.validation), ("calibration", m.calibration)):
                for key in ("auroc", "auprc", "mcc"):
                    row[f"{part}_{key}"] = scores.get(key, math.nan)
            rows.append(row)
        return pd.DataFrame(rows)

    def manifest_frame(self) -> pd.DataFrame:
        """One row per training record: index, id, label, source, part (``fold_k`` or
        ``calibration``), sequence."""
        import pandas as pd

        parts = [("calibration" if p == CALIBRATION else f"fold_{p}") for p in self.split]
        return pd.DataFrame(
            {
                "index": np.arange(len(self.labels)),
                "id": list(self.ids),
                "label": self.labels.astype(np.int8),
                "source": list(self.sources),
                "part": parts,
                "sequence": list(self.sequences),
            }
        )

    def failures_frame(self) -> pd.DataFrame:
        """One row per input record left out before training: index, id, reason, stage."""
        return failures_frame(self.failures)

    def card_markdown(self) -> str:
        """The card as Markdown: what the ensemble is, its data, training and figures."""
        return card_markdown(self.card)

    def save(self, path: str | os.PathLike[str]) -> list[Path]:
        """Write the ensemble ``.zip`` (members, calibration, threshold, card and
        ``manifest.tsv``) and its card as ``NAME.md`` beside it; returns both paths.

        ``path`` ends in ``.zip`` (the file itself), or is a folder (``ensemble.zip`` and
        ``ensemble.md`` in it). Each file is written under a temporary name and renamed
        when complete.
        """
        from mirnamap.ensemble import save_ensemble
        from mirnamap.files import check_output_dir

        path = Path(path)
        if path.suffix != ".zip":
            path = check_output_dir(path) / "ensemble.zip"
        card_path = path.with_suffix(".md")
        for target in (path, card_path):
            check_output_file(target)
        manifest = self.manifest_frame().to_csv(sep="\t", index=False, lineterminator="\n")
        save_ensemble(self.ensemble, path, files={MANIFEST: manifest})
        with atomic_write(card_path) as handle:
            handle.write(self.card_markdown())
        return [path, card_path]


def load_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest of the training records stored in an ensemble file by
    :meth:`TrainedEnsemble.save` (:meth:`TrainedEnsemble.manifest_frame`).

    Raises
    ------
    ValueError
        If the file holds no manifest (the bundled ensemble keeps its data manifest in
        its card instead).
    """
    import io

    import pandas as pd

    from mirnamap.ensemble import read_ensemble_file

    try:
        text = read_ensemble_file(path, MANIFEST)
    except KeyError:
        raise ValueError(f"{path}: holds no {MANIFEST}") from None
    return pd.read_csv(io.BytesIO(text), sep="\t", dtype={"id": str, "sequence": str},
                       keep_default_na=False)  # fmt: skip
