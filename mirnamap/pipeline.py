"""From any input to predictions and nucleotide-level explanations, in one call.

The stages (fold, encode, model, saliency, project, plot, export) glued once, for the
command line and for Python users alike::

    import mirnamap
    result = mirnamap.explain_hairpins("hairpins.fa", methods=["gradient", "grad_cam"])
    frame = result.to_frame()          # one row per nucleotide per method
    result.save("out/explain")         # what ``mirnamap explain`` writes

A source is any of: a FASTA path (``.gz`` too), a folds TSV from ``mirnamap fold``, an
``.npz`` from ``mirnamap encode`` (or, for predictions, any ``.npz`` of images), an
:class:`~mirnamap.encode.Encoding`, a list of sequences, or a dict of id -> sequence.
:func:`read_source` reads them all. Every input record comes out with a result or a
:class:`~mirnamap.encode.Failure` that names the stage and the reason; none is dropped. Input that
cannot be used at all raises :class:`InputError` (a ``ValueError``) naming the file and
what is wrong.
"""

from __future__ import annotations

import inspect
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from mirnamap.encode import Encoding, Failure, encode_folds, load_encoding
from mirnamap.files import check_output_dir, check_output_file, unique_names
from mirnamap.fold import Fold, fold, load_folds
from mirnamap.model import TARGETS
from mirnamap.project import Projection, project, region_shares
from mirnamap.structure import REGIONS, regions

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from mirnamap._typing import Images, Layout
    from mirnamap.ensemble import Ensemble
    from mirnamap.stream import StreamSummary

__all__ = [
    "TARGETS",
    "Explanation",
    "InputError",
    "InputWarning",
    "Inputs",
    "MotifResult",
    "Predictions",
    "TrainedClassifier",
    "TrainingSet",
    "check_source_path",
    "explain_hairpins",
    "inputs_of_folds",
    "kind_of_file",
    "list_methods",
    "load_training_set",
    "motifs_of",
    "predict_hairpins",
    "read_source",
    "train_classifier",
    "training_outputs",
]

#: How an ensemble's members share a sampling backend's samples (see explain_hairpins).
MEMBER_SAMPLES = ("each", "split")

#: Anything :func:`read_source` reads.
Source = str | os.PathLike | Encoding | Sequence[str] | Mapping[str, str] | np.ndarray


class InputError(ValueError):
    """Input that cannot be used at all (the message names the file and what is wrong)."""


class InputWarning(UserWarning):
    """Input that is used, but looks wrong (duplicate ids, say)."""


class Inputs(NamedTuple):
    """Every record of a source, drawn where it could be.

    Attributes
    ----------
    ids : tuple of str
        N record ids, in input order (duplicates kept).
    images : np.ndarray
        ``uint8 (M, 25, 100, 3)``: the records that have an image.
    index : np.ndarray
        ``int64 (M,)``: each image's position among ``ids``.
    encoding : Encoding or None
        The M drawn records with sequences, structures and layout; None for an image
        archive without them (predictions only).
    failures : tuple of Failure
        The N - M records without an image.
    labels : np.ndarray or None
        ``int8 (N,)`` true labels of a labelled image archive, else None.
    name : str
        What was read, for messages.
    """

    ids: tuple[str, ...]
    images: Images
    index: np.ndarray
    encoding: Encoding | None
    failures: tuple[Failure, ...]
    labels: np.ndarray | None
    name: str


# ------------------------------------------------------------------------------ input


def inputs_of_folds(folds: list[Fold], name: str, stage_of_unfolded: str) -> Inputs:
    """Draw folded records into :class:`Inputs` (indices into ``folds``); a record that
    was not folded fails at ``stage_of_unfolded``."""
    encoding = encode_folds(folds)
    failures = tuple(
        f if folds[f.index].ok else f._replace(stage=stage_of_unfolded) for f in encoding.failures
    )
    return Inputs(
        tuple(f.id for f in folds),
        encoding.images,
        encoding.index,
        encoding,
        failures,
        None,
        name,
    )


def _from_encoding(encoding: Encoding, name: str) -> Inputs:
    total = len(encoding) + len(encoding.failures)
    ids = [""] * total
    for position, record_id in zip(encoding.index, encoding.ids, strict=True):
        ids[int(position)] = record_id
    for f in encoding.failures:
        ids[f.index] = f.id
    return Inputs(
        tuple(ids), encoding.images, encoding.index, encoding, encoding.failures, None, name
    )


def check_source_path(source: str | os.PathLike[str]) -> Path:
    """``source`` as a path to an existing file, or an :class:`InputError` naming it."""
    path = Path(source)
    if not path.exists():
        hint = (
            " (to give sequences, pass a list or a dict of id -> sequence)"
            if isinstance(source, str) and source.isalpha()
            else ""
        )
        raise InputError(f"{source}: no such file{hint}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a file")
    return path


def kind_of_file(path: Path) -> str:
    """``"npz"``, ``"fasta"`` or ``"folds"``, from the file's first bytes (read no further).

    Raises
    ------
    InputError
        Naming the file, if it is none of them (or empty, not UTF-8, damaged gzip).
    """
    from mirnamap.datasets import text_head

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:4] == b"PK\x03\x04" or path.suffix == ".npz":
        return "npz"
    # Only the file's start: the reader that follows reads the whole file once.
    text = text_head(path)  # names the file if empty, not UTF-8 or damaged gzip
    if text.lstrip()[:1] == ">":
        return "fasta"
    header = text.split("\n", 1)[0].rstrip("\r").split("\t")
    if {"id", "sequence", "structure"} <= set(header):
        return "folds"
    raise InputError(
        f"{path}: neither a FASTA file (starting with '>'), a folds table from "
        "'mirnamap fold' (columns id, sequence, structure) nor an .npz archive"
    )


