"""The results of the pipeline's verbs, with one surface: ``to_frame()``,
``failures_frame()`` and ``save(target) -> list[Path]`` (the files written).

* :class:`Predictions` (:func:`~mirnamap.pipeline.predict_hairpins`): P(pre-miRNA) per record;
* :class:`Explanation` (:func:`~mirnamap.pipeline.explain_hairpins`): maps per method, on the
  image and on the nucleotides;
* :class:`StreamSummary` (:func:`~mirnamap.pipeline.stream_predictions`,
  :func:`~mirnamap.pipeline.stream_explanations`): what a streamed run wrote.

``save(target)``: ``target`` is a folder, into which the result writes its files under
their usual names; a result that is one file (a predictions TSV) also takes that file's
own path (``save("p.tsv")``).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mirnamap.errors import Failure, MirnamapWarning, failures_frame
from mirnamap.files import atomic_write, check_output_dir, check_output_file
from mirnamap.pipeline.writers import (
    PREDICTIONS_TABLE,
    write_explanation,
    write_predictions,
)
from mirnamap.project import Projection, region_shares
from mirnamap.structure import REGIONS, regions

if TYPE_CHECKING:
    import pandas as pd

    from mirnamap._typing import Images, Layout

__all__ = ["Explanation", "Predictions", "StreamSummary"]


@dataclass(frozen=True, eq=False)
class Predictions:
    """P(pre-miRNA) for every input record (NaN where a record has no image).

    Attributes
    ----------
    ids : tuple of str
        N record ids, in input order.
    probabilities : np.ndarray
        ``float64 (N,)``: P(pre-miRNA) (of the ensemble: the softmax of the mean logits); NaN
        for a failed record.
    failures : tuple of Failure
        The records without a prediction.
    labels : np.ndarray or None
        ``int8 (N,)`` true labels of a labelled image archive, else None.
    threshold : float
        A record is called pre-miRNA at ``probability >= threshold``.
    sd : np.ndarray or None
        ``float64 (N,)``: standard deviation of P(pre-miRNA) across the ensemble's members
        (None for a single model).
    calibrated : np.ndarray or None
        ``float64 (N,)``: the temperature-scaled P(pre-miRNA) of the ensemble (None for a
        single model).
    threshold_source : str
        "model" (the model's stored operating point) or "given" (by the caller).
    flag_sd : float or None
        The ensemble's "unsure" rule (:attr:`mirnamap.ensemble.Ensemble.flag_sd`): a call
        is flagged where ``sd >= flag_sd``; None flags none.
    """

    ids: tuple[str, ...]
    probabilities: np.ndarray
    failures: tuple[Failure, ...]
    labels: np.ndarray | None
    threshold: float = 0.5
    sd: np.ndarray | None = None
    calibrated: np.ndarray | None = None
    threshold_source: str = "given"
    flag_sd: float | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def ok(self) -> np.ndarray:
        """``bool (N,)``: the records that have a prediction."""
        return ~np.isnan(self.probabilities)

    @property
    def predicted(self) -> np.ndarray:
        """``int8 (N,)``: 1 = called pre-miRNA, 0 = not, -1 = no prediction."""
        called = (self.probabilities >= self.threshold).astype(np.int8)
        return np.where(self.ok, called, np.int8(-1)).astype(np.int8)

    @property
    def flagged(self) -> np.ndarray:
        """``bool (N,)``: the calls the members' spread marks unsure (``sd >= flag_sd``;
        none for one model, a rule-less ensemble or a record without a prediction)."""
        from mirnamap.flags import flag_calls

        if self.sd is None:
            return np.zeros(len(self.ids), dtype=bool)
        return flag_calls(self.sd, self.flag_sd) & self.ok

    def metrics(self) -> dict[str, Any] | None:
        """:func:`mirnamap.evaluate.metrics` on the labelled records, or None without labels."""
        if self.labels is None or not self.ok.any():
            return None
        from mirnamap.evaluate import metrics

        ok = self.ok
        return metrics(self.labels[ok], self.probabilities[ok], self.threshold)

    def to_frame(self) -> pd.DataFrame:
        """One row per record: id, probability, [sd, calibrated,] predicted, [flag,]
        threshold, status, reason [and label]. ``flag`` ("unsure" or "") is there for an
        ensemble."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "id": list(self.ids),
                "probability": self.probabilities.astype(np.float64),
                "predicted": pd.array(np.where(self.ok, self.predicted, 0), dtype="Int8"),
                "threshold": np.where(self.ok, self.threshold, np.nan),
                "status": np.where(self.ok, "ok", "error"),
                "reason": [""] * len(self.ids),
            }
        )
        frame.loc[~self.ok, "predicted"] = pd.NA
        if self.sd is not None:
            frame.insert(2, "sd", self.sd)
            frame.insert(3, "calibrated", self.calibrated)
            from mirnamap.flags import LABEL

            frame.insert(5, "flag", np.where(self.flagged, LABEL, ""))
        for f in self.failures:
            frame.loc[f.index, "reason"] = f.reason
        if self.labels is not None:
            frame["label"] = self.labels.astype(np.int8)
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """One row per record without a prediction: index, id, reason, stage."""
        return failures_frame(self.failures)

    def save(self, target: str | os.PathLike[str]) -> list[Path]:
        """Write the TSV that ``mirnamap predict`` writes: one row per input record.

        ``target`` is a folder (the file is ``predictions.tsv`` in it) or, ending in
        ``.tsv``, the file itself. Returns ``[the TSV]``.
        """
        target = Path(target)
        if target.suffix.lower() == ".tsv":
            path = check_output_file(target)
        else:
            path = check_output_dir(target) / PREDICTIONS_TABLE
        return [write_predictions(path, self)]


