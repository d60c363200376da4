"""Train an ensemble on a user's own data: K members, a calibration share, a card.

:func:`train_ensemble` turns labelled images into the artifact the bundled ensemble is
(``mirnamap/assets/deepmir_ensemble.zip``), which ``predict --model`` and
``explain --model`` read (:func:`mirnamap.ensemble.resolve_ensemble`):

1. **Splits**, seeded and stratified: a calibration share no member trains or stops on,
   and the rest dealt into ``folds`` folds. Member ``k`` trains (seed ``seed + k``) on
   every fold but fold ``k mod folds``, on which it stops early.
2. **Fine-tuning** (``init``): member ``k`` starts from member ``k mod n`` of a model or
   ensemble of ``n`` (member k from member k where the counts match), optionally with the
   convolutions frozen (``freeze="conv"``).
3. **Calibration**: a temperature and a bias of the averaged logit margin
   (:func:`mirnamap.ensemble.fit_calibration`), and the decision threshold (a
   probability, or ``"specificity:0.95"``: chosen on the calibration share's negatives),
   all fitted on the calibration share and stored in the file.
4. **Resumable**: with ``checkpoint_dir``, every member writes its whole state after every
   epoch (:func:`mirnamap.train.train`) and is kept once trained; ``resume=True``
   continues an interrupted run from the last completed epoch of the unfinished member.
   On the CPU the members come out bit for bit as in an uninterrupted run.
5. **No leakage**: given the test set, training refuses records found in it
   (:func:`mirnamap.overlap.overlap`, by sequence and by image), or with
   ``allow_overlap=True`` warns and goes on.

The file holds a card (data sources and counts, options, per-member and ensemble figures,
versions; :meth:`TrainedEnsemble.card_markdown` writes it as text) and the manifest of
the training records (``manifest.tsv``: :func:`load_manifest`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from mirnamap.cards import (
    CALIBRATION,
    MANIFEST,
    build_card,
    card_markdown,
    card_scores,
    score_test_set,
)
from mirnamap.errors import Failure, InputError, InputWarning, failures_frame
from mirnamap.files import atomic_write, check_output_file
from mirnamap.overlap import Hairpins, Overlap, as_hairpins, overlap

if TYPE_CHECKING:
    import keras
    import pandas as pd

    from mirnamap._typing import Images, Labels
    from mirnamap.ensemble import Ensemble

__all__ = [
    "CALIBRATION",
    "MANIFEST",
    "MemberRecord",
    "TrainedEnsemble",
    "ensemble_splits",
    "load_manifest",
    "resolve_init",
    "train_ensemble",
]

_RUN_FORMAT = "mirnamap-ensemble-run"


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
    """What :func:`train_ensemble` returns.

    Attributes
    ----------
    ensemble : Ensemble
        The K members, with the fitted temperature, bias and threshold, and the card.
    members : tuple of MemberRecord
        How each member was trained.
    split : np.ndarray
        ``int8 (N,)``: each training record's fold, or :data:`CALIBRATION`.
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