def _read_npz(path: Path) -> Inputs:
    import zipfile

    from mirnamap.datasets import load_images

    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"{path}: not a readable .npz archive ({error})") from None
    if "layout" in files:
        try:
            return _from_encoding(load_encoding(path), str(path))
        except (OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
            raise InputError(f"{path}: a damaged encoding archive ({error})") from None
    image_set = load_images(path)
    n = len(image_set)
    return Inputs(
        image_set.names, image_set.images, np.arange(n), None, (), image_set.labels, str(path)
    )


def _warn_duplicates(inputs: Inputs) -> Inputs:
    seen: set[str] = set()
    duplicates = sorted({i for i in inputs.ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if duplicates:
        shown = ", ".join(repr(d) for d in duplicates[:5])
        more = f" and {len(duplicates) - 5} more" if len(duplicates) > 5 else ""
        warnings.warn(
            f"{inputs.name}: duplicate record ids {shown}{more}; every record is kept, "
            "and picture names are numbered to stay apart",
            InputWarning,
            stacklevel=3,
        )
    return inputs


def read_source(source: Source, *, workers: int | None = None) -> Inputs:
    """Read, fold and draw any kind of input.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping of str to str, np.ndarray or Inputs
        A FASTA file (plain or ``.gz``), a folds TSV from ``mirnamap fold``, an ``.npz``
        from ``mirnamap encode`` or any ``.npz`` of images (``images``, optional
        ``labels`` and ``names``); an :class:`~mirnamap.encode.Encoding`; N sequences
        (ids "0", "1", ...); a dict of id -> sequence; or ``uint8 (N, 25, 100, 3)``
        images (predictions only); an :class:`Inputs` is returned as it is.
    workers : int, optional
        Folding processes. Default is None: every core.

    Returns
    -------
    Inputs
        Every record, with an image or a :class:`Failure`. Duplicate ids are kept,
        with a warning.

    Raises
    ------
    InputError
        If the source cannot be used at all: a missing, empty, undecodable or damaged
        file, a file of another kind, no records, or a bare string that is not a file.
    """
    from mirnamap.datasets import load_fasta

    if isinstance(source, Inputs):
        return source
    if isinstance(source, Encoding):
        return _warn_duplicates(_from_encoding(source, "encoding"))
    if isinstance(source, np.ndarray):
        from mirnamap.model import check_images

        try:
            images = check_images(source)
        except (TypeError, ValueError) as error:
            raise InputError(str(error)) from None
        n = images.shape[0]
        return Inputs(tuple(map(str, range(n))), images, np.arange(n), None, (), None, "images")
    if isinstance(source, Mapping):
        ids, sequences = [str(k) for k in source], list(source.values())
        return _warn_duplicates(
            inputs_of_folds(fold(sequences, ids=ids, workers=workers), "sequences", "fold")
        )
    if isinstance(source, (str, os.PathLike)):
        path = check_source_path(source)
        try:
            kind = kind_of_file(path)
            if kind == "npz":
                inputs = _read_npz(path)
            elif kind == "fasta":
                records = load_fasta(path)
                folds = fold(records.sequences, ids=records.ids, workers=workers)
                inputs = inputs_of_folds(folds, str(path), "fold")
            else:
                folds = load_folds(path)
                inputs = inputs_of_folds(folds, str(path), "read")
        except (OSError, ValueError) as error:
            raise InputError(str(error)) from None
        if not inputs.ids:
            raise InputError(f"{path}: no records")
        return _warn_duplicates(inputs)
    if isinstance(source, Sequence):
        sequences = list(source)
        return _warn_duplicates(
            inputs_of_folds(fold(sequences, workers=workers), "sequences", "fold")
        )
    raise TypeError(
        "source must be a path, an Encoding, a list of sequences, a dict of id -> sequence "
        f"or an image array, got {type(source).__name__}"
    )


def _resolve_target(target: str | int | None) -> int | None:
    if isinstance(target, str):
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")
        return TARGETS[target]
    if target is None or target in (0, 1):
        return target
    raise ValueError(f"target must be one of {list(TARGETS)}, 0, 1 or None, got {target!r}")


# ------------------------------------------------------------------------ predictions


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
    """

    ids: tuple[str, ...]
    probabilities: np.ndarray
    failures: tuple[Failure, ...]
    labels: np.ndarray | None
    threshold: float = 0.5
    sd: np.ndarray | None = None
    calibrated: np.ndarray | None = None

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

    def metrics(self) -> dict[str, Any] | None:
        """:func:`mirnamap.evaluate.metrics` on the labelled records, or None without labels."""
        if self.labels is None or not self.ok.any():
            return None
        from mirnamap.evaluate import metrics

        ok = self.ok
        return metrics(self.labels[ok], self.probabilities[ok], self.threshold)

    def _rows(self) -> list[dict[str, str]]:
        reasons = {f.index: " ".join(f.reason.split()) for f in self.failures}
        rows = []
        for k, record_id in enumerate(self.ids):
            if k in reasons:
                row = dict.fromkeys(self._columns()[1:], "")
                row.update(status="error", reason=reasons[k])
            else:
                p = self.probabilities[k]
                row = {"probability": f"{p:.6f}"}
                if self.sd is not None and self.calibrated is not None:
                    row.update(sd=f"{self.sd[k]:.6f}", calibrated=f"{self.calibrated[k]:.6f}")
                row.update(predicted=str(int(p >= self.threshold)), status="ok", reason="")
            if self.labels is not None:
                row["label"] = str(int(self.labels[k]))
            rows.append({"id": record_id, **row})
        return rows

    def _columns(self) -> list[str]:
        """The TSV's columns: sd and calibrated for an ensemble, label where known."""
        columns = ["id", "probability"]
        if self.sd is not None:
            columns += ["sd", "calibrated"]
        columns += ["predicted", "status", "reason"]
        return columns + (["label"] if self.labels is not None else [])

    def to_frame(self) -> pd.DataFrame:
        """One row per record: id, probability, [sd, calibrated,] predicted, status,
        reason [and label]."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                "id": list(self.ids),
                "probability": self.probabilities.astype(np.float64),
                "predicted": pd.array(np.where(self.ok, self.predicted, 0), dtype="Int8"),
                "status": np.where(self.ok, "ok", "error"),
                "reason": [""] * len(self.ids),
            }
        )
        frame.loc[~self.ok, "predicted"] = pd.NA
        if self.sd is not None:
            frame.insert(2, "sd", self.sd)
            frame.insert(3, "calibrated", self.calibrated)
        for f in self.failures:
            frame.loc[f.index, "reason"] = f.reason
        if self.labels is not None:
            frame["label"] = self.labels.astype(np.int8)
        return frame

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the TSV that ``mirnamap predict`` writes: one row per input record."""
        import csv

        path = check_output_file(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        columns = self._columns()
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            writer.writerows(self._rows())
        return path


def predict_hairpins(
    source: Source,
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    *,
    members: Sequence[int | str] | None = None,
    threshold: float = 0.5,
    batch_size: int = 256,
    workers: int | None = None,
    precision: str = "float32",
    out: str | os.PathLike[str] | None = None,
    chunk_size: int = 1000,
    resume: bool = False,
    executor: Any = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> Predictions | StreamSummary:
    """Predict P(pre-miRNA) for every record of any input.

    Parameters
    ----------
    source : path, Encoding, sequence of str, mapping, or np.ndarray
        Anything :func:`read_source` reads.
    model : Ensemble, keras.Model, path or None, optional
        The classifier: an ensemble, one model, a ``.zip`` ensemble or ``.keras`` file.
        Default is None: the bundled one (:func:`mirnamap.ensemble.resolve_ensemble`).
    members : sequence of int or str, optional
        Use only these members of the ensemble. Default is None: all.
    threshold : float, optional
        Call a pre-miRNA at ``probability >= threshold``. Default is 0.5.
    batch_size : int, optional
        Images per forward pass; never changes the result. Default is 256.
    workers : int, optional
        Folding processes. Default is None: every core.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the forward passes (:mod:`mirnamap.precision`); float32 with a
        warning where the hardware lacks the instructions. Default is "float32".
    out : path, optional
        Stream: read, fold, draw and predict ``chunk_size`` records at a time and append
        their rows to this TSV (what :meth:`Predictions.save` writes), holding a few
        chunks in memory whatever the input's size; returns a
        :class:`~mirnamap.stream.StreamSummary`. Default is None: one in-memory
        :class:`Predictions`.
    chunk_size : int, optional
        Records per chunk. Default is 1000.
    resume : bool, optional
        With ``out``: skip the records an interrupted run wrote (checked by id and by a
        hash of the records and of this run's parameters) and go on. Default is False.
    executor : distributed.Client or str, optional
        A Dask cluster (a client or a scheduler address): every chunk is folded, drawn
        and predicted in a worker, which loads the model once. Default is None: folding
        in processes on this machine, the model in this one.
    temperature : float, optional
        Folding temperature in degrees Celsius, set in every folding process. Default is
        None: 37 C.
    energy_params : path or str, optional
        A ViennaRNA ``.par`` file or a set of :data:`mirnamap.fold.ENERGY_SETS`, set in
        every folding process. Default is None: Turner 2004.
    progress : bool, optional
        With chunks: a progress bar (records per second, time left). Default is None: on
        a terminal.

    Returns
    -------
    Predictions or StreamSummary
        One probability per input record (NaN with a reason for those without an image);
        with ``out``, a summary of what was written (:mod:`mirnamap.stream`).
    """
    from mirnamap.ensemble import resolve_ensemble

    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    streamed = (out, executor, temperature, energy_params)
    if resume or any(x is not None for x in streamed):  # chunked or distributed: see stream
        from mirnamap.stream import run_predict

        return run_predict(
            source, model, members=members, out=out, chunk_size=chunk_size, resume=resume,
            executor=executor, workers=workers, progress=progress, temperature=temperature,
            energy_params=energy_params, threshold=threshold, batch_size=batch_size,
            precision=precision,
        )  # fmt: skip
    ensemble = _at_precision(resolve_ensemble(model, members), precision)
    inputs = read_source(source, workers=workers)
    columns = [np.full(len(inputs.ids), np.nan) for _ in range(3)]
    if len(inputs.images):
        prediction = ensemble.predict(inputs.images, batch_size=batch_size)
        for column, values in zip(columns, prediction[:3], strict=True):
            column[inputs.index] = values
    probabilities, sd, calibrated = columns
    several = len(ensemble) > 1
    return Predictions(
        inputs.ids,
        probabilities,
        inputs.failures,
        inputs.labels,
        threshold,
        sd if several else None,
        calibrated if several else None,
    )


def _at_precision(ensemble: Ensemble, precision: str) -> Ensemble:
    """``ensemble`` with its members running in ``precision`` (float32 where unsupported)."""
    from mirnamap.ensemble import Ensemble
    from mirnamap.precision import effective_precision, precision_model

    ran = effective_precision(precision)
    if ran == "float32":
        return ensemble
    return Ensemble(
        [precision_model(member, ran) for member in ensemble.members],
        temperature=ensemble.temperature,
        bias=ensemble.bias,
        names=ensemble.names,
        card=ensemble.card,
    )


# ------------------------------------------------------------------------ explanation


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

    def __len__(self) -> int:
        return len(self.ids)

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
        """One row per record without an explanation: index, id, stage, reason."""
        import pandas as pd

        return pd.DataFrame(self.failures, columns=list(Failure._fields))

    def save(
        self,
        folder: str | os.PathLike[str],
        *,
        pictures: bool = True,
        svg: bool = False,
        progress: bool | None = None,
    ) -> tuple[Failure, ...]:
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
        tuple of Failure
            The records whose pictures could not be drawn (stage ``"pictures"``); they
            are listed in ``failed.tsv`` too.
        """
        import csv

        from mirnamap.export import write_summary, write_tsv

        folder = check_output_dir(folder)
        folder.mkdir(parents=True, exist_ok=True)
        columns = {m: self.projections[m].scores for m in self.methods}
        if len(self.members) > 1:  # the members' spread, beside each method's column
            columns = {
                name: values
                for m in self.methods
                for name, values in ((m, columns[m]), (f"{m}:sd", self.sd_scores[m]))
            }
        write_tsv(folder / "saliency.tsv", self.ids, self.sequences, self.structures, columns)
        write_summary(
            folder / "summary.tsv", self.ids, self.probabilities, self.magnitudes, self.structures
        )
        failed = _save_pictures(self, folder, svg, progress) if pictures else ()
        with open(folder / "failed.tsv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["id", "reason"])
            writer.writerows((f.id, f.reason) for f in (*self.failures, *failed))
        return failed

    def save_html(self, path: str | os.PathLike[str], **options: Any) -> Path:
        """Write the interactive, offline HTML report (:func:`mirnamap.report.save_html`,
        which takes the ``options``: ``threshold``, ``title``, ``verdicts``, ``layout``)."""
        from mirnamap.report import save_html

        return save_html(self, path, **options)


#: The tables :meth:`Explanation.save` writes beside the per-record folders.
_EXPLAIN_TABLES = ("saliency.tsv", "summary.tsv", "failed.tsv", "pictures.tsv")


def _save_pictures(
    result: Explanation, folder: Path, svg: bool, progress: bool | None
) -> tuple[Failure, ...]:
    """Draw every record's pictures into its own folder; failures are returned."""
    import csv

    from tqdm.auto import tqdm

    # A record called "failed.tsv" must not take the place of the table of that name.
    names = unique_names(result.ids, reserved=_EXPLAIN_TABLES)
    failed = []
    for k in tqdm(range(len(result)), desc="pictures", unit="record", disable=progress is False):
        try:
            _record_pictures(result, k, folder / names[k], svg)
        except (ValueError, OSError) as error:
            failed.append(
                Failure(
                    int(result.index[k]), result.ids[k], f"pictures failed: {error}", "pictures"
                )
            )
    with open(folder / "pictures.tsv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "folder"])
        writer.writerows(zip(result.ids, names, strict=True))
    return tuple(failed)


def _record_pictures(result: Explanation, k: int, folder: Path, svg: bool) -> None:
    """The pictures and colour files of record ``k``."""
    import shlex

    from mirnamap.export import forna_colours, varna_arguments
    from mirnamap.plot import (
        plot_backends,
        plot_hairpin,
        plot_sequence_track,
        plot_structure,
        save_figure,
    )

    formats = ("png", "svg") if svg else ("png",)
    aim = {1: "pre-miRNA logit", 0: "negative logit", None: "predicted class logit"}
    aim_label = aim[result.target]
    record_id, sequence, structure = result.ids[k], result.sequences[k], result.structures[k]
    p = float(result.probabilities[k])
    scores = {m: result.projections[m].scores[k] for m in result.methods}
    sd = {m: result.sd_scores[m][k] for m in result.methods} if len(result.members) > 1 else None
    track = plot_sequence_track(
        scores, sequence, structure, record_id=record_id, probability=p, sd=sd
    )
    save_figure(track, folder / "track", formats=formats)
    for m in result.methods:
        label = f"{m} ({aim_label})"
        hairpin = plot_hairpin(
            result.images[k], result.maps[m][k], record_id=record_id, probability=p, method=label
        )
        save_figure(hairpin, folder / f"hairpin_{m}", formats=formats)
        drawing = plot_structure(
            sequence, structure, scores[m], record_id=record_id, probability=p, method=label
        )
        save_figure(drawing, folder / f"structure_{m}", formats=formats)
    if len(result.methods) > 1:
        side_by_side = plot_backends(
            result.images[k],
            {m: result.maps[m][k] for m in result.methods},
            record_id=record_id,
            probability=p,
        )
        save_figure(side_by_side, folder / "backends", formats=formats)
    with open(folder / "colours.txt", "w", encoding="utf-8") as handle:
        for m in result.methods:
            varna = shlex.join(varna_arguments(sequence, structure, scores[m]))
            handle.write(f"# {m}\nVARNA\t{varna}\nforna\t{forna_colours(scores[m])}\n")


def _select(inputs: Inputs, ids: Sequence[str] | None) -> tuple[np.ndarray, list, int]:
    """Positions (into the encoding) of the records to explain, their failures, and N."""
    failures = list(inputs.failures)
    keep = np.arange(len(inputs.images))
    if ids is None:
        return keep, failures, len(inputs.ids)
    if isinstance(ids, str):
        raise TypeError("ids must be a list of record ids, not one string")
    wanted = set(map(str, ids))
    missing = sorted(wanted - set(inputs.ids))
    if missing:
        raise ValueError(f"{inputs.name}: no record(s) {missing}")
    encoded_ids = inputs.encoding.ids if inputs.encoding is not None else ()
    keep = np.array([k for k, i in enumerate(encoded_ids) if i in wanted], dtype=np.int64)
    failures = [f for f in failures if f.id in wanted]
    return keep, failures, sum(i in wanted for i in inputs.ids)


def explain_hairpins(
    source: Source,
    methods: str | Sequence[str] = ("smoothgrad_guided_backprop",),
    model: Ensemble | keras.Model | str | os.PathLike[str] | None = None,
    target: str | int | None = "pre-mirna",
    ids: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    members: Sequence[int | str] | None = None,
    channels: bool = False,
    batch_size: int = 64,
    seed: int = 0,
    workers: int | None = None,
    progress: bool | None = None,
    precision: str = "float32",
    member_samples: str = "each",
    out: str | os.PathLike[str] | None = None,
    pictures: bool = False,
    svg: bool = False,
    chunk_size: int = 1000,
    resume: bool = False,
    executor: Any = None,
    temperature: float | None = None,
    energy_params: str | os.PathLike[str] | None = None,
) -> Explanation | StreamSummary:
    """Fold, draw, predict and explain every record of any input, with several methods.

    Parameters
    ----------
    source : path, Encoding, sequence of str or mapping of str to str
        Anything :func:`read_source` reads that has sequences (not a bare image archive:
        nucleotide scores need the pixel layout).
    methods : str or sequence of str, optional
        Backends of :func:`mirnamap.saliency.list_backends`, or ``"ism"``: in-silico
        mutagenesis with refolding (:func:`mirnamap.mutagenesis.ism`; its options, e.g.
        ``{"ism": {"deletions": True}}``, go in ``params``). Default is
        ``("smoothgrad_guided_backprop",)``.
    model : Ensemble, keras.Model, path or None, optional
        The classifier (never modified): an ensemble, one model, a ``.zip`` ensemble or a
        ``.keras`` file. Default is None: the bundled one. With several members each
        backend's maps are averaged over them, and their spread is kept (``sd_maps``,
        ``sd_scores``).
    target : {"pre-mirna", "negative", "predicted"}, 1, 0 or None, optional
        The class logit explained; "pre-mirna" makes red mean "towards pre-miRNA" for
        every record. Default is "pre-mirna".
    ids : sequence of str, optional
        Explain only these records (every record with one of these ids). Default is None:
        all.
    params : mapping of str to mapping, optional
        Per method, options of its backend, e.g. ``{"smoothgrad": {"n_samples": 10}}``.
        Default is None: every backend at its defaults.
    members : sequence of int or str, optional
        Use only these members of the ensemble. Default is None: all.
    channels : bool, optional
        Also keep the per-channel maps (R, G, B) of the backends that can give them
        (``channel_maps``). Default is False.
    batch_size : int, optional
        Images per saliency pass; never changes the maps. Default is 64.
    seed : int, optional
        Seed of the stochastic backends. Default is 0.
    workers : int, optional
        Folding processes. Default is None: every core.
    progress : bool, optional
        Progress bars. Default is None: on a terminal.
    precision : {"float32", "bfloat16", "float16"}, optional
        Arithmetic of the saliency passes (:func:`mirnamap.saliency.explain`); float32 with
        a warning where the hardware lacks the instructions. The one run is
        ``Explanation.precision``. Default is "float32".
    member_samples : {"each", "split"}, optional
        With several members, for the backends whose map is a mean over samples
        (SmoothGrad, SmoothGrad², SmoothGrad-guided backprop, SHAP): "each" gives every
        member all the samples (the members' spread is kept); "split" deals the samples
        out among the members (:func:`mirnamap.saliency.share_samples`), so the ensemble's
        mean map costs what one member's does, and its spread is NaN. Other backends run
        every member whole either way. Default is "each".
    out : path, optional
        Stream into this folder: ``chunk_size`` records at a time are read, folded,
        drawn, predicted and explained, and their rows appended to what
        :meth:`Explanation.save` writes (``saliency.tsv``, ``summary.tsv``,
        ``failed.tsv``); returns a :class:`~mirnamap.stream.StreamSummary`. Default is
        None: one in-memory :class:`Explanation`.
    pictures, svg : bool, optional
        With ``out``: also draw each record's pictures (and SVGs). Default is False.
    chunk_size, resume, executor, temperature, energy_params
        As in :func:`predict_hairpins`.

    Returns
    -------
    Explanation or StreamSummary

    Raises
    ------
    InputError
        If the source cannot be used, or holds no sequences (a bare image archive).
    ValueError
        For an unknown method, target, id or parameter (named in the message).
    """
    from mirnamap.ensemble import resolve_ensemble
    from mirnamap.precision import effective_precision
    from mirnamap.saliency import get_backend

    precision = effective_precision(precision)  # unknown: ValueError; unsupported: float32
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if not methods:
        raise ValueError("give at least one method")
    for method in methods:
        if method not in SEQUENCE_METHODS:
            get_backend(method)  # an unknown name raises, listing the known ones
    params = {m: dict(p) for m, p in (params or {}).items()}
    stray = sorted(set(params) - set(methods))
    if stray:
        raise ValueError(f"params for method(s) not asked for: {stray}")
    for method, options in params.items():
        if "reduce" in options:  # nucleotide scores need one map per image, not per channel
            raise ValueError(f"{method}: 'reduce' is not an option here (maps are channel sums)")
    if member_samples not in MEMBER_SAMPLES:
        raise ValueError(f"member_samples must be one of {MEMBER_SAMPLES}, got {member_samples!r}")
    target_class = _resolve_target(target)
    streamed = (out, executor, temperature, energy_params)
    if resume or any(x is not None for x in streamed):  # chunked or distributed: see stream
        from mirnamap.stream import run_explain

        return run_explain(
            source, methods, model, ids=ids, members=members, out=out, pictures=pictures,
            svg=svg, chunk_size=chunk_size, resume=resume, executor=executor, workers=workers,
            progress=progress, temperature=temperature, energy_params=energy_params,
            target=target, params=params or None, channels=channels, batch_size=batch_size,
            seed=seed, precision=precision, member_samples=member_samples,
        )  # fmt: skip
    ensemble = resolve_ensemble(model, members)
    inputs = read_source(source, workers=workers)
    if inputs.encoding is None:
        raise InputError(
            f"{inputs.name}: images without sequences and pixel layout (e.g. a DeepMir "
            ".npz); nucleotide maps need the sequences: give the FASTA file, or an archive "
            "written by 'mirnamap encode'"
        )
    keep, failures, n_records = _select(inputs, ids)
    encoding = inputs.encoding
    images, layout = encoding.images[keep], encoding.layout[keep]
    chosen = [int(k) for k in keep]
    record_ids = tuple(encoding.ids[k] for k in chosen)
    sequences = tuple(encoding.sequences[k] for k in chosen)
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    prediction = ensemble.predict(images) if len(images) else None
    probabilities = prediction.probability if prediction else np.zeros(0)
    if target_class is None and len(ensemble) > 1:  # every member explains the ensemble's call
        target_class = (probabilities >= 0.5).astype(np.int64)
    maps, projections, magnitudes, sd_maps, sd_scores, seconds = {}, {}, {}, {}, {}, {}
    channel_maps = {}
    for method in methods:
        start = time.perf_counter()
        if method in SEQUENCE_METHODS:  # explains the sequence: mutates and refolds it
            found = _sequence_method(
                ensemble,
                sequences,
                tuple(encoding.structures[k] for k in chosen),
                layout,
                record_ids,
                target_class,
                dict(batch_size=batch_size, seed=seed, progress=progress, workers=workers)
                | params.get(method, {}),
            )
            maps[method], sd_maps[method], sd_scores[method] = found[:3]
            projections[method], magnitudes[method] = found[3:]
            seconds[method] = time.perf_counter() - start
            continue
        maps[method], sd_maps[method], sd_scores[method], per_channel = _ensemble_maps(
            ensemble,
            images,
            layout,
            lengths,
            record_ids,
            method,
            target_class,
            dict(
                batch_size=batch_size,
                seed=seed,
                progress=progress,
                precision=precision,
                **params.get(method, {}),
            ),
            channels,
            member_samples,
        )
        if per_channel is not None:
            channel_maps[method] = per_channel
        seconds[method] = time.perf_counter() - start
        projections[method] = project(maps[method], layout, lengths, ids=record_ids)
        magnitudes[method] = project(np.abs(maps[method]), layout, lengths, ids=record_ids)
    return Explanation(
        ids=record_ids,
        sequences=sequences,
        structures=tuple(encoding.structures[k] for k in chosen),
        index=encoding.index[keep].astype(np.int64),
        probabilities=probabilities,
        images=images,
        layout=layout,
        methods=methods,
        maps=maps,
        projections=projections,
        magnitudes=magnitudes,
        failures=tuple(failures),
        n_records=n_records,
        target=_resolve_target(target),
        seed=seed,
        params=params,
        members=ensemble.names,
        probability_sd=prediction.sd if prediction else np.zeros(0),
        sd_maps=sd_maps,
        sd_scores=sd_scores,
        seconds=seconds,
        channel_maps=channel_maps,
        precision=precision,
        member_samples=member_samples,
    )


def _ensemble_maps(
    ensemble: Ensemble,
    images: Images,
    layout: Layout,
    lengths: np.ndarray,
    ids: tuple[str, ...],
    method: str,
    target: int | np.ndarray | None,
    options: dict[str, Any],
    channels: bool,
    member_samples: str = "each",
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray | None]:
    """One method's maps averaged over the members, their per-pixel and per-nucleotide
    standard deviations across the members, and (``channels``, for a backend with a
    ``reduce`` option) the mean per-channel maps ``(M, 25, 100, 3)``.

    With ``member_samples="split"`` a sampling backend's samples are dealt out among the
    members (:func:`mirnamap.saliency.share_samples`): the mean is the sample-weighted
    mean of the members' maps, and the spread is NaN (each member's map then holds the
    noise of its few samples, not only the members' disagreement)."""
    from mirnamap.ensemble import spread
    from mirnamap.saliency import explain, get_backend, share_samples
    from mirnamap.saliency._common import reduce_channels

    several = member_samples == "split" and len(ensemble) > 1
    shares = share_samples(method, len(ensemble), options) if several else None
    split = shares is not None
    if not split:  # every member with the options as given
        shares = [(k, options, 1.0 / len(ensemble)) for k in range(len(ensemble))]
    runs = [(ensemble.members[k], own) for k, own, _ in shares]
    per_channel = None
    if channels and "reduce" in inspect.signature(get_backend(method)).parameters:
        per_channel = np.stack(
            [explain(m, images, method, target, reduce=None, **o) for m, o in runs]
        )
        # The same reduction the backend applies by default: the maps are identical.
        per_member = np.stack([reduce_channels(c, "sum") for c in per_channel])
    else:
        per_member = np.stack([explain(m, images, method, target, **o) for m, o in runs])
    if split:
        weights = np.array([w for _, _, w in shares], np.float32)
        mean = np.tensordot(weights, per_member, axes=1).astype(np.float32)
        if per_channel is not None:
            per_channel = np.tensordot(weights, per_channel, axes=1).astype(np.float32)
        unknown = tuple(np.full(n, np.nan, np.float32) for n in lengths)
        return mean, np.full(mean.shape, np.nan, np.float32), unknown, per_channel
    scores = [project(m, layout, lengths, ids=ids).scores for m in per_member]
    by_record = [np.stack([s[k] for s in scores]) for k in range(len(ids))]
    with np.errstate(invalid="ignore"):
        sd_scores = tuple(spread(member_scores) for member_scores in by_record)
    mean = per_member[0] if len(ensemble) == 1 else per_member.mean(axis=0, dtype=np.float32)
    if per_channel is not None:
        per_channel = per_channel[0] if len(ensemble) == 1 else per_channel.mean(axis=0)
    return mean, spread(per_member).astype(np.float32), sd_scores, per_channel


#: Methods that explain the sequence rather than the image (:mod:`mirnamap.mutagenesis`):
#: ``explain_hairpins`` takes them beside the saliency backends.
SEQUENCE_METHODS = ("ism",)


def list_methods() -> list[str]:
    """Every method :func:`explain_hairpins` takes: the saliency backends, then ``ism``."""
    from mirnamap.saliency import list_backends

    return [*list_backends(), *SEQUENCE_METHODS]


def _sequence_method(
    ensemble: Ensemble,
    sequences: tuple[str, ...],
    structures: tuple[str, ...],
    layout: Layout,
    ids: tuple[str, ...],
    target: int | np.ndarray | None,
    options: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], Projection, Projection]:
    """In-silico mutagenesis (:func:`mirnamap.mutagenesis.ism`) as an explanation method.

    The wild types are drawn with the structures explained, so their images are the ones
    the other methods explain. Returns the maps (the nucleotide scores painted onto their
    pixels, :func:`mirnamap.mutagenesis.paint_scores`, so that projecting them gives the
    scores back), the per-pixel and per-nucleotide spread across members, and the
    signed and magnitude projections. These hold the mutagenesis scores of **every**
    nucleotide, those off the canvas (``n_pixels == 0``) too, as refolding gives them an
    effect; background and gap are 0 (mutagenesis puts nothing on empty pixels).
    """
    from mirnamap.mutagenesis import ism, paint_scores

    found = ism(ensemble, sequences, structures=structures, ids=ids, target=target, **options)
    if found.failures:  # cannot happen: the same records were drawn before
        first = found.failures[0]
        raise ValueError(f"record {first.id!r}: ism failed: {first.reason}")
    n_pixels = tuple(
        np.bincount(lay[lay >= 0].astype(np.int64), minlength=len(s)).astype(np.int64)
        for lay, s in zip(layout, sequences, strict=True)
    )

    def as_projection(scores: tuple[np.ndarray, ...]) -> Projection:
        zeros = np.zeros(len(scores))
        total = np.array([np.nansum(s) for s in scores], dtype=np.float64)
        return Projection(scores, n_pixels, None, zeros, zeros.copy(), total)

    magnitudes = tuple(np.abs(s) for s in found.scores)
    return (
        paint_scores(found.scores, layout),
        paint_scores(found.sd, layout),
        found.sd,
        as_projection(found.scores),
        as_projection(magnitudes),
    )


# --------------------------------------------------------------------------- training


class TrainingSet(NamedTuple):
    """Labelled images to train on, a held-out test split where the source has one.

    Attributes
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)``.
    labels : np.ndarray
        ``int8 (N,)``.
    test : tuple of (np.ndarray, np.ndarray) or None
        The published test split's images and labels, held out of ``images``.
    failures : tuple of Failure
        Records left out because they could not be folded or drawn.
    """

    images: Images
    labels: np.ndarray
    test: tuple[Images, np.ndarray] | None
    failures: tuple[Failure, ...]


def _encoded_records(records: Any, workers: int | None, name: str) -> tuple[Inputs, np.ndarray]:
    inputs = inputs_of_folds(
        fold(records.sequences, ids=records.ids, workers=workers), name, "fold"
    )
    return inputs, np.asarray(records.labels)[inputs.index]


def load_training_set(
    *,
    dataset: str | None = None,
    positive: str | os.PathLike[str] | None = None,
    negative: str | os.PathLike[str] | None = None,
    images: str | os.PathLike[str] | None = None,
    workers: int | None = None,
) -> TrainingSet:
    """Labelled training images from one source: a bundled set, two FASTA files or an .npz.

    Parameters
    ----------
    dataset : str, optional
        A bundled set: deepMiRGene ``human`` or ``whole`` (folded and drawn here; the
        published test split is held out) or a DeepMir ``*_train`` image set (its
        ``*_test`` set is the test split).
    positive, negative : path, optional
        FASTA files of pre-miRNAs and of negatives (folded and drawn here).
    images : path, optional
        A labelled image ``.npz`` (``images``, ``labels``).
    workers : int, optional
        Folding processes. Default is None: every core.

    Returns
    -------
    TrainingSet

    Raises
    ------
    InputError
        If no source or more than one is given, or the source cannot be read.
    """
    from mirnamap import datasets

    given = [s for s in (dataset, positive, images) if s is not None]
    if len(given) != 1 or (positive is None) != (negative is None):
        raise InputError(
            "give one source: --positive and --negative FASTA, --images NPZ or --dataset NAME"
        )
    try:
        if dataset in datasets.DEEPMIRGENE_SETS:
            records = datasets.load_deepmirgene(dataset)  # type: ignore[arg-type]
            inputs, labels = _encoded_records(records, workers, dataset)
            is_test = np.array([records.splits[i] == "test" for i in inputs.index], dtype=bool)
            test = None
            if is_test.any() and not is_test.all():
                test = (inputs.images[is_test], labels[is_test])
            keep = ~is_test if test is not None else np.ones(len(labels), dtype=bool)
            return TrainingSet(inputs.images[keep], labels[keep], test, inputs.failures)
        if dataset is not None or images is not None:
            image_set = datasets.load_deepmir(str(dataset if dataset is not None else images))
            test = None
            if dataset is not None and dataset.endswith("_train"):
                held_out = datasets.load_deepmir(dataset.replace("_train", "_test"))
                test = (held_out.images, held_out.labels)
            return TrainingSet(image_set.images, image_set.labels, test, ())  # type: ignore[arg-type]
        records = datasets.load_labelled_fasta(positive, negative)  # type: ignore[arg-type]
        inputs, labels = _encoded_records(records, workers, f"{positive} + {negative}")
        return TrainingSet(inputs.images, labels, None, inputs.failures)
    except (OSError, ValueError) as error:
        raise InputError(str(error)) from None


def training_outputs(
    path: str | os.PathLike[str],
    metrics_path: str | os.PathLike[str] | None = None,
    curve_path: str | os.PathLike[str] | None = None,
) -> tuple[Path, Path, Path]:
    """The files :meth:`TrainedClassifier.save` writes: the model, the metrics JSON
    (default ``NAME.metrics.json``) and the learning-curve PNG (default
    ``NAME.learning_curve.png``), beside the model unless given.

    >>> [p.name for p in training_outputs("out/m.keras")]
    ['m.keras', 'm.metrics.json', 'm.learning_curve.png']
    """
    path = Path(path)
    stem = path.with_suffix("")
    return (
        path,
        Path(metrics_path or f"{stem}.metrics.json"),
        Path(curve_path or f"{stem}.learning_curve.png"),
    )


class TrainedClassifier(NamedTuple):
    """A model trained by :func:`train_classifier`, with what a report needs.

    Attributes
    ----------
    model : keras.Model
        The trained classifier (best validation weights where early stopping ran).
    history : dict of str to list of float
        Per-epoch losses and metrics.
    metrics : dict of str to dict
        :func:`mirnamap.evaluate.metrics` on the ``"validation"`` share and, where the
        set has one, on the ``"test"`` split.
    n_train, n_validation : int
        Images trained on and validated on.
    seed : int
        The seed of the split, the weights and the dropout.
    skipped : tuple of Failure
        Records of the training set left out (not folded or not drawn).
    gini : dict or None
        With the Gini bottleneck (``train(gini=...)``): ``lam``, ``layer``, and the
        trained layer's per-unit ``gini_index`` and ``mass_90`` (inputs carrying 90 % of
        |w|, :func:`mirnamap.train.mass_count`). Default is None: trained without it.
    """

    model: keras.Model
    history: dict[str, list[float]]
    metrics: dict[str, dict[str, Any]]
    n_train: int
    n_validation: int
    seed: int
    skipped: tuple[Failure, ...]
    gini: dict[str, Any] | None = None

    def save(
        self,
        path: str | os.PathLike[str],
        metrics_path: str | os.PathLike[str] | None = None,
        curve_path: str | os.PathLike[str] | None = None,
    ) -> tuple[Path, Path, Path]:
        """Write the model, a metrics JSON and a learning-curve PNG (what ``mirnamap
        train`` writes); the JSON and PNG default to ``NAME.metrics.json`` and
        ``NAME.learning_curve.png`` beside the model. Returns the three paths."""
        import json

        from mirnamap.evaluate import save_learning_curve
        from mirnamap.model import save_model
        from mirnamap.train import device_name

        path, metrics_path, curve_path = training_outputs(path, metrics_path, curve_path)
        for target in (path, metrics_path, curve_path):
            check_output_file(target)
        save_model(self.model, path)
        report = {
            "model": str(path),
            "device": device_name(),
            "seed": self.seed,
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "n_skipped": len(self.skipped),
            "skipped": [{"id": f.id, "reason": f.reason} for f in self.skipped],
            "epochs_run": len(self.history["loss"]),
            "metrics": self.metrics,
            "gini": self.gini,
            "history": self.history,
        }
        metrics_path.parent.mkdir(parents=True, exist_ok=True)
        metrics_path.write_text(json.dumps(report, indent=2))
        save_learning_curve(self.history, curve_path, title=path.name)
        return path, metrics_path, curve_path


def train_classifier(
    data: TrainingSet,
    *,
    validation_fraction: float = 0.1,
    seed: int = 0,
    **options: Any,
) -> TrainedClassifier:
    """Train the DeepMir CNN on a :class:`TrainingSet`, validated on a stratified share.

    Parameters
    ----------
    data : TrainingSet
        From :func:`load_training_set`; both classes must be present.
    validation_fraction : float, optional
        Share of each class held out for validation (:func:`mirnamap.train.stratified_split`)
        and early stopping. Default is 0.1.
    seed : int, optional
        Seed of the split, the weights and the dropout. Default is 0.
    **options
        Passed to :func:`mirnamap.train.train` (``epochs``, ``batch_size``,
        ``learning_rate``, ``class_weight``, ``early_stopping``, ``reduce_lr``,
        ``verbose``, ``gini``, ``gini_layer``).

    Returns
    -------
    TrainedClassifier
    """
    from mirnamap.evaluate import metrics
    from mirnamap.model import predict_proba
    from mirnamap.train import gini_index, mass_count, stratified_split, train

    images, labels = data.images, data.labels
    if len(set(np.asarray(labels).tolist())) < 2:
        raise ValueError("training needs both classes (pre-miRNA and negative)")
    is_val = stratified_split(labels, validation_fraction, seed)
    validation = (images[is_val], labels[is_val])
    result = train(images[~is_val], labels[~is_val], validation=validation, seed=seed, **options)
    scores = {"validation": metrics(validation[1], predict_proba(result.model, validation[0]))}
    if data.test is not None:
        scores["test"] = metrics(data.test[1], predict_proba(result.model, data.test[0]))
    n_val = int(is_val.sum())
    gini = None
    if options.get("gini") is not None:
        layer = options.get("gini_layer", "logits")
        kernel = result.model.get_layer(layer).get_weights()[0]
        gini = {
            "lam": float(options["gini"]),
            "layer": layer,
            "gini_index": gini_index(kernel).tolist(),
            "mass_90": mass_count(kernel, 0.9).tolist(),
        }
    return TrainedClassifier(
        result.model,
        result.history,
        scores,
        len(labels) - n_val,
        n_val,
        seed,
        data.failures,
        gini,
    )


class MotifResult(NamedTuple):
    """Seqlets and motifs of one method's nucleotide maps (:func:`motifs_of`).

    Attributes
    ----------
    method : str
        The backend whose maps were searched.
    seqlets : mirnamap.motifs.Seqlets
        Every seqlet, and per explained hairpin its threshold or why it was skipped.
    motifs : mirnamap.motifs.Motifs
        The motifs, by support, and each seqlet's motif.
    failures : tuple of Failure
        The records of the explanation that have no map at all.
    """

    method: str
    seqlets: Any
    motifs: Any
    failures: tuple[Failure, ...] = ()

    def seqlet_frame(self) -> pd.DataFrame:
        """One row per seqlet: method, id, hairpin, position (1-based start), start, end,
        sequence, sign, score, region, threshold, motif ("" for none)."""
        frame = self.seqlets.to_frame(self.motifs.assignment)
        frame.insert(2, "position", frame["start"] + 1)
        frame.insert(0, "method", self.method)
        return frame

    def hairpins_frame(self) -> pd.DataFrame:
        """One row per input record: searched, skipped (with the reason) or failed before
        it had a map (with the stage's reason)."""
        import pandas as pd

        frame = self.seqlets.hairpins_frame()
        failed = pd.DataFrame(
            {
                "id": [f.id for f in self.failures],
                "n_seqlets": 0,
                "threshold": np.nan,
                "status": "failed",
                "reason": [f"{f.stage}: {f.reason}" for f in self.failures],
            }
        )
        return pd.concat([frame, failed], ignore_index=True) if len(failed) else frame

    def save(self, folder: str | os.PathLike[str], *, logos: bool = True) -> list[Path]:
        """Write ``seqlets.tsv``, ``motifs.tsv``, ``hairpins.tsv`` and, with ``logos``, one
        ``logos/<motif>.png`` per motif (an earlier run's ``logos/motif_*.png`` are removed
        first); returns the files written."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, frame in (
            ("seqlets.tsv", self.seqlet_frame()),
            ("motifs.tsv", self.motifs.to_frame().assign(method=self.method)),
            ("hairpins.tsv", self.hairpins_frame()),
        ):
            frame.to_csv(folder / name, sep="\t", index=False, float_format="%.6g")
            written.append(folder / name)
        for stale in (folder / "logos").glob("motif_*.png"):  # of an earlier run
            stale.unlink()
        if logos and len(self.motifs):
            from mirnamap.plot import save_motif_logos

            written += save_motif_logos(self.motifs.motifs, folder / "logos")
        return written


def motifs_of(
    explanation: Explanation,
    method: str,
    *,
    seqlet_options: Mapping[str, Any] | None = None,
    motif_options: Mapping[str, Any] | None = None,
) -> MotifResult:
    """Seqlets and motifs of one method's nucleotide maps across the explained hairpins.

    Parameters
    ----------
    explanation : Explanation
        From :func:`explain_hairpins`.
    method : str
        One of ``explanation.methods``.
    seqlet_options : mapping, optional
        Options of :func:`mirnamap.motifs.call_seqlets` (width, alpha, n_null, sign,
        max_per_hairpin; ``seed`` defaults to the explanation's seed).
    motif_options : mapping, optional
        Options of :func:`mirnamap.motifs.find_motifs` (k, flank, min_support, ...).

    Returns
    -------
    MotifResult
    """
    from mirnamap.motifs import call_seqlets, find_motifs

    options = {"seed": explanation.seed, **(seqlet_options or {})}
    found = call_seqlets(
        explanation.scores(method),
        explanation.sequences,
        explanation.structures,
        ids=explanation.ids,
        **options,
    )
    return MotifResult(
        method, found, find_motifs(found, **(motif_options or {})), explanation.failures
    )