@dataclass(frozen=True, eq=False)
class Explanation:
    """Saliency maps of M hairpins, on the image and on the nucleotides, per method.

    Attributes
    ----------
    ids, sequences, structures : tuple of str
        The M explained records, in input order (sequences upper-case, T -> U).
    index : np.ndarray
        ``int64 (M,)``: each record's position in the input.
    probabilities : np.ndarray
        ``float32 (M,)``: P(pre-miRNA).
    images : np.ndarray
        ``uint8 (M, 25, 100, 3)``.
    layout : np.ndarray
        ``int16 (M, 25, 100)``: the sequence position painting each pixel.
    methods : tuple of str
        The backends, in the order asked for.
    maps : dict of str to np.ndarray
        Per method the raw signed pixel maps ``float32 (M, 25, 100)``.
    projections : dict of str to Projection
        Per method the maps summed onto nucleotides (:func:`mirnamap.project.project`).
    magnitudes : dict of str to Projection
        Per method ``np.abs(maps)`` projected: where the saliency magnitude falls.
    failures : tuple of Failure
        The records asked for that have no explanation, with stage and reason.
    n_records : int
        Records asked for: M + the failures.
    target : int or None
        The explained class logit (1 = pre-miRNA, 0 = negative, None = each predicted).
    seed : int
        Seed of the stochastic backends.
    params : dict
        The backend options used, per method.
    members : tuple of str
        The ensemble's members whose maps were averaged (one for a single model).
    probability_sd : np.ndarray
        ``float64 (M,)``: standard deviation of P(pre-miRNA) across the members.
    flag_sd : float or None
        The ensemble's "unsure" cut (:attr:`mirnamap.ensemble.Ensemble.flag_sd`); the
        pictures of a record in :attr:`flagged` say so in their heading.
    sd_maps : dict of str to np.ndarray
        Per method the per-pixel standard deviation of the members' maps
        ``float32 (M, 25, 100)`` (zeros for one member).
    sd_scores : dict of str to tuple of np.ndarray
        Per method and record the per-nucleotide standard deviation of the members'
        scores ``float64 (L_i,)`` (NaN where no pixel; 0 for one member).
    seconds : dict of str to float
        Per method the time its maps took (all members, and their spread), without
        reading the input, predicting or projecting the mean.
    channel_maps : dict of str to np.ndarray
        With ``explain_hairpins(..., channels=True)``, per method whose backend can keep
        the colour channels (the gradient family, gradient x input, integrated gradients,
        SHAP) the mean maps per channel ``float32 (M, 25, 100, 3)`` (R, G, B); their sum
        over channels is ``maps``.
    precision : str
        The arithmetic the maps ran in ("float32", "bfloat16" or "float16"; see
        :mod:`mirnamap.precision`); the probabilities are always float32.
    member_samples : str
        "each" (every member drew all the samples) or "split" (the members shared them
        out; the spread of the sampling backends is then NaN).
    agreement : dict of str to tuple of np.ndarray
        Per saliency method and record the share of the members whose nucleotide score
        has the sign of the mean ``float64 (L_i,)``
        (:func:`~mirnamap.pipeline.maps.sign_agreement`; 1 for one member, NaN where
        no pixel or with ``member_samples="split"``); absent for ``ism``. The pictures
        and the report mark a nucleotide whose agreement is below
        :data:`mirnamap.plot.MIN_AGREEMENT`.
    calibrated : np.ndarray or None
        ``float64 (M,)``: the temperature-scaled P(pre-miRNA) of the ensemble
        (:attr:`Predictions.calibrated`); the call uses ``probabilities``.
    threshold : float
        The model's operating point (:attr:`mirnamap.ensemble.Ensemble.threshold`): a
        record is called pre-miRNA at ``probabilities >= threshold`` (the report's
        default).
    """

    ids: tuple[str, ...]
    sequences: tuple[str, ...]
    structures: tuple[str, ...]
    index: np.ndarray
    probabilities: np.ndarray
    images: Images
    layout: Layout
    methods: tuple[str, ...]
    maps: dict[str, np.ndarray]
    projections: dict[str, Projection]
    magnitudes: dict[str, Projection]
    failures: tuple[Failure, ...]
    n_records: int
    target: int | None = 1
    seed: int = 0
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: tuple[str, ...] = ("model",)
    probability_sd: np.ndarray | None = None
    sd_maps: dict[str, np.ndarray] = field(default_factory=dict)
    sd_scores: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    channel_maps: dict[str, np.ndarray] = field(default_factory=dict)
    precision: str = "float32"
    member_samples: str = "each"
    agreement: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)
    calibrated: np.ndarray | None = None
    threshold: float = 0.5
    flag_sd: float | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def flagged(self) -> np.ndarray:
        """``bool (M,)``: the records whose call the members' spread marks unsure
        (``probability_sd >= flag_sd``, :mod:`mirnamap.flags`; none for one model)."""
        from mirnamap.flags import flag_calls

        if self.probability_sd is None:
            return np.zeros(len(self.ids), dtype=bool)
        return flag_calls(self.probability_sd, self.flag_sd)

    def scores(self, method: str) -> tuple[np.ndarray, ...]:
        """Per record the nucleotide scores ``float64 (L_i,)`` of ``method`` (NaN: no pixel)."""
        if method not in self.projections:
            raise ValueError(f"{method!r} was not computed; methods: {', '.join(self.methods)}")
        return self.projections[method].scores

    def region_shares(self, method: str) -> np.ndarray:
        """``float64 (M, 7)``: shares of the |map| per region, background and gap (sum 1).

        Columns: :data:`mirnamap.project.REGIONS`, then background, then gap; NaN rows
        for an all-zero map.
        """
        self.scores(method)
        return region_shares(self.magnitudes[method], self.structures, ids=self.ids)

    def to_frame(self) -> pd.DataFrame:
        """A long table: one row per nucleotide per method.

        Columns: ``id``, ``position`` (1-based), ``nucleotide``, ``structure`` (its
        dot-bracket symbol), ``region`` (of :data:`mirnamap.project.REGIONS`),
        ``probability`` (P(pre-miRNA) of the record), ``method``, ``score`` (NaN for a
        nucleotide that paints no pixel) and ``sd`` (its standard deviation across the
        ensemble's members; 0 for a single model).
        """
        import pandas as pd

        lengths = np.array([len(s) for s in self.sequences], dtype=np.int64)
        record = np.repeat(np.arange(len(self)), lengths)
        base = {
            "id": np.asarray(self.ids, dtype=object)[record] if len(self) else [],
            "position": np.concatenate([np.arange(1, n + 1) for n in lengths])
            if len(self)
            else np.zeros(0, np.int64),
            "nucleotide": list("".join(self.sequences)),
            "structure": list("".join(self.structures)),
            "region": np.asarray(REGIONS, dtype=object)[
                np.concatenate([regions(s) for s in self.structures])
            ]
            if len(self)
            else [],
            "probability": self.probabilities.astype(np.float64)[record],
        }
        parts = []
        for method in self.methods:
            scores = self.projections[method].scores
            part = pd.DataFrame(base)
            part["method"] = method
            part["score"] = np.concatenate(scores) if scores else np.zeros(0)
            spread = self.sd_scores.get(method, ())
            part["sd"] = np.concatenate(spread) if spread else np.zeros(len(part))
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(base)
        for column in ("id", "nucleotide", "structure", "region", "method"):
            if column in frame:
                frame[column] = frame[column].astype("category" if column != "id" else object)
        return frame

    def summary_frame(self) -> pd.DataFrame:
        """One row per record: id, length, probability and per method the region shares."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "id": list(self.ids),
                "length": [len(s) for s in self.sequences],
                "p_pre_mirna": self.probabilities.astype(np.float64),
            }
        )
        names = (*REGIONS, "background", "gap")
        for method in self.methods:
            shares = self.region_shares(method)
            for j, name in enumerate(names):
                frame[f"{method}:{name}"] = shares[:, j]
        return frame

    def failures_frame(self) -> pd.DataFrame:
        """One row per record without an explanation: index, id, reason, stage."""
        return failures_frame(self.failures)

    def save(
        self,
        folder: str | os.PathLike[str],
        *,
        pictures: bool = True,
        svg: bool = False,
        progress: bool | None = None,
    ) -> list[Path]:
        """Write what ``mirnamap explain`` writes.

        ``saliency.tsv`` (one row per nucleotide, a column per method, and for an ensemble
        a ``<method>:sd`` column of the members' spread beside each), ``summary.tsv``
        (per record the region shares), ``failed.tsv`` (id, reason) and, with
        ``pictures``, a folder per record (``track.png``, ``hairpin_<m>.png``,
        ``structure_<m>.png``, ``backends.png``, ``colours.txt``) named uniquely after
        its id, and ``pictures.tsv`` mapping each id to its folder.

        Parameters
        ----------
        folder : path
            Output folder (created; checked to be writable before anything is written).
        pictures : bool, optional
            Write the per-record pictures. Default is True.
        svg : bool, optional
            Also write every picture as SVG. Default is False.
        progress : bool, optional
            Show a progress bar over records. Default is None: on a terminal.

        Returns
        -------
        list of Path
            The files written. Records whose pictures could not be drawn are listed in
            ``failed.tsv`` (stage "pictures") and named in a :class:`MirnamapWarning`.
        """
        folder = check_output_dir(folder)
        written, failed = write_explanation(
            folder, self, pictures=pictures, svg=svg, progress=progress
        )
        if failed:
            shown = "; ".join(f"{f.id}: {f.reason}" for f in failed[:3])
            more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
            warnings.warn(
                f"{len(failed)} record(s) have no pictures ({shown}{more}); see "
                f"{folder / 'failed.tsv'}",
                MirnamapWarning,
                stacklevel=2,
            )
        return written

    def save_html(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Write the interactive, offline HTML report (:func:`mirnamap.report.save_html`,
        which takes the ``options``: ``threshold``, ``title``, ``verdicts``, ``layout``)."""
        from mirnamap.report import save_html

        return save_html(self, path, **options)


@dataclass(frozen=True)
class StreamSummary:
    """What a streamed run wrote.

    Attributes
    ----------
    path : Path
        The predictions TSV, or the explanation folder.
    files : tuple of Path
        Every file the run appended to (the journal last).
    n_records : int
        Input records (asked for, with ``ids``).
    n_ok : int
        Records with a prediction (an explanation).
    n_failed : int
        Records without, each with its reason in the output.
    n_resumed : int
        Records found already written by an interrupted run and skipped.
    n_chunks : int
        Chunks of the input.
    seconds : float
        Wall time of the run.
    """

    path: Path
    files: tuple[Path, ...]
    n_records: int
    n_ok: int
    n_failed: int
    n_resumed: int
    n_chunks: int
    seconds: float

    @property
    def records_per_second(self) -> float:
        """Records processed (not resumed) per second of the run."""
        done = self.n_records - self.n_resumed
        return done / self.seconds if self.seconds > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row: path, n_records, n_ok, n_failed, n_resumed, n_chunks, seconds."""
        import pandas as pd

        row = {k: v for k, v in asdict(self).items() if k != "files"}
        row["path"] = str(self.path)
        return pd.DataFrame([row])

    def failures_frame(self) -> pd.DataFrame:
        """The failed records as written (``status`` column of a predictions TSV, or
        ``failed.tsv`` of an explanation folder): index (the row among the records
        written), id, reason; the stage is not written, and left empty."""
        import csv

        explained = self.path.is_dir()
        table = self.path / "failed.tsv" if explained else self.path
        with open(table, encoding="utf-8", newline="") as handle:
            rows = csv.DictReader(handle, delimiter="\t")
            found = [
                Failure(k, row["id"], row["reason"], "")
                for k, row in enumerate(rows)
                if explained or row["status"] != "ok"
            ]
        return failures_frame(found)

    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``run.json`` (these counts and the files written) into ``folder``."""
        path = check_output_dir(folder) / "run.json"
        record = asdict(self) | {"path": str(self.path), "files": [str(f) for f in self.files]}
        with atomic_write(path) as handle:
            json.dump(record, handle, indent=2)
        return [path]