def ensemble_splits(
    labels: Labels, *, folds: int = 5, calibration_fraction: float = 0.1, seed: int = 0
) -> np.ndarray:
    """The seeded, stratified splits of :func:`train_ensemble`.

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
        ``int8 (N,)``: the fold 0..folds-1 of each record, or :data:`CALIBRATION`.

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


# ------------------------------------------------------------------- the starting point


def resolve_init(
    init: str | os.PathLike[str] | Ensemble | keras.Model | Sequence[keras.Model],
) -> tuple[list[keras.Model], list[str], str]:
    """The networks fine-tuning starts from: their list, their names and a description.

    Parameters
    ----------
    init : "bundled", path, Ensemble, keras.Model or sequence of keras.Model
        ``"bundled"``: the bundled ensemble's members; a path: a ``.zip`` ensemble or a
        ``.keras`` model; or models in memory.

    Raises
    ------
    ValueError
        If the file is missing or not a model (the path is named).
    """
    from mirnamap.ensemble import DEFAULT_ENSEMBLE, load_default_ensemble, resolve_ensemble

    if isinstance(init, str) and init == "bundled":
        ensemble, source = load_default_ensemble(), f"bundled ({DEFAULT_ENSEMBLE.name})"
    else:
        if isinstance(init, (str, os.PathLike)):
            source = str(init)
            if not Path(init).is_file():
                raise ValueError(f"init {init}: no such model or ensemble file "
                                 "(give 'bundled', a .keras model or a .zip ensemble)")  # fmt: skip
        else:
            source = type(init).__name__
        try:
            ensemble = resolve_ensemble(init)
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"init: {error}") from None
        if isinstance(init, (str, os.PathLike)) and Path(init).suffix != ".zip":
            return list(ensemble.members), [Path(init).stem], source  # one .keras network
    return list(ensemble.members), list(ensemble.names), source


# ---------------------------------------------------------------------- checkpoints


def _digest(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            digest.update(f"{part.dtype.str}{part.shape}".encode())
            digest.update(memoryview(part).cast("B"))
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _model_digest(models: Sequence[keras.Model]) -> str:
    return _digest(*[w for m in models for w in m.get_weights()])


def _prepare_checkpoints(folder: Path | None, fingerprint: str, resume: bool) -> None:
    """Start the run's folder, or check that it holds this very run."""
    if folder is None:
        if resume:
            raise ValueError("resume needs a checkpoint folder (checkpoint_dir)")
        return
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint_dir {folder}: is a file, not a folder")
    run = folder / "run.json"
    if run.is_file():
        try:
            saved = json.loads(run.read_text(encoding="utf-8"))
        except ValueError:
            saved = {}
        if not resume:
            raise ValueError(
                f"checkpoint_dir {folder}: holds a run already; pass resume=True (--resume) "
                "to continue it, or choose an empty folder"
            )
        if saved.get("format") != _RUN_FORMAT or saved.get("fingerprint") != fingerprint:
            raise ValueError(
                f"checkpoint_dir {folder}: holds another run (other data, starting models or "
                "options); resume with the arguments of that run, or choose an empty folder"
            )
        return
    with atomic_write(run) as handle:
        handle.write(json.dumps({"format": _RUN_FORMAT, "fingerprint": fingerprint}) + "\n")


def _member_files(folder: Path, k: int) -> tuple[Path, Path, Path]:
    return (
        folder / f"member_{k}.keras",
        folder / f"member_{k}.json",
        folder / f"member_{k}.checkpoint.npz",
    )


def _save_member(folder: Path, k: int, model: keras.Model, record: dict[str, Any]) -> None:
    """Keep a trained member (the model, then its record: a record means it is done)."""
    from mirnamap.model import save_model

    model_path, record_path, checkpoint = _member_files(folder, k)
    # Keras needs the name to end in .keras: a hidden temporary name beside the file.
    temporary = folder / f".member_{k}.{os.getpid()}.tmp.keras"
    try:
        save_model(model, temporary)
        os.replace(temporary, model_path)
    finally:
        temporary.unlink(missing_ok=True)
    with atomic_write(record_path) as handle:
        handle.write(json.dumps(record) + "\n")
    checkpoint.unlink(missing_ok=True)


def _load_member(folder: Path, k: int, fingerprint: str) -> tuple[keras.Model, dict] | None:
    from mirnamap.model import load_model

    model_path, record_path, _ = _member_files(folder, k)
    if not (model_path.is_file() and record_path.is_file()):
        return None
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("fingerprint") != fingerprint:
        raise ValueError(f"{record_path}: a member of another run; choose an empty folder")
    return load_model(model_path), record


# ------------------------------------------------------------------------ progress


def _member_bar(enabled: bool, total: int, initial: int):
    """One tqdm bar over every member's epochs (member, loss, validation loss, time left)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="epoch", desc="ensemble", disable=not enabled)


def _bar_callback(bar, label: str):
    import keras

    class MemberBar(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            shown = {"member": label, "epoch": epoch + 1}
            shown.update({k: f"{logs[k]:.4f}" for k in ("loss", "val_loss") if k in logs})
            bar.set_postfix(shown, refresh=False)
            bar.update(1)

    return MemberBar()


# --------------------------------------------------------------------------- checks


def _per_record(values: Any, n: int, what: str, default: str) -> tuple[str, ...]:
    if values is None:
        return tuple(default.format(k) for k in range(n))
    if isinstance(values, str):
        return (values,) * n
    values = tuple("" if v is None else str(v) for v in values)
    if len(values) != n:
        raise ValueError(f"{n} images but {len(values)} {what}")
    return values


def _check_split(split: Any, n: int, folds: int) -> np.ndarray:
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


# ----------------------------------------------------------------------------- main


def train_ensemble(
    images: Images,
    labels: Labels,
    *,
    members: int = 5,
    seed: int = 0,
    folds: int = 5,
    calibration_fraction: float = 0.1,
    split: np.ndarray | None = None,
    epochs: int = 12,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | Literal["balanced"] | None = "balanced",
    early_stopping: int | None = 3,
    reduce_lr: int | None = 2,
    init: str | os.PathLike[str] | Ensemble | keras.Model | Sequence[keras.Model] | None = None,
    freeze: str | None = None,
    architecture: Mapping[str, Any] | None = None,
    threshold: float | str = 0.5,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    test: Any = None,
    test_labels: Labels | None = None,
    allow_overlap: bool = False,
    record_ids: Sequence[str] | None = None,
    sequences: Sequence[str | None] | None = None,
    sources: Sequence[str] | str | None = None,
    failures: Sequence[Failure] = (),
    verbose: bool | None = None,
) -> TrainedEnsemble:
    """Train, calibrate and describe an ensemble of K DeepMir networks.

    Parameters
    ----------
    images : np.ndarray
        ``uint8 (N, 25, 100, 3)`` training images.
    labels : np.ndarray
        ``int (N,)``: 1 = pre-miRNA, 0 = negative; both classes needed.
    members : int, optional
        K. Default is 5.
    seed : int, optional
        Seed of the splits; member k trains with seed ``seed + k``. Default is 0.
    folds : int, optional
        Validation folds; member k stops early on fold ``k mod folds`` and trains on the
        others. Default is 5. The folds do not depend on ``members``, so a run of one
        member resumed with three gives the members a run of three would.
    calibration_fraction : float, optional
        Share of each class held out of every member, for the temperature, bias and
        threshold. Default is 0.1; 0 keeps none (T = 1, b = 0, and only a probability
        threshold).
    split : np.ndarray, optional
        ``int (N,)``: the fold of each record, or :data:`CALIBRATION` (-1), instead of
        :func:`ensemble_splits`. Default is None: drawn with ``seed``.
    epochs, batch_size, learning_rate, class_weight, early_stopping, reduce_lr : optional
        Of each member, as :func:`mirnamap.train.train`. Defaults are 12, 128, 1e-3,
        "balanced", 3 and 2 (the bundled ensemble's recipe).
    init : "bundled", path, Ensemble or keras.Model, optional
        Fine-tune: member k starts from member ``k mod n`` of these ``n`` networks
        (:func:`resolve_init`), copied, never changed. Default is None: from scratch.
    freeze : {"conv"}, optional
        With ``init``: keep the convolutions fixed (bit for bit); only the dense layers
        learn. Default is None.
    architecture : mapping, optional
        From scratch: options of :func:`mirnamap.model.build_model` (``filters``,
        ``dense_units``, dropout rates). Default is None: the published network.
    threshold : float or str, optional
        The decision threshold stored with the ensemble: a probability, or
        ``"specificity:S"``: the lowest threshold at which the ensemble keeps specificity
        S on the calibration share's negatives (:func:`mirnamap.evaluate.
        threshold_for_specificity`). It applies to the ensemble's ``probability``.
        Default is 0.5.
    checkpoint_dir : path, optional
        Folder of the run's checkpoints: ``run.json`` (the run's fingerprint),
        ``member_k.checkpoint.npz`` (the unfinished member's state after every epoch)
        and ``member_k.keras`` / ``member_k.json`` (each member once trained). Default
        is None: nothing is kept.
    resume : bool, optional
        Continue the run in ``checkpoint_dir``: trained members are read back, the
        unfinished one goes on from its last completed epoch. The data and options must
        be the run's (``members`` and ``threshold`` may differ). Default is False (a
        folder that holds a run is then refused).
    test : sequences, images or records, optional
        The test set, checked against the training records by sequence and by image
        (:func:`mirnamap.overlap.overlap`). Default is None: not checked.
    test_labels : np.ndarray, optional
        ``int (T,)`` labels of ``test``'s images: the card then gains the members' and the
        ensemble's figures on it. Default is None.
    allow_overlap : bool, optional
        Train even when training records are in ``test``, with an
        :class:`~mirnamap.errors.InputWarning`. Default is False: refuse.
    record_ids, sequences, sources : sequence of str, optional
        Per training record: its id, its sequence ("" where unknown; compared with the
        test set, and in the manifest) and the data set it came from (or one name for
        all). Default is None: ``record_k``, unknown, ``"images"``.
    failures : sequence of Failure, optional
        Records of the input left out before training (counted in the card). Default is
        none.
    verbose : bool, optional
        Show a progress bar over every member's epochs (member, epoch, loss, validation
        loss, time left). Default is None: on a terminal.

    Returns
    -------
    TrainedEnsemble

    Raises
    ------
    ValueError
        For bad options or data (named), a folder holding another run, a fold or the
        calibration share without both classes.
    InputError
        If training records are in ``test`` and ``allow_overlap`` is False.
    """
    from mirnamap.ensemble import Ensemble, fit_calibration
    from mirnamap.evaluate import parse_threshold, threshold_for_specificity
    from mirnamap.model import build_model, check_images, import_tensorflow, predict_proba
    from mirnamap.train import FREEZE, train

    import_tensorflow()
    images = check_images(images, "training images")
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be integers of shape ({images.shape[0]},), got {labels.dtype} "
            f"{labels.shape}"
        )
    if not np.isin(labels, (0, 1)).all() or np.unique(labels).size < 2:
        raise ValueError("labels must be 0 (negative) or 1 (pre-miRNA), with both present")
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or members < 1:
        raise ValueError(f"members must be an integer >= 1, got {members!r}")
    if freeze is not None and freeze not in FREEZE:
        raise ValueError(f"freeze must be one of {', '.join(FREEZE)} or None, got {freeze!r}")
    if freeze is not None and init is None:
        raise ValueError("freeze needs init: fixed convolutions are those of a trained model")
    if init is not None and architecture is not None:
        raise ValueError("give init or architecture, not both: init fixes the architecture")
    rule, value = parse_threshold(threshold)
    n = images.shape[0]
    ids = _per_record(record_ids, n, "record ids", "record_{}")
    known = _per_record(sequences, n, "sequences", "")
    origin = _per_record(sources if sources is not None else "images", n, "sources", "")

    if split is None:
        split = ensemble_splits(
            labels, folds=folds, calibration_fraction=calibration_fraction, seed=seed
        )
    else:
        split = _check_split(split, n, folds)
    calibration = split == CALIBRATION
    if rule == "specificity" and not (labels[calibration] == 0).any():
        raise ValueError("a 'specificity:S' threshold needs a calibration share with negatives")
    if calibration.any() and np.unique(labels[calibration]).size < 2:
        raise ValueError("the calibration share must hold both classes (more records needed)")
    for f in range(min(members, folds)):
        for name, mask in (("training", (split >= 0) & (split != f)), ("validation", split == f)):
            if np.unique(labels[mask]).size < 2:
                raise ValueError(f"fold {f}: the {name} records lack a class (more needed)")

    # Leakage before any training.
    found = None
    if test is not None:
        test_set = as_hairpins(test, "test")
        train_set = Hairpins([s or None for s in known] if sequences is not None else None, images)
        found = overlap(train_set, test_set)
        if len(found):
            shown = ", ".join(ids[i] for i in found.train_records[:5])
            message = f"{found.summary()}; e.g. {shown}"
            if not allow_overlap:
                raise InputError(
                    f"{message}. Remove them from the training data, or allow it "
                    "(allow_overlap=True, --allow-overlap)"
                )
            warnings.warn(f"training on test records: {message}", InputWarning, stacklevel=2)
        if test_labels is not None and test_set.images is None:
            raise ValueError("test_labels need test images to score")
    elif test_labels is not None:
        raise ValueError("test_labels need a test set (test=images)")

    starts, start_names, init_source = ([], [], None)
    if init is not None:
        starts, start_names, init_source = resolve_init(init)
    options = {
        "seed": seed, "folds": folds, "calibration_fraction": calibration_fraction,
        "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "class_weight": class_weight, "early_stopping": early_stopping,
        "reduce_lr": reduce_lr, "freeze": freeze,
        "architecture": dict(architecture) if architecture is not None else None,
    }  # fmt: skip
    fingerprint = _digest(images, labels.astype(np.int8), split, options,
                          _model_digest(starts) if starts else None)  # fmt: skip
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    _prepare_checkpoints(folder, fingerprint, resume)

    show = sys.stderr.isatty() if verbose is None else bool(verbose)
    done: dict[int, tuple[keras.Model, dict]] = {}
    if folder is not None and resume:
        for k in range(members):
            loaded = _load_member(folder, k, fingerprint)
            if loaded is not None:
                done[k] = loaded
    already = sum(len(r["history"]["loss"]) for _, r in done.values())
    total = members * epochs - sum(epochs - len(r["history"]["loss"]) for _, r in done.values())
    if folder is not None and resume:
        from mirnamap.train import read_checkpoint_state

        for k in set(range(members)) - set(done):
            if _member_files(folder, k)[2].is_file():
                already += int(read_checkpoint_state(_member_files(folder, k)[2])["epochs_done"])
    bar = _member_bar(show, total=total, initial=already)
    if show:
        from mirnamap.train import device_name

        print(
            f"training {members} member{'s' * (members != 1)} on {device_name()}: "
            f"{int((split >= 0).sum())} images "
            f"in {folds} folds, {int(calibration.sum())} for calibration",
            file=sys.stderr,
        )

    models: list[keras.Model] = []
    records: list[MemberRecord] = []
    try:
        for k in range(members):
            fold = k % folds
            fit, val = (split >= 0) & (split != fold), split == fold
            if k in done:
                model, saved = done[k]
                history, resumed = saved["history"], len(saved["history"]["loss"])
            else:
                start = None
                if starts:
                    start = starts[k % len(starts)]
                elif architecture is not None:
                    start = build_model(seed=seed + k, **dict(architecture))
                checkpoint = _member_files(folder, k)[2] if folder is not None else None
                result = train(
                    images[fit], labels[fit], validation=(images[val], labels[val]),
                    epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                    class_weight=class_weight, early_stopping=early_stopping,
                    reduce_lr=reduce_lr, seed=seed + k, model=start, verbose=False,
                    freeze=freeze, checkpoint=checkpoint, resume=resume,
                    callbacks=[_bar_callback(bar, f"{k + 1}/{members}")],
                )  # fmt: skip
                model, history, resumed = result.model, result.history, result.resumed_epochs
                if early_stopping is not None and len(history["loss"]) < epochs:
                    bar.total -= epochs - len(history["loss"])
                    bar.refresh()
                if folder is not None:
                    _save_member(folder, k, model, {"fingerprint": fingerprint, "history": history})
            models.append(model)
            records.append(
                MemberRecord(
                    name=f"member_{k}",
                    seed=seed + k,
                    fold=fold,
                    n_train=int(fit.sum()),
                    n_validation=int(val.sum()),
                    epochs_run=len(history["loss"]),
                    seconds=float(sum(history.get("seconds", []))),
                    init=f"{init_source}:{start_names[k % len(starts)]}" if starts else None,
                    validation=card_scores(labels[val], predict_proba(model, images[val])),
                    calibration=(
                        card_scores(labels[calibration], predict_proba(model, images[calibration]))
                        if calibration.any()
                        else {"n": 0}
                    ),
                    history=history,
                    resumed_epochs=resumed,
                )
            )
    finally:
        bar.close()

    names = [r.name for r in records]
    ensemble = Ensemble(models, names=names)
    temperature, bias, chosen = 1.0, 0.0, value
    calibration_scores: dict[str, Any] = {"n": 0}
    if calibration.any():
        prediction = ensemble.predict(images[calibration], batch_size=256)
        temperature, bias = fit_calibration(prediction.logits, labels[calibration])
        if rule == "specificity":
            chosen = threshold_for_specificity(labels[calibration], prediction.probability, value)
            negatives = int((labels[calibration] == 0).sum())
            if negatives < 1 / (1 - value):
                warnings.warn(
                    f"the calibration share has {negatives} negatives: too few to resolve a "
                    f"specificity of {value} (the threshold is above every negative)",
                    InputWarning,
                    stacklevel=2,
                )
            if chosen > 1.0:
                warnings.warn(
                    f"no threshold <= 1 keeps specificity {value} on the calibration share; "
                    "1.0 is stored",
                    InputWarning,
                    stacklevel=2,
                )
                chosen = 1.0
        from mirnamap.ensemble import calibrate

        calibration_scores = card_scores(
            labels[calibration],
            prediction.probability,
            calibrate(prediction.logits, temperature, bias),
            threshold=chosen,
        )
    test_scores = None
    if test_labels is not None:
        test_scores = score_test_set(
            models, names, test_set.images, np.asarray(test_labels), temperature, bias, chosen
        )

    card = build_card(
        records=records, labels=labels, split=split, origin=origin, options=options,
        members=members, init_source=init_source, starts=start_names, freeze=freeze,
        rule=rule, value=value, chosen=chosen, temperature=temperature, bias=bias,
        calibration_scores=calibration_scores, test_scores=test_scores, found=found,
        allow_overlap=allow_overlap, failures=failures, sequences_known=sequences is not None,
    )  # fmt: skip
    ensemble = Ensemble(
        models, temperature=temperature, bias=bias, names=names, card=card, threshold=chosen
    )
    return TrainedEnsemble(
        ensemble=ensemble,
        members=tuple(records),
        split=split,
        labels=labels.astype(np.int8),
        ids=ids,
        sequences=known,
        sources=origin,
        overlap=found,
        failures=tuple(failures),
    )
